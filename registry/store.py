"""The model store: resumable run checkpoints, registered versions, and a `latest` pointer.

Layout under `storage.model_store` (a path the driver and every executor can reach: local
disk for the embedded default, a shared mount on a cluster):
  runs/<run_id>/checkpoint.pt        rank 0's last epoch (weights, optimizer, epoch) for --resume
  runs/<run_id>/visual_encoder.pt    pre-trained single-task CNNs (image_encoder multi_task)
  versions/<version>/model.pt        a registered model (no optimizer state)
  versions/<version>/metadata.json   config, data version, git commit, validation metrics
  LATEST                             the promoted version; replaced atomically (rename)
Files are written to a temporary name and renamed, so a crash never leaves half a file
behind a name a reader uses. Weights are loaded with `weights_only=True`.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from pricesuggest.config import resolve_root


def _torch():
    """torch, imported when weights are read or written: the data jobs read the store's metadata
    (the versions a registered model pins) without it."""
    import torch

    return torch


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    write(tmp)
    os.replace(tmp, path)


class ModelStore:
    def __init__(self, root: str):
        if "://" in root:
            raise ValueError(f"model store {root!r}: use a mounted path (every executor writes checkpoints)")
        self.root = Path(resolve_root(root))

    # ------------------------------------------------------------------ runs (resume)

    def checkpoint_path(self, run_id: str) -> Path:
        return self.root / "runs" / run_id / "checkpoint.pt"

    def save_checkpoint(self, run_id: str, payload: dict) -> None:
        _atomic_write(self.checkpoint_path(run_id), lambda tmp: _torch().save(payload, tmp))

    def load_checkpoint(self, run_id: str) -> dict | None:
        path = self.checkpoint_path(run_id)
        return _torch().load(path, map_location="cpu", weights_only=True) if path.exists() else None

    # ------------------------------------------------------------------ versions

    def visual_encoder_path(self, run_id: str) -> Path:
        return self.root / "runs" / run_id / "visual_encoder.pt"

    def save_visual_encoder(self, run_id: str, state: dict) -> Path:
        """Pre-trained single-task CNNs of a run: reusable via training.pretrained_visual."""
        path = self.visual_encoder_path(run_id)
        _atomic_write(path, lambda tmp: _torch().save(state, tmp))
        return path

    def version_dir(self, version: str) -> Path:
        return self.root / "versions" / version

    def register(self, version: str, payload: dict, metadata: dict) -> Path:
        directory = self.version_dir(version)
        _atomic_write(directory / "model.pt", lambda tmp: _torch().save(payload, tmp))
        _atomic_write(directory / "metadata.json", lambda tmp: tmp.write_text(json.dumps(metadata, indent=2, default=str)))
        return directory

    def versions(self) -> list[str]:
        base = self.root / "versions"
        return sorted(p.name for p in base.iterdir() if (p / "metadata.json").exists()) if base.exists() else []

    def find(self, key: str, value) -> str | None:
        """The newest registered version whose metadata has `key` == value."""
        return next((v for v in reversed(self.versions()) if self.metadata(v).get(key) == value), None)

    def metadata(self, version: str) -> dict:
        path = self.version_dir(version) / "metadata.json"
        if not path.exists():
            raise KeyError(f"no model version {version!r} in {self.root}")
        return json.loads(path.read_text())

    def load(self, version: str = "latest") -> dict:
        version = self.resolve(version)
        return _torch().load(self.version_dir(version) / "model.pt", map_location="cpu", weights_only=True)

    # ------------------------------------------------------------------ latest

    def latest(self) -> str | None:
        path = self.root / "LATEST"
        return path.read_text().strip() if path.exists() else None

    def resolve(self, version: str) -> str:
        if version != "latest":
            self.metadata(version)  # raises for an unknown version
            return version
        latest = self.latest()
        if latest is None:
            raise KeyError(f"no promoted model in {self.root}: train one first")
        return latest

    def set_latest(self, version: str) -> None:
        self.metadata(version)
        _atomic_write(self.root / "LATEST", lambda tmp: tmp.write_text(version + "\n"))

    def promote(self, version: str, metric: str, tolerance: float, min_photo_importance: float = 0.0,
                force: bool = False) -> tuple[bool, str]:
        """Move LATEST to `version` unless its `metric` (lower is better) is worse than LATEST's, or
        its photo importance (metadata `diagnostics`) is below `min_photo_importance`."""
        current = self.latest()
        meta = self.metadata(version)
        new_value = meta["validation"][metric]
        photo = meta.get("diagnostics", {}).get("photo_importance")
        if not force and min_photo_importance > 0 and (photo is None or photo < min_photo_importance):
            return False, (f"photo importance {photo} is below training.min_photo_importance {min_photo_importance:g}: "
                           "the model does not read the photo")
        if current is None or force:
            self.set_latest(version)
            return True, "forced" if force and current else "first model"
        old_value = self.metadata(current)["validation"].get(metric)
        if old_value is None or new_value <= old_value * (1 + tolerance):
            self.set_latest(version)
            return True, f"{metric} {new_value:.4f} vs {old_value}"
        return False, f"{metric} {new_value:.4f} is worse than latest {current}'s {old_value:.4f}"
