"""Where an evaluation run's results go: metric rows MERGEd into `evaluation_runs`, trained models
registered in the model store as `eval-...` versions (never promoted), and what a resumed run
finds already done. The evaluation plan (evaluation/harness.py) calls it through its Sink protocol.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pandas as pd
from pyspark.sql import functions as F

from evaluation import harness as ev
from model.payload import model_from_payload, model_payload
from model.price_net import PriceSuggester
from pricesuggest.delta_io import read_table, table_exists, write_table
from registry.store import ModelStore

EVAL_JOB = "evaluate"  # the job's name: the prefix of its run ids, and its commits' `job`


def model_version(eval_run_id: str, unit: ev.Unit, variant: str | None = None) -> str:
    """The model store version of `variant` (default: the unit's own) trained in the unit's scheme and seed."""
    name = re.sub(r"[^A-Za-z0-9.]+", "-", (variant or unit.name).replace("=", ""))
    return f"eval-{eval_run_id.removeprefix(EVAL_JOB + '-')}-{unit.scheme}-{name}-s{unit.seed}"


def row_versions(eval_run_id: str, unit: ev.Unit, rows: list[dict]) -> list[str]:
    """`evaluation_runs.model_version` of each row: the model it scores.

    A comparison's rows score models earlier units registered; a baseline unit's rows and the
    CNN-feature baseline in a model's unit get the unit's version suffixed ":name".
    """
    version = model_version(eval_run_id, unit)
    if isinstance(unit.variant, ev.Comparison):
        return [model_version(eval_run_id, unit, r["variant"]) for r in rows]
    return [version if r["variant"] == unit.name else f"{version}:{r['variant']}" for r in rows]


class DeltaSink:
    """Finished units: metric rows MERGEd into `evaluation_runs`, trained models registered (never promoted)."""

    def __init__(self, spark, conf, eval_run_id: str, context: dict, splits: dict[str, ev.SplitData]):
        self.spark, self.conf, self.eval_run_id, self.context, self.splits = spark, conf, eval_run_id, context, splits
        self.path = conf.storage.table_path("evaluation_runs")
        self.store = ModelStore(conf.storage.model_store)
        self.finished: set[str] = set()
        if table_exists(spark, self.path):
            self.finished = {r["unit"] for r in read_table(spark, self.path)
                             .where(F.col("eval_run_id") == eval_run_id).select("unit").distinct().collect()}

    @staticmethod
    def key(unit: ev.Unit) -> str:
        return f"{unit.scheme}/{unit.seed}/{unit.name}"

    def done(self, unit: ev.Unit) -> bool:
        return self.key(unit) in self.finished

    def restore(self, unit: ev.Unit) -> PriceSuggester | None:
        version = model_version(self.eval_run_id, unit)
        if version not in self.store.versions():
            return None
        return model_from_payload(self.store.load(version))

    def record(self, unit: ev.Unit, rows: list[dict], model: PriceSuggester | None, notes: dict) -> None:
        version = model_version(self.eval_run_id, unit)
        if model is not None:  # registered like a trained model, but never promoted
            metadata = {"model_version": version, "purpose": "evaluation", "eval_run_id": self.eval_run_id,
                        "git_commit": self.context["git_commit"], "training_table": self.context["data"],
                        "split_scheme": unit.scheme, "seed": unit.seed, "variant": unit.name, **notes}
            payload = model_payload(model, notes["train_config"], self.splits[unit.scheme].inputs,
                                    {**self.context["data"], "split_scheme": unit.scheme}, version,
                                    self.context["git_commit"])
            self.store.register(version, payload, metadata)
        frame = pd.DataFrame(rows).assign(
            eval_run_id=self.eval_run_id, unit=self.key(unit),
            model_version=row_versions(self.eval_run_id, unit, rows),
            training_set_version=self.context["data"]["version"],
            generator_config_sha256=self.context["generator_config_sha256"],
            git_commit=self.context["git_commit"], evaluated_at=datetime.now(timezone.utc).replace(tzinfo=None))
        frame["evaluated_at"] = frame["evaluated_at"].astype("datetime64[us]")  # Spark rejects ns timestamps
        write_table(self.spark, self.spark.createDataFrame(frame), self.path, self.conf.storage.table("evaluation_runs"),
                    {"run_id": self.eval_run_id, "job": EVAL_JOB, "git_commit": self.context["git_commit"]})
        self.finished.add(self.key(unit))
