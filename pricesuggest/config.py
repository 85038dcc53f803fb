"""Layered, typed configuration.

Layers, later wins:
  1. conf/base/*.yaml        committed defaults (the embedded local setup)
  2. conf/local/*.yaml       git-ignored overrides of one machine or deployment
  3. PRICESUGGEST__a__b=...  environment variables (value parsed as YAML)

Each YAML file holds one or more top-level sections (`spark`, `storage`, `generator`, ...).
The merged tree is converted into the dataclasses below; unknown or mistyped keys are an
error that names the key, so a typo in a deployment's override fails at start-up rather than
being silently ignored.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ConfigDict, TypeAdapter, ValidationError

from model.config import BaselineConfig, PretrainConfig, PriceModelConfig, TrainConfig
from pricesuggest.photo import PhotoLimits

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "PRICESUGGEST__"


class ConfigError(ValueError):
    """A configuration file, override or value is invalid."""


# --------------------------------------------------------------------------- sections


@dataclass(frozen=True)
class SparkConf:
    master: str = "local[*,4]"
    driver_memory: str = "6g"
    shuffle_partitions: int = 8
    pyspark_python: str = "auto"
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TableConf:
    path: str
    key: list[str] = field(default_factory=list)
    partition_by: list[str] = field(default_factory=list)
    write_mode: Literal["merge", "overwrite", "append"] = "merge"
    # The contract Delta enforces on every write (a violating write fails and commits nothing):
    # columns that are never null, and named CHECK constraints (SQL over one row).
    not_null: list[str] = field(default_factory=list)
    checks: dict[str, str] = field(default_factory=dict)
    change_data_feed: bool = False  # delta.enableChangeDataFeed: consumers read what changed per version

    def constraints(self) -> dict[str, str]:
        """Every Delta CHECK constraint of the table, by name (NOT NULL as `<column>_not_null`)."""
        return {**{f"{c}_not_null": f"{c} IS NOT NULL" for c in self.not_null}, **self.checks}

    def __post_init__(self) -> None:
        if self.write_mode == "merge" and not self.key:
            raise ConfigError(f"table at {self.path!r}: write_mode merge needs a key")


@dataclass(frozen=True)
class CatalogConf:
    """Where the tables are addressable by name (`<database>.<table>`)."""
    database: str
    # "" : each session's own in-memory catalog (the project registers every table in it);
    # thrift://host:9083 : a shared Hive metastore for a cluster, where registrations persist.
    # Never Spark's embedded Derby metastore: it admits one JVM at a time, and runs overlap.
    metastore_uri: str = ""


@dataclass(frozen=True)
class StorageConf:
    warehouse_root: str
    model_store: str
    reports_dir: str
    tables: dict[str, TableConf]
    catalog: CatalogConf
    # the service's comps index: Parquet snapshots of the window's sold listings and their
    # embeddings, <this>/<model version>/as_of=<day>/, under warehouse_root (scoring/comps.py)
    comps_index: str = "serving/comps_index"

    def comps_index_path(self, model_version: str) -> str:
        return join_uri(resolve_root(self.warehouse_root), self.comps_index).rstrip("/") + "/" + model_version

    def table_path(self, name: str) -> str:
        """Absolute location (local path or URI) of a table named in conf."""
        return join_uri(resolve_root(self.warehouse_root), self.table(name).path)

    def table(self, name: str) -> TableConf:
        if name not in self.tables:
            raise ConfigError(f"no table {name!r} in storage.tables (have: {sorted(self.tables)})")
        return self.tables[name]


@dataclass(frozen=True)
class ConditionConf:
    name: str
    depreciation: float  # multiplier on the as-new fair price
    wear: float  # 0..1, how much wear the photo shows
    weight: float  # share of listings


@dataclass(frozen=True)
class SpecConf:
    name: str  # e.g. storage, tier, size: shown only in the text
    values: dict[str, float]  # value -> log-price effect


@dataclass(frozen=True)
class CategoryConf:
    name: str
    median_price: float  # CNY, as-new, unbranded baseline
    spread: float  # scales attribute effects: the category's log-price spread
    item_types: dict[str, float]  # photo shape -> log-price effect (only visible in the photo)
    brands: dict[str, float]  # brand -> log-price premium
    spec: SpecConf
    materials: dict[str, float] = field(default_factory=dict)  # material -> log effect (text)
    weight: float = 1.0  # share of listings (relative)


@dataclass(frozen=True)
class SellerConf:
    bias_sd: float
    overpricer_share: float
    overpricer_log: float
    underpricer_share: float
    underpricer_log: float
    zipf_exponent: float
    zipf_offset: float


@dataclass(frozen=True)
class GeneratorConf:
    seed: int
    start: str  # ISO date, first day of the world's history (UTC)
    days: int
    listings: int
    sellers: int
    partitions: int
    image_size: int
    expiry_days: int
    mean_days_to_sell: float
    base_sell_probability: float
    price_elasticity: float
    list_markup: float
    list_noise_sd: float
    sold_passthrough: float
    market_noise_sd: float
    item_noise_sd: float
    unbranded_share: float
    degraded_photo_share: float
    useless_text_share: float
    irrational_price_share: float
    brand_missing_share: float
    brand_wrong_share: float
    condition_missing_share: float
    condition_wrong_share: float
    broken_row_share: float
    home_category_share: float
    seller: SellerConf
    colours: dict[str, list[int]]
    conditions: list[ConditionConf]
    categories: list[CategoryConf]

    def fingerprint(self) -> str:
        """sha256 of the effective generator configuration (canonical JSON).

        Recorded with every table the generator writes, so a report can say which world
        its numbers come from even when conf/local or env overrides changed it.
        """
        blob = json.dumps(dataclasses.asdict(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()


@dataclass(frozen=True)
class CleaningConf:
    min_price: float
    log_price_iqr_multiplier: float
    min_rows_per_category: int
    max_text_chars: int
    max_garbled_share: float
    photo: PhotoLimits


@dataclass(frozen=True)
class StatsConf:
    window_days: int
    percentile_accuracy: int
    seller_min_count: int
    seller_partitions: int


@dataclass(frozen=True)
class PipelineConf:
    as_of: str  # ISO date or "auto"
    clock_property: str = "generator.now"  # the `listings` property where ingestion declares its clock


@dataclass(frozen=True)
class OnlineStoreConf:
    type: Literal["sqlite", "redis"]
    path: str = ""  # sqlite file
    connection_string: str = ""  # redis "host:port[,ssl=true,password=...]"


@dataclass(frozen=True)
class FeastConf:
    project: str
    repo_dir: str
    registry: str
    online_store: OnlineStoreConf
    ttl_hours: int
    owner: str
    feature_service_version: int

    @property
    def feature_service(self) -> str:
        return f"price_model_v{self.feature_service_version}"


@dataclass(frozen=True)
class TrainingSetConf:
    split_seed: int
    validation_share: float
    test_share: float
    files_per_split: int

    def __post_init__(self) -> None:
        if not (0 <= self.validation_share and 0 <= self.test_share and self.validation_share + self.test_share < 1):
            raise ConfigError("validation_share + test_share must be in [0, 1)")


@dataclass(frozen=True)
class TrainingConf:
    num_proc: int
    reader_workers: int
    vocab_size: int
    vocab_min_count: int
    promotion_metric: str
    promotion_tolerance: float
    # the model side's settings (model/config.py); the model's fitted fields (vocabulary size,
    # statistics, form-field sizes, price offset, threshold) are filled in by training
    model: PriceModelConfig
    train: TrainConfig
    pretrain: PretrainConfig
    # a brand/category/condition value needs this many train rows for an id of its own (else: missing)
    field_min_count: int = 5
    pretrained_visual: str | None = None  # local file of pre-trained single-task CNNs (no download)
    # promotion gate: the validation item loss must rise at least this much (relative) when photos
    # are shuffled within category (model.diagnostics); 0 turns the gate off
    min_photo_importance: float = 0.05
    diagnostics_rows: int = 20_000  # validation rows read for the threshold, references and diagnostics
    # a process keeps its shard's decoded rows after the first pass, up to this many MiB (0: decode every pass)
    decoded_cache_mb: float = 2048


@dataclass(frozen=True)
class ScoringConf:
    model_version: str  # "latest" or a registered version
    flag_only_reasons: list[str]  # cleaning reasons that only flag a scored listing; all others reject it
    max_feature_age_days: int  # refuse (unless --allow-stale) when the newest statistics are older
    batch_size: int  # listings per forward pass
    arrow_batch_rows: int  # listings per Arrow batch handed to a Python worker
    commit_retries: int  # re-runs of a MERGE that lost a race with a concurrent writer
    max_male_increase: float  # realised sold MALE above validation MALE * (1 + this) warns (ACCURACY_DRIFT)
    min_sold_outcomes: int  # ...judged only with at least this many sold listings closed in the run
    reason_margin: float
    dark_luminance: float
    blur_sharpness: float
    comps_k: int = 5  # comparable sold listings per scored listing (price_comps); 0: none

    def __post_init__(self) -> None:
        if self.comps_k < 0:
            raise ConfigError("scoring.comps_k must be >= 0")
        if self.batch_size <= 0 or self.arrow_batch_rows <= 0 or self.max_feature_age_days < 0:
            raise ConfigError("batch_size and arrow_batch_rows must be > 0, max_feature_age_days >= 0")
        if self.max_male_increase <= -1 or self.min_sold_outcomes < 1:
            raise ConfigError("scoring.max_male_increase must be > -1 and scoring.min_sold_outcomes >= 1")


@dataclass(frozen=True)
class ServingConf:
    host: str
    port: int
    token_env: str  # environment variable holding the API's bearer token
    max_request_bytes: int  # a larger request is refused (413) before it is read
    log_path: str  # JSON lines of served suggestions (relative paths resolve against the project root)
    workers: int  # worker processes behind the port (serving/worker.py), one per core
    clock_path: str  # where jobs/serve.py publishes the data clock to its workers
    refresh_seconds: float  # how often `latest` and the data clock are re-read
    max_batch: int  # concurrent requests priced in one forward pass, at most (serving/batching.py)
    max_batch_wait_ms: float  # how long a batch waits for other requests in flight, at most
    torch_threads: int  # torch's intra-op threads in the service process
    currency: str  # ISO 4217 code the seller's page shows prices in (display only)

    def __post_init__(self) -> None:
        if self.max_request_bytes <= 0 or self.refresh_seconds <= 0 or self.max_batch < 1 or self.torch_threads < 1 \
                or self.workers < 1:
            raise ConfigError("serving.max_request_bytes, serving.refresh_seconds, serving.max_batch, "
                              "serving.torch_threads and serving.workers must be > 0")
        if self.max_batch_wait_ms < 0:
            raise ConfigError("serving.max_batch_wait_ms must be >= 0")


@dataclass(frozen=True)
class MaintenanceConf:
    tables: list[str]  # tables OPTIMIZEd and VACUUMed by jobs/maintain_tables.py
    retention_hours: float  # VACUUM keeps files a version younger than this still needs...
    pinned_margin_hours: float  # ...and always those of versions a registered model pins (+ margin)


@dataclass(frozen=True)
class EvaluationGrid:
    seeds: list[int]
    deltas: list[float]  # percentile constraint grid
    epsilons: list[float]  # threshold constraint grid
    ablations: bool  # the ablations at ablation_delta (and at ablation_eps when the ε study runs)
    out_of_time_variants: list[str]  # variants also trained on the out-of-time split
    train: dict[str, Any] = field(default_factory=dict)  # overrides of training.train for this grid's models

    def __post_init__(self) -> None:
        if not self.seeds:
            raise ConfigError("an evaluation grid needs at least one seed")
        unknown = sorted(set(self.train) - {f.name for f in dataclasses.fields(TrainConfig)})
        if unknown:
            raise ConfigError(f"train: unknown key(s) {unknown} (TrainConfig's fields, model/config.py)")


@dataclass(frozen=True)
class EvaluationConf:
    grid: str  # the grid `jobs/evaluate.py` runs unless --grid says otherwise
    grids: dict[str, EvaluationGrid]
    ablation_delta: float
    ablation_eps: float
    out_of_time_days: int  # the out-of-time test split: outcomes known in the last N days
    baselines: BaselineConfig
    report_path: str  # relative paths resolve against the project root
    plots_dir: str

    def __post_init__(self) -> None:
        if self.grid not in self.grids:
            raise ConfigError(f"evaluation.grid {self.grid!r} is not in evaluation.grids ({sorted(self.grids)})")


@dataclass(frozen=True)
class AppConfig:
    spark: SparkConf
    storage: StorageConf
    generator: GeneratorConf
    cleaning: CleaningConf
    stats: StatsConf
    pipeline: PipelineConf
    feast: FeastConf
    training_set: TrainingSetConf
    training: TrainingConf
    scoring: ScoringConf
    serving: ServingConf
    maintenance: MaintenanceConf
    evaluation: EvaluationConf
    conf_dirs: tuple[str, ...] = ()


# --------------------------------------------------------------------------- paths


def resolve_root(location: str) -> str:
    """Relative local paths resolve against the project root; URIs and absolute paths pass."""
    if "://" in location or os.path.isabs(location):
        return location
    return str(PROJECT_ROOT / location)


def join_uri(root: str, relative: str) -> str:
    if "://" in relative or os.path.isabs(relative):
        return relative
    return root.rstrip("/") + "/" + relative.lstrip("/")


# --------------------------------------------------------------------------- loading


class _TextDates(yaml.SafeLoader):
    """YAML that reads 2026-06-01 as text: no setting is a date object (as_of, start are ISO strings)."""


_TextDates.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def parse_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_TextDates)  # noqa: S506 (a SafeLoader)


def default_conf_dirs() -> list[Path]:
    base = Path(os.environ.get("PRICESUGGEST_CONF_DIR", PROJECT_ROOT / "conf"))
    return [base / "base", base / "local"]


def load_config(
    conf_dirs: list[Path] | None = None,
    env: dict[str, str] | None = None,
    overrides: dict[str, Any] | None = None,
) -> AppConfig:
    """Merge base -> local -> environment -> explicit overrides, then type-check."""
    dirs = conf_dirs if conf_dirs is not None else default_conf_dirs()
    tree: dict[str, Any] = {}
    for directory in dirs:
        for path in sorted(Path(directory).glob("*.yaml")):
            try:
                loaded = parse_yaml(path.read_text()) or {}
            except yaml.YAMLError as exc:
                raise ConfigError(f"{path}: invalid YAML: {exc}") from exc
            if not isinstance(loaded, dict):
                raise ConfigError(f"{path}: top level must be a mapping of sections")
            tree = deep_merge(tree, loaded)
    tree = deep_merge(tree, env_overrides(os.environ if env is None else env))
    if overrides:
        tree = deep_merge(tree, overrides)
    tree["conf_dirs"] = tuple(str(d) for d in dirs)
    return validate(tree)


def env_overrides(env: typing.Mapping[str, str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX):
            continue
        keys = [k for k in name[len(ENV_PREFIX):].split("__") if k]
        if not keys:
            raise ConfigError(f"environment override {name!r} names no key")
        node = tree
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = parse_yaml(raw)
    return tree


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


# pydantic validates the tree into the stdlib dataclasses above and in model/config.py (coercing
# YAML's numbers and dates where a str is wanted, lists into tuples). Every section forbids keys it
# does not have, so a deployment's typo fails at start-up; the sections' own __post_init__ checks
# (ConfigError, or a model-side ValueError) become validation errors at the key they belong to.
SECTION_CONFIG = ConfigDict(extra="forbid", coerce_numbers_to_str=True)


def _sections(cls: Any, seen: set[type]) -> set[type]:
    """Every dataclass reachable from `cls`'s annotations (the config tree's sections)."""
    for arg in typing.get_args(cls):
        _sections(arg, seen)
    if dataclasses.is_dataclass(cls) and cls not in seen:
        seen.add(cls)
        for hint in typing.get_type_hints(cls).values():
            _sections(hint, seen)
    return seen


def _adapter() -> TypeAdapter:
    for section in _sections(AppConfig, set()):
        section.__pydantic_config__ = SECTION_CONFIG
    return TypeAdapter(AppConfig)


APP_CONFIG = _adapter()


def validate(tree: dict[str, Any]) -> AppConfig:
    """The merged tree as an AppConfig; a ConfigError names every offending key."""
    try:
        return APP_CONFIG.validate_python(tree)
    except ValidationError as exc:
        raise ConfigError("; ".join(_describe(error) for error in exc.errors())) from None


def _describe(error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "config"
    if error["type"] == "unexpected_keyword_argument":
        return f"{where}: unknown key"
    if error["type"] == "missing":
        return f"{where}: missing required key"
    if error["type"] == "value_error":  # a section's own check: its message names the value
        return f"{where}: {error['msg'].removeprefix('Value error, ')}"
    return f"{where}: {error['msg']}, got {error['input']!r}"


def main(argv: list[str] | None = None) -> int:
    """`python -m pricesuggest.config spark.master`: one merged value, for the Makefile and shells."""
    import argparse

    parser = argparse.ArgumentParser(description="Print one configuration value (base -> local -> environment).")
    parser.add_argument("key", help="dotted path, e.g. spark.master")
    args = parser.parse_args(argv)
    value: Any = load_config()
    for part in args.key.split("."):
        try:
            value = value[part] if isinstance(value, dict) else getattr(value, part)
        except (KeyError, AttributeError):
            parser.error(f"no configuration value {args.key!r}")
    print(value)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
