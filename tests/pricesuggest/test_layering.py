"""The data side runs without torch: the shared core, the marketplace, ingestion, statistics,
the feature repo, the registry and the Spark halves of training, scoring and evaluation (and
the data jobs). The model side is imported only where a model is trained or run (and, for
scoring, inside the executors)."""
import subprocess
import sys

DATA_PACKAGES = ["pricesuggest", "marketplace", "ingest", "stats", "feature_repo", "registry"]
DATA_MODULES = ["training.training_set", "training.training_set_stage", "training.input_fitting", "scoring.transforms",
                "scoring.runs", "scoring.outcomes",
                "evaluation.data", "model.config", "model.inputs"]
DATA_JOBS = ["jobs.generate_marketplace", "jobs.compute_price_stats", "jobs.materialize_features",
             "jobs.build_training_set", "jobs.maintain_tables", "jobs.refresh"]


def test_the_data_side_does_not_import_torch():
    code = f"""
import importlib, pkgutil, sys
packages = [importlib.import_module(p) for p in {DATA_PACKAGES!r}]
modules = [m.name for p in packages for m in pkgutil.walk_packages(p.__path__, p.__name__ + ".")]
for name in modules + {DATA_MODULES!r} + {DATA_JOBS!r}:
    importlib.import_module(name)
    assert "torch" not in sys.modules, name
print(len(modules))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.split()[-1]) > 15  # the walk found the packages' modules
