"""The training job end to end: Horovod on Spark over Petastorm, model store, resume."""
from __future__ import annotations

import json

import pytest
import torch

from jobs import train_price_model
from registry.store import ModelStore
from tests.pipeline_steps import generate_and_train
from training.run import print_diagnostics


@pytest.fixture(scope="module")
def trained(spark, module_job_env):
    with pytest.MonkeyPatch.context() as patch:
        # the pure regression objective over 7 short epochs: the loss the test checks is the one optimised
        generate_and_train(patch, num_proc=2, PRICESUGGEST__training__train__constraint="none",
                           PRICESUGGEST__training__train__epochs="6")
        yield module_job_env, patch


@pytest.mark.slow
def test_two_horovod_processes_read_own_shards_lower_loss_and_agree(trained):
    conf, _ = trained
    store = ModelStore(conf.storage.model_store)
    version = store.latest()
    meta = store.metadata(version)
    assert meta["num_proc"] == 2 and meta["shard_overlap"] == 0
    assert all(r["listings_seen"] > 0 for r in meta["ranks"])  # each rank read a different, non-empty shard
    history = meta["history"]  # item loss on the training data, before training vs after the last epoch
    assert history[-1]["train_item_loss_at_end"] < history[0]["train_item_loss_at_start"]
    # the job exits non-zero if the ranks' final weights differ; here it exited 0
    payload = store.load(version)
    assert payload["data"]["version"] == meta["training_table"]["version"]
    assert meta["git_commit"] and payload["inputs"]["vocabulary"]["words"]
    assert payload["format"] == meta["payload_format"] == 2
    assert set(payload["inputs"]["fields"]) == {"brand", "category", "condition"}
    # fitted on validation after training, recorded and saved with the model
    diagnostics = meta["diagnostics"]
    assert {"photo_importance", "text_importance", "photo_weight_mean", "photo_weight_std"} <= set(diagnostics)
    assert 0.0 < payload["model_config"]["qualification_threshold"] < 1.0
    assert 1 <= meta["best_epoch"] <= meta["epochs"]
    assert (store.root / "LATEST").read_text().strip() == version


@pytest.mark.slow
def test_resume_continues_a_crashed_run(trained):
    conf, _ = trained
    store = ModelStore(conf.storage.model_store)
    run_id = store.metadata(store.latest())["run_id"]
    checkpoint = store.load_checkpoint(run_id)
    checkpoint["epoch"] = 1  # as if the run died after its first epoch
    checkpoint.pop("final")  # ... before rank 0 fitted the threshold and wrote the final checkpoint
    store.save_checkpoint(run_id, checkpoint)
    assert train_price_model.main(["--num-proc", "1", "--resume", run_id, "--no-promote"]) == 0
    meta = json.loads((store.version_dir(run_id.removeprefix("train_price_model-")) / "metadata.json").read_text())
    epochs = [h["epoch"] for h in meta["history"]]
    # continued at epoch 2, not restarted; it may stop early, as the kept best epoch came from the whole run
    assert epochs == list(range(2, epochs[-1] + 1)) and epochs[-1] <= 7
    assert meta["fingerprint"] == checkpoint["data"]["fingerprint"]  # still the run it continued


def test_rollback_and_unknown_version(trained, capsys):
    conf, _ = trained
    store = ModelStore(conf.storage.model_store)
    first = store.latest()
    assert train_price_model.main(["--rollback", first]) == 0
    assert store.latest() == first
    with pytest.raises(SystemExit):
        train_price_model.main(["--rollback", "nope"])
    assert "no model version 'nope'" in capsys.readouterr().err


