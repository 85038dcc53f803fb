from pathlib import Path

import pytest

from pricesuggest.config import PROJECT_ROOT, ConfigError, env_overrides, load_config

BASE = PROJECT_ROOT / "conf" / "base"


def test_base_config_loads_with_documented_defaults():
    conf = load_config([BASE], env={})
    assert conf.spark.master == "local[*,4]"
    assert len(conf.generator.categories) == 13
    assert conf.generator.listings == 20000
    assert conf.storage.table("listings").key == ["listing_id"]


def test_local_layer_overrides_base_and_env_overrides_both(tmp_path: Path):
    local = tmp_path / "local"
    local.mkdir()
    (local / "spark.yaml").write_text("spark:\n  shuffle_partitions: 64\n  master: 'local[1]'\n")
    conf = load_config([BASE, local], env={"PRICESUGGEST__spark__master": "spark://head:7077"})
    assert conf.spark.shuffle_partitions == 64  # from local
    assert conf.spark.master == "spark://head:7077"  # env beats local
    assert conf.spark.driver_memory == "6g"  # untouched base value


def test_env_values_are_parsed_as_yaml():
    tree = env_overrides({"PRICESUGGEST__generator__listings": "500", "PRICESUGGEST__storage__tables__x": "{path: a}",
                          "UNRELATED": "1"})
    assert tree == {"generator": {"listings": 500}, "storage": {"tables": {"x": {"path": "a"}}}}


def test_unknown_key_is_an_error_naming_it(tmp_path: Path):
    (tmp_path / "typo.yaml").write_text("spark:\n  shuffle_partitons: 4\n")
    with pytest.raises(ConfigError, match=r"spark.shuffle_partitons: unknown key"):
        load_config([BASE, tmp_path], env={})


def test_model_side_sections_are_typed_at_load_time():
    conf = load_config([BASE], env={"PRICESUGGEST__training__model__conv_channels": "[4, 8]"})
    assert conf.training.model.conv_channels == (4, 8) and conf.training.train.delta == 0.6
    with pytest.raises(ConfigError, match=r"training.model.conv_chanels: unknown key"):
        load_config([BASE], env={"PRICESUGGEST__training__model__conv_chanels": "[4]"})
    with pytest.raises(ConfigError, match="training.train: objective must be mse|seller_gain"):
        load_config([BASE], env={"PRICESUGGEST__training__train__objective": "mae"})
    with pytest.raises(ConfigError, match=r"evaluation.baselines.svm_cc: unknown key"):
        load_config([BASE], env={"PRICESUGGEST__evaluation__baselines__svm_cc": "[1.0]"})
    with pytest.raises(ConfigError, match=r"evaluation.grids.quick: train: unknown key\(s\) \['lrr'\]"):
        load_config([BASE], env={"PRICESUGGEST__evaluation__grids__quick__train": "{lrr: 0.1}"})


def test_wrong_type_is_an_error_naming_the_key():
    with pytest.raises(ConfigError, match="generator.listings: Input should be a valid integer.*got .many."):
        load_config([BASE], env={"PRICESUGGEST__generator__listings": "many"})


def test_missing_key_and_every_bad_key_are_named_together():
    with pytest.raises(ConfigError, match=r"storage.tables.listings.write_mode: Input should be 'merge', 'overwrite' "
                                          r"or 'append', got 'upsert'; storage.tables.extra.path: missing required key"):
        load_config([BASE], env={"PRICESUGGEST__storage__tables__listings__write_mode": "upsert",
                                 "PRICESUGGEST__storage__tables__extra": "{key: [a]}"})


def test_yaml_dates_and_numbers_stay_text_where_the_setting_is_text():
    conf = load_config([BASE], env={"PRICESUGGEST__pipeline__as_of": "2026-08-01",
                                    "PRICESUGGEST__storage__catalog__database": "2026"})
    assert conf.pipeline.as_of == "2026-08-01" and conf.storage.catalog.database == "2026"


def test_relative_paths_resolve_to_project_root_and_uris_pass_through():
    conf = load_config([BASE], env={})
    assert conf.storage.table_path("listings") == str(PROJECT_ROOT / "data/warehouse/marketplace/listings")
    remote = load_config([BASE], env={"PRICESUGGEST__storage__warehouse_root": "s3a://bucket/ps"})
    assert remote.storage.table_path("listings") == "s3a://bucket/ps/marketplace/listings"
    with pytest.raises(ConfigError, match="no table 'nope'"):
        conf.storage.table_path("nope")


def test_generator_fingerprint_tracks_effective_config():
    a = load_config([BASE], env={}).generator.fingerprint()
    assert a == load_config([BASE], env={}).generator.fingerprint()
    b = load_config([BASE], env={"PRICESUGGEST__generator__seed": "1"}).generator.fingerprint()
    assert a != b and len(a) == 64


def test_the_config_cli_prints_one_merged_value(capsys):
    from pricesuggest.config import main  # what the Makefile's spark-submit reads its master from

    assert main(["spark.master"]) == 0
    assert capsys.readouterr().out.strip() == load_config().spark.master
    with pytest.raises(SystemExit):
        main(["spark.no_such_setting"])
