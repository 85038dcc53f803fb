"""Shared fixtures: one local Spark session for the whole run, tiny worlds, temp warehouses."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from pricesuggest.config import load_config

TINY_WORLD = {"listings": 300, "days": 40, "sellers": 40, "partitions": 2}  # > expiry_days: some expire unsold


def overrides_for(warehouse: Path) -> dict:
    return {
        # one JVM serves the whole run (about 270 tests, dozens of warehouses and their Delta logs):
        # with 2g its heap peaked full late in the run, in the scoring module's concurrent runs
        "spark": {"master": "local[2,4]", "shuffle_partitions": 2, "driver_memory": "4g"},
        "storage": {"warehouse_root": str(warehouse / "warehouse"), "model_store": str(warehouse / "models"),
                    "reports_dir": str(warehouse / "reports")},
        "generator": TINY_WORLD,
        "feast": {"repo_dir": str(warehouse / "feast"), "registry": str(warehouse / "feast" / "registry.db"),
                  "online_store": {"type": "sqlite", "path": str(warehouse / "feast" / "online.db")}},
    }


def env_for(overrides: dict, prefix: str = "PRICESUGGEST_") -> dict[str, str]:
    """The same overrides as PRICESUGGEST__a__b env variables (for jobs run as processes)."""
    env = {}

    def walk(node, keys):
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value, keys + [key])
            else:
                env[prefix + "_" + "__".join(keys + [key])] = str(value)

    walk(overrides, [])
    return env


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    from pricesuggest.spark import build_session

    conf = load_config(overrides=overrides_for(tmp_path_factory.mktemp("session")))
    session = build_session(conf, "pricesuggest-tests")
    yield session
    session.stop()


@pytest.fixture()
def job_env(tmp_path, monkeypatch):
    """Point jobs run in-process at a fresh warehouse under tmp_path, with a tiny world."""
    overrides = overrides_for(tmp_path)
    for key, value in env_for(overrides).items():
        monkeypatch.setenv(key, value)
    return load_config(overrides=overrides)


@pytest.fixture(scope="module")
def module_job_env(tmp_path_factory):
    """job_env shared by a module's read-only tests (built once, e.g. a whole pipeline run)."""
    overrides = overrides_for(tmp_path_factory.mktemp("module"))
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env_for(overrides).items():
            patch.setenv(key, value)
        yield load_config(overrides=overrides)


@pytest.fixture(scope="session")
def tiny_conf(tmp_path_factory):
    return load_config(env={}, overrides=overrides_for(tmp_path_factory.mktemp("conf")))


def pytest_configure(config):
    os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "1")
