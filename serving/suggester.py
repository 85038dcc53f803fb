"""A suggestion for one uploaded listing, with the batch job's own functions.

What the seller uploaded is checked by cleaning's `content_problem` (the photo decoder and the
text limits every job applies), its statistics come from Feast's online store under the names
the offline store gives them, and the model call is `scoring.inference.score_frame`, the
function batch scoring runs in its executors: the same encoding, forward pass, threshold and
reasons. The model is the registry's `latest`, swapped in place when `latest` moves
(`ModelSlot`): a request holds the model it started with, so in-flight requests finish on it.
Comparable sold listings come from the batch job's comps index of the same model
(serving/comps_index.py), searched with the embedding of the same forward pass.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from feature_repo.definitions import PLATFORM_ID, view_name
from ingest.cleaning import ContentLimits, content_problem
from model.qualification import ReasonChecks
from pricesuggest.config import AppConfig, resolve_root
from scoring.inference import LoadedModel, cached_model, score_frame
from scoring.transforms import CATEGORY_KNOWN
from serving.comps_index import Comp, CompsIndex, newest_snapshot

log = logging.getLogger("pricesuggest.serving")
SERVICE_LISTING_ID = 0  # a listing that is not in `listings` yet has no id


@dataclass(frozen=True)
class UploadedListing:
    photo: bytes
    title: str
    description: str
    category: str
    seller_id: int
    brand: str | None = None
    condition: str | None = None

    @classmethod
    def from_listing(cls, row) -> UploadedListing:
        """A stored `listings` row as its seller's form would send it, photo bytes and text exactly
        as stored (what the parity checks and the benchmarks upload)."""
        return cls(bytes(row["image"]), row["title"], row["description"] or "", row["category"], int(row["seller_id"]),
                   row["brand"], row["condition"])  # bytes(): Spark hands binary columns over as bytearray

    def form_fields(self) -> dict[str, str]:
        """The form's text fields as a client posts them (no brand or condition: empty, which the
        API reads as missing); the photo goes as the file part `photo`."""
        return {"title": self.title, "description": self.description, "category": self.category,
                "seller_id": str(self.seller_id), "brand": self.brand or "", "condition": self.condition or ""}


class RejectedListing(ValueError):
    """What the seller sent cannot be priced; `reason` is one of cleaning's REJECT_REASONS or
    `unknown_category`, `detail` says what to fix."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


def listing_problem(listing: UploadedListing, limits: ContentLimits, categories: list[str]) -> tuple[str, str] | None:
    """The first problem with an upload, as cleaning names it (None: it can be priced)."""
    if not listing.category or not listing.category.strip():
        return "missing_category", "category is empty"
    if listing.category not in categories:
        return "unknown_category", f"{listing.category!r} is not one of the platform's categories"
    reason, detail = content_problem(listing.photo, listing.title, listing.description, limits)
    return (reason, detail) if reason else None


class ModelSlot:
    """The model `latest` points at, replaced (never mutated) when `latest` moves."""

    def __init__(self, store_root: str, alias: str = "latest"):
        from registry.store import ModelStore

        self.store, self.store_root, self.alias = ModelStore(store_root), store_root, alias
        self.current: LoadedModel | None = None
        self._lock = threading.Lock()

    def refresh(self) -> bool:
        """Load the alias's version if it is not the one served; True when the model changed."""
        try:
            version = self.store.resolve(self.alias)
        except KeyError:
            return False  # nothing registered yet: /readyz says so
        if self.current is not None and self.current.version == version:
            return False
        loaded = cached_model(self.store_root, version)  # loaded outside the lock: requests go on meanwhile
        with self._lock:
            self.current = loaded
        return True


@dataclass(frozen=True)
class Suggestion:
    suggested_price: float
    price_low: float
    price_high: float
    log_price: float
    qualified: bool
    qualification_score: float
    not_qualified_reason: str | None
    model_version: str
    features_as_of: date | None
    range_low: float | None = None  # the calibrated range at range_level (None: a model without one)
    range_high: float | None = None
    range_level: float | None = None
    comps: tuple[Comp, ...] = ()  # comparable sold listings, nearest first (none until an index is loaded)


RANGE_COLUMNS = ("range_low", "range_high", "range_level")


def _present(value) -> float | None:
    return None if value is None or value != value else float(value)  # NaN: no range


class OnlineStatistics:
    """The feature service's statistics for (seller, category) from Feast's online store.

    The service's features are resolved to their "view:feature" references once (and again on
    `features_as_of`, the refresh loop's call): handing Feast the FeatureService object makes it
    deserialise the service from the registry on every read, a third of a lone request's time."""

    def __init__(self, store, feature_service: str):
        self.store, self.service_name = store, feature_service
        self.references = self.resolve()

    def resolve(self) -> list[str]:
        service = self.store.get_feature_service(self.service_name)
        return [f"{p.name_to_use()}:{f.name}" for p in service.feature_view_projections for f in p.features]

    def read(self, listings: list[UploadedListing]) -> pd.DataFrame:
        rows = [{"seller_id": int(x.seller_id), "category": x.category, "platform": PLATFORM_ID} for x in listings]
        values = self.store.get_online_features(features=self.references, entity_rows=rows,
                                                full_feature_names=True).to_dict()
        return pd.DataFrame({k: v for k, v in values.items() if "__" in k})

    def features_as_of(self) -> date | None:
        """The newest snapshot every view has materialized (a view's snapshot of day d is stamped d 00:00)."""
        self.references = self.resolve()  # a re-applied repo may have changed the service
        served = {reference.split(":")[0] for reference in self.references}
        ends = [v.most_recent_end_time for v in self.store.list_feature_views() if v.name in served]
        return min(ends).date() if ends and all(ends) else None