@pytest.mark.slow
def test_multi_task_encoder_is_pretrained_frozen_and_reusable(trained):
    conf, patch = trained
    store = ModelStore(conf.storage.model_store)
    patch.setenv("PRICESUGGEST__training__field_min_count", "2")  # tiny data: few rows per brand
    assert train_price_model.main(["--num-proc", "2", "--image-encoder", "multi_task", "--no-promote"]) == 0
    version = store.versions()[-1]
    meta = store.metadata(version)
    assert meta["model_config"]["image_encoder"] == "multi_task"
    assert set(meta["model_config"]["field_sizes"]) == {"brand", "category", "condition"}
    assert [h["epoch"] for h in meta["pretrain_history"]] == [1, 2]
    assert all(0.0 <= h["category_accuracy"] <= 1.0 for h in meta["pretrain_history"])
    encoder_file = store.visual_encoder_path(meta["run_id"])
    pretrained = torch.load(encoder_file, weights_only=True)
    weights = store.load(version)["state_dict"]
    for net in ("regressor", "classifier"):  # both networks carry the pre-trained CNNs, unchanged by training
        for key, value in pretrained.items():
            assert torch.equal(weights[f"{net}.visual.{key}"], value), key

    patch.setenv("PRICESUGGEST__training__pretrained_visual", str(encoder_file))
    try:
        assert train_price_model.main(["--num-proc", "1", "--image-encoder", "multi_task", "--no-promote"]) == 0
    finally:
        patch.delenv("PRICESUGGEST__training__pretrained_visual")
    reused = store.metadata(store.versions()[-1])
    assert reused["pretrain_history"] == []  # loaded from the file, not trained again
    weights = store.load(store.versions()[-1])["state_dict"]
    assert all(torch.equal(weights[f"regressor.visual.{k}"], v) for k, v in pretrained.items())


def test_a_missing_pretrained_visual_file_is_a_clear_error(trained, capsys):
    _, patch = trained
    patch.setenv("PRICESUGGEST__training__pretrained_visual", "/nonexistent/visual.pt")
    try:
        with pytest.raises(SystemExit):
            train_price_model.main(["--image-encoder", "multi_task"])
    finally:
        patch.delenv("PRICESUGGEST__training__pretrained_visual")
    assert "is not a local file" in capsys.readouterr().err


def test_skip_if_trained_is_a_no_op_on_the_same_data_and_conf(trained, capsys):
    conf, _ = trained
    store = ModelStore(conf.storage.model_store)
    before = store.versions()
    capsys.readouterr()
    assert train_price_model.main(["--num-proc", "2", "--skip-if-trained"]) == 0
    out = capsys.readouterr().out
    assert "already trained" in out and "val_item_loss" in out
    assert store.versions() == before  # nothing trained, nothing registered



def test_the_training_summary_says_loudly_when_the_photo_is_ignored(capsys):
    diagnostics = {"objective": 0.5, "photo_importance": 0.001, "text_importance": 0.4,
                   "photo_weight_mean": 0.01, "photo_weight_std": None}
    print_diagnostics(diagnostics, 0.47, min_photo_importance=0.05)
    out = capsys.readouterr().out
    assert "PHOTO IGNORED" in out and "0.0010" in out and "n/a" in out
    print_diagnostics({**diagnostics, "photo_importance": 0.3}, 0.47, min_photo_importance=0.05)
    assert "PHOTO IGNORED" not in capsys.readouterr().out


def test_a_shard_is_decoded_once_then_reshuffled_in_memory(spark, trained, monkeypatch):
    """The first pass streams through Petastorm and keeps what it decoded; later passes decode
    nothing. Without a cache budget every pass decodes again."""
    from model.inputs import ModelInputs
    from pricesuggest.delta_io import read_table
    from training.petastorm_data import shard_batches

    conf, _ = trained
    rows = read_table(spark, conf.storage.table_path("training_set")).where("split = 'train'")
    urls, shard = rows.inputFiles(), {r["listing_id"] for r in rows.select("listing_id").collect()}
    inputs = ModelInputs.from_dict(ModelStore(conf.storage.model_store).load("latest")["inputs"])
    decoded, encode = [], ModelInputs.encode_frame
    monkeypatch.setattr(ModelInputs, "encode_frame", lambda self, frame: decoded.append(len(frame)) or encode(self, frame))
    batch_size, passes = 16, 3
    steps = passes * len(shard) // batch_size
    for cache_mb, most_decoded in ((64, len(shard)), (0, None)):
        decoded.clear()
        with shard_batches(urls, inputs, batch_size, seed=1, cache_mb=cache_mb) as batches:
            seen = [i for _ in range(steps) for i in next(batches)["listing_id"].tolist()]
        # every row, and full batches but for the first pass's last one (the shard's remainder)
        assert set(seen) == shard and steps * batch_size - batch_size < len(seen) <= steps * batch_size
        if most_decoded is not None:
            assert sum(decoded) == most_decoded  # each row decoded once, for three passes
        else:
            assert sum(decoded) >= 2 * len(shard)
