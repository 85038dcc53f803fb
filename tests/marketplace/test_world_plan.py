"""The generator run's plan, from the existing tables' properties (no Spark)."""
from datetime import date, datetime

import pytest

from marketplace.world_plan import WorldPlanError, world_plan, world_properties


def properties_after(plan, gen) -> dict[str, str]:
    """What Delta hands back: every property as a string."""
    return {k: str(v) for k, v in world_properties(gen, plan).items()}


def test_a_new_world_spans_the_configured_history(tiny_conf):
    gen = tiny_conf.generator
    plan = world_plan(gen, None)
    assert not plan.extends and plan.adds
    assert plan.clock.start == datetime.fromisoformat(gen.start)
    assert (plan.clock.now - plan.clock.start).days == gen.days
    assert plan.listings == gen.listings
    assert plan.sellers == gen.sellers


def test_an_existing_world_is_extended_from_its_own_clock(tiny_conf):
    gen = tiny_conf.generator
    existing = properties_after(world_plan(gen, None), gen)
    week = world_plan(gen, existing, append_days=7)
    assert week.extends and week.adds and not week.config_changed
    assert (week.clock.now - world_plan(gen, None).clock.now).days == 7
    assert week.listings > gen.listings
    until = world_plan(gen, existing, until=week.clock.now.date())
    assert until.clock == week.clock  # the same day, asked two ways


def test_rerunning_without_an_extension_adds_nothing(tiny_conf):
    gen = tiny_conf.generator
    plan = world_plan(gen, properties_after(world_plan(gen, None), gen))
    assert plan.extends and not plan.adds
    assert plan.listings == gen.listings


@pytest.mark.parametrize("existing, kwargs, message", [
    (None, {"append_days": 3}, "extend an existing world"),
    ("foreign", {}, "not written by this generator"),
    ("other config", {}, "another generator configuration"),
    ("same", {"until": date(2000, 1, 1)}, "before the world's clock"),
])
def test_runs_the_tables_do_not_allow_are_refused(tiny_conf, existing, kwargs, message):
    gen = tiny_conf.generator
    made = properties_after(world_plan(gen, None), gen)
    existing = {"same": made, "other config": {**made, "generator.config_sha256": "0" * 64},
                "foreign": {"delta.appendOnly": "false"}, None: None}[existing]
    with pytest.raises(WorldPlanError, match=message):
        world_plan(gen, existing, **kwargs)


def test_another_configuration_may_extend_the_world_and_is_flagged(tiny_conf):
    gen = tiny_conf.generator
    made = {**properties_after(world_plan(gen, None), gen), "generator.config_sha256": "0" * 64}
    assert world_plan(gen, made, append_days=1).config_changed
