"""The training job end to end: Horovod on Spark over Petastorm, model store, resume."""
from __future__ import annotations

import json

import pytest

from jobs import build_training_set, compute_price_stats, generate_marketplace, train_price_model
from models.store import ModelStore

FAST = {"PRICESUGGEST__training__train__batch_size": "16", "PRICESUGGEST__training__train__warm_up_epochs": "1",
        "PRICESUGGEST__training__train__epochs": "2", "PRICESUGGEST__training__train__lr_warm_up": "0.003",
        "PRICESUGGEST__training__train__lr": "0.002", "PRICESUGGEST__training__model__conv_channels": "[4, 8, 8, 8]"}


@pytest.fixture(scope="module")
def trained(spark, module_job_env):
    with pytest.MonkeyPatch.context() as patch:
        for key, value in FAST.items():
            patch.setenv(key, value)
        assert generate_marketplace.main(["--no-summary"]) == 0
        assert compute_price_stats.main([]) == 0
        assert build_training_set.main([]) == 0
        assert train_price_model.main(["--num-proc", "2"]) == 0
        yield module_job_env, patch


@pytest.mark.slow
def test_two_horovod_processes_read_own_shards_lower_loss_and_agree(trained):
    conf, _ = trained
    store = ModelStore(conf.storage.model_store)
    version = store.latest()
    meta = store.metadata(version)
    assert meta["num_proc"] == 2 and meta["shard_overlap"] == 0
    assert all(r["listings_seen"] > 0 for r in meta["ranks"])  # each rank read a different, non-empty shard
    losses = [h["loss"] for h in meta["history"]]
    assert losses[-1] < losses[0]
    # the job exits non-zero if the ranks' final weights differ; here it exited 0
    payload = store.load(version)
    assert payload["data"]["version"] == meta["training_table"]["version"]
    assert meta["git_commit"] and payload["inputs"]["vocabulary"]["words"]
    assert (store.root / "LATEST").read_text().strip() == version


@pytest.mark.slow
def test_resume_continues_a_crashed_run(trained):
    conf, _ = trained
    store = ModelStore(conf.storage.model_store)
    run_id = store.metadata(store.latest())["run_id"]
    checkpoint = store.load_checkpoint(run_id)
    checkpoint["epoch"] = 1  # as if the run died after its first epoch
    store.save_checkpoint(run_id, checkpoint)
    assert train_price_model.main(["--num-proc", "1", "--resume", run_id, "--no-promote"]) == 0
    meta = json.loads((store.version_dir(run_id.removeprefix("train_price_model-")) / "metadata.json").read_text())
    assert [h["epoch"] for h in meta["history"]] == [2, 3]  # continued, not restarted


def test_rollback_and_unknown_version(trained, capsys):
    conf, _ = trained
    store = ModelStore(conf.storage.model_store)
    first = store.latest()
    assert train_price_model.main(["--rollback", first]) == 0
    assert store.latest() == first
    with pytest.raises(SystemExit):
        train_price_model.main(["--rollback", "nope"])
    assert "no model version 'nope'" in capsys.readouterr().err
