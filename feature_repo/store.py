"""feature_store.yaml from conf, and a FeatureStore bound to it.

The repo's objects are `definitions.definitions(...)` built from conf (`repo_objects`): the jobs
apply them through the Python API, and `price_stats_repo.py` holds them at module level for the
`feast` CLI. `feature_store.yaml` is rendered into `feast.repo_dir` (the committed
`feature_repo/` by default, so `feast -c feature_repo ...` works as Feast users expect).
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import yaml
from feast import FeatureStore
from feast.errors import FeastObjectNotFoundException, ProjectNotFoundException
from pyspark.sql import DataFrame, SparkSession

from feature_repo.definitions import definitions
from pricesuggest.config import AppConfig, resolve_root
from pricesuggest.spark import session_settings


class MissingFeatureService(RuntimeError):
    """A read found no registered feature service: the repo was never applied here."""


def feature_store_yaml(conf: AppConfig) -> dict:
    online = conf.feast.online_store
    if online.type == "sqlite":
        online_store = {"type": "sqlite", "path": resolve_root(online.path)}
    else:
        online_store = {"type": "redis", "connection_string": online.connection_string}
    return {
        "project": conf.feast.project,
        "provider": "local",
        "registry": {"registry_type": "file", "path": resolve_root(conf.feast.registry)},
        # The Spark offline store reuses the job's active SparkSession; a `feast` CLI process has
        # none, and starts one with these settings: the jobs' own (Delta, UTC, master, conf extras).
        "offline_store": {"type": "spark", "spark_conf": session_settings(conf, submitted=False)},
        "online_store": online_store,
        "entity_key_serialization_version": 2,
    }


def write_repo(conf: AppConfig) -> Path:
    """Render `<feast.repo_dir>/feature_store.yaml` (the `feast` CLI reads it from there, or from
    `feast -f <file>` with `-c feature_repo` when repo_dir is elsewhere)."""
    repo = Path(resolve_root(conf.feast.repo_dir))
    repo.mkdir(parents=True, exist_ok=True)
    for path in (conf.feast.registry, conf.feast.online_store.path):
        if path:
            Path(resolve_root(path)).parent.mkdir(parents=True, exist_ok=True)
    (repo / "feature_store.yaml").write_text(
        "# Generated from conf/ by feature_repo/store.py: edit conf, not this file.\n"
        + yaml.safe_dump(feature_store_yaml(conf), sort_keys=False))
    return repo


def open_store(conf: AppConfig) -> FeatureStore:
    return FeatureStore(repo_path=str(write_repo(conf)))


def repo_objects(conf: AppConfig) -> list:
    return definitions(conf.storage.table_path("price_stats"), timedelta(hours=conf.feast.ttl_hours),
                       conf.feast.owner, conf.feast.feature_service_version)


def apply_repo(store: FeatureStore, conf: AppConfig) -> int:
    """`feast apply`, the way the CLI runs it (`apply_total_with_repo_instance`): the registry
    gets the repo's objects (and loses objects the repo no longer has) and, with the SQLite
    online store, the infrastructure it deployed, so `feast -c feature_repo plan` afterwards has
    nothing to change. Returns the number of objects applied."""
    from feast import Entity, FeatureService, FeatureView, Project
    from feast.repo_contents import RepoContents
    from feast.repo_operations import apply_total_with_repo_instance

    objects = repo_objects(conf)
    views = [o for o in objects if isinstance(o, FeatureView)]
    repo = RepoContents(projects=[Project(name=conf.feast.project)], data_sources=[v.batch_source for v in views],
                        feature_views=views, on_demand_feature_views=[], stream_feature_views=[],
                        entities=[o for o in objects if isinstance(o, Entity)],
                        feature_services=[o for o in objects if isinstance(o, FeatureService)], permissions=[])
    # the job's session serves the sources; validating them would only re-read price_stats
    apply_total_with_repo_instance(store, conf.feast.project, store.registry, repo, skip_source_validation=True)
    return len(objects)


REGEX_COLUMN_NAMES = "spark.sql.parser.quotedRegexColumnNames"


@contextmanager
def feast_on(spark: SparkSession) -> Iterator[None]:
    """Run Feast calls on the job's session, then undo the setting Feast leaves behind.

    Feast's Spark offline store sets `quotedRegexColumnNames=true` on the active session,
    which turns every backticked column name into a regex: Delta's MERGE (and its data
    skipping) then fails with INVALID_USAGE_OF_STAR_OR_REGEX. DataFrames Feast returns are
    analysed when created, so restoring the setting afterwards is safe.
    """
    before = spark.conf.get(REGEX_COLUMN_NAMES, "false")
    try:
        yield
    finally:
        spark.conf.set(REGEX_COLUMN_NAMES, before)


def historical_features(spark: SparkSession, conf: AppConfig, entities: DataFrame) -> tuple[DataFrame, list[str]]:
    """The FeatureService's statistics for each entity row at its event_timestamp (point in time,
    Spark offline store), and their column names (`<view>__<feature>`).

    Reads the registry only: `jobs/materialize_features.py` writes it (apply), and runs before
    every reader in the pipeline's step list (pricesuggest/pipeline.py).
    """
    store = open_store(conf)
    with feast_on(spark):
        try:
            service = store.get_feature_service(conf.feast.feature_service)
        except (FeastObjectNotFoundException, ProjectNotFoundException) as exc:
            raise MissingFeatureService(
                f"the Feast registry ({conf.feast.registry}) has no feature service {conf.feast.feature_service!r} "
                "in this project: run jobs/materialize_features.py first (it applies the repo)") from exc
        features = store.get_historical_features(entity_df=entities, features=service,
                                                 full_feature_names=True).to_spark_df()
    return features, [f"{p.name}__{f.name}" for p in service.feature_view_projections for f in p.features]