class Suggester:
    def __init__(self, models: ModelSlot, statistics: OnlineStatistics, limits: ContentLimits, checks: ReasonChecks,
                 comps_root: Callable[[str], str] | None = None, comps_k: int = 0):
        self.models, self.statistics, self.limits, self.checks = models, statistics, limits, checks
        self.features_as_of: date | None = statistics.features_as_of()
        # model version -> where its comps index snapshots are (storage.comps_index_path); k per suggestion
        self.comps_root, self.comps_k = comps_root, comps_k
        self.comps_index: CompsIndex | None = None
        try:
            self.refresh_comps()
        except Exception:  # noqa: BLE001 - an unreadable index costs the comps, never the service
            log.exception("comps index not loaded; suggestions go out without comps until a refresh loads one")

    def refresh_comps(self) -> bool:
        """Load the served model's newest comps index when it is newer (or the model changed); True if loaded."""
        loaded = self.models.current
        if loaded is None or self.comps_root is None or not self.comps_k:
            return False
        root = self.comps_root(loaded.version)
        snapshot = newest_snapshot(root)
        index = self.comps_index
        if snapshot is None or (index is not None and (index.model_version, index.snapshot) == (loaded.version, snapshot)):
            return False
        self.comps_index = CompsIndex.load(root, loaded.version, snapshot)  # one assignment: requests see old or new
        return True

    def suggest(self, listings: list[UploadedListing]) -> list[Suggestion | RejectedListing]:
        """One suggestion (or the reason there is none) per upload, in one forward pass."""
        loaded = self.models.current  # this request's model, whatever `latest` does meanwhile
        if loaded is None:
            raise RuntimeError("no model loaded")
        categories = loaded.inputs.fields.get("category", [])
        outcomes: list[Suggestion | RejectedListing | None] = []
        for listing in listings:
            problem = listing_problem(listing, self.limits, categories)
            outcomes.append(RejectedListing(*problem) if problem else None)
        priced = [x for x, o in zip(listings, outcomes) if o is None]
        if priced:
            index = self.comps_index
            index = index if index is not None and index.model_version == loaded.version else None  # same space only
            scored = score_frame(self.frame(priced, loaded), loaded, self.checks, len(priced), CATEGORY_KNOWN,
                                 embeddings=index is not None)
            rows = iter(zip(priced, scored.to_dict("records")))
            outcomes = [o if o is not None else self.suggestion(*next(rows), index) for o in outcomes]
        return outcomes

    def frame(self, listings: list[UploadedListing], loaded: LoadedModel) -> pd.DataFrame:
        """The rows batch scoring hands `score_frame`: the listing's columns and its statistics
        (built in one go: inserting ~30 columns one by one costs pandas more than the model)."""
        statistics = self.statistics.read(listings)
        columns = {
            "listing_id": np.full(len(listings), SERVICE_LISTING_ID, dtype=np.int64),
            "image": [x.photo for x in listings], "title": [x.title for x in listings],
            "description": [x.description for x in listings], "category": [x.category for x in listings],
            "brand": [x.brand for x in listings], "condition": [x.condition for x in listings],
        }
        missing = np.full(len(listings), np.nan)
        for column in loaded.inputs.stats_columns:
            columns[column] = pd.to_numeric(statistics[column], errors="coerce").to_numpy(dtype=float) \
                if column in statistics else missing
        category_columns = [c for c in columns if c.startswith(view_name("category") + "__")]
        columns[CATEGORY_KNOWN] = np.column_stack([~np.isnan(columns[c]) for c in category_columns]).any(axis=1) \
            if category_columns else np.zeros(len(listings), dtype=bool)
        return pd.DataFrame(columns)

    def suggestion(self, listing: UploadedListing, row: dict, index: CompsIndex | None) -> Suggestion:
        comps = tuple(index.comps(row["embedding"], listing.category, self.comps_k)) if index is not None else ()
        return Suggestion(row["suggested_price"], row["price_low"], row["price_high"], float(row["log_price"]),
                          bool(row["qualified"]), float(row["qualification_score"]), row["not_qualified_reason"],
                          row["model_version"], self.features_as_of, *(_present(row[c]) for c in RANGE_COLUMNS),
                          comps)


def suggester_from_conf(conf: AppConfig) -> Suggester:
    """The service's Suggester as conf sets it up: the registry's `latest` (loaded when one is
    registered: `models.current` is None otherwise), the feature service on the online store,
    cleaning's limits and the reasons' checks."""
    from feature_repo.store import open_store

    models = ModelSlot(str(Path(resolve_root(conf.storage.model_store))))
    models.refresh()
    return Suggester(models, OnlineStatistics(open_store(conf), conf.feast.feature_service),
                     ContentLimits.from_conf(conf.cleaning), ReasonChecks.from_conf(conf.scoring),
                     conf.storage.comps_index_path, conf.scoring.comps_k)


def refresh_forever(suggester: Suggester, every_seconds: float, stop: threading.Event,
                    also: Callable[[], None] | None = None) -> None:
    """The service's background loop: a new `latest` model, a newer materialization (and `also`,
    e.g. re-reading the data clock). An error is logged and the loop goes on: the service keeps
    serving what it has, and /readyz shows what got stale."""
    while not stop.wait(every_seconds):
        try:
            suggester.models.refresh()
            suggester.features_as_of = suggester.statistics.features_as_of()
            suggester.refresh_comps()
            if also:
                also()
        except Exception:  # noqa: BLE001 - a refresh must never take the service down
            log.exception("refresh failed; serving the current model and statistics")
