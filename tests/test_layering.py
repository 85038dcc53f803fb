"""The data layer (features/, pricesuggest/ and the data jobs) runs without torch: the model side
is imported only where a model is trained or run (and, for scoring, inside the executors)."""
import subprocess
import sys

DATA_JOBS = ["jobs.generate_marketplace", "jobs.compute_price_stats", "jobs.materialize_features",
             "jobs.build_training_set", "jobs.maintain_tables", "jobs.refresh"]


def test_the_data_layer_does_not_import_torch():
    code = f"""
import importlib, pkgutil, sys
import features, pricesuggest
modules = [m.name for p in (features, pricesuggest) for m in pkgutil.walk_packages(p.__path__, p.__name__ + ".")]
for name in modules + {DATA_JOBS!r}:
    importlib.import_module(name)
    assert "torch" not in sys.modules, name
print(len(modules))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.split()[-1]) > 10  # the walk found the packages' modules
