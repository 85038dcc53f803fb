"""The bare training step of the registered model's architecture on CPU: where a demo's training time goes.

  .venv/bin/python bench/train_step.py [--model-version latest] [--steps 15] [--threads 2]

Builds the architecture of a registered model (fresh weights of the same shape) and times one
optimiser step of both networks (regressor and classifier, forward and backward) on a random
batch, as the plain default, in channels-last memory format, under bfloat16 autocast and at
twice the batch; then the per-step extras of the training loop (photo augmentation, the
weight EMA) and the share of the step the convolutions take (torch.profiler). No data is read.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--model-version", default="latest")
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args(argv)
    import torch
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
    from torch.profiler import ProfilerActivity, profile

    from model.config import PriceModelConfig
    from model.price_net import PriceSuggester
    from pricesuggest.config import load_config
    from registry.store import ModelStore
    from training.augment import augment_photos

    torch.set_num_threads(args.threads)
    payload = ModelStore(load_config().storage.model_store).load(args.model_version)
    fresh = lambda: PriceSuggester(PriceModelConfig(**payload["model_config"]))  # noqa: E731
    cfg = fresh().cfg

    def batch(size: int, channels_last: bool = False):
        image = torch.rand(size, cfg.image_channels, cfg.image_size, cfg.image_size)
        if channels_last:
            image = image.contiguous(memory_format=torch.channels_last)
        return (image, torch.randint(0, cfg.vocab_size, (size, cfg.text_length)), torch.randn(size, 2 * cfg.n_stats),
                torch.zeros(size, len(cfg.field_sizes), dtype=torch.long))

    def step_seconds(model, inputs, autocast: bool = False) -> float:
        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), 1e-3)
        for i in range(args.steps + 3):  # 3 warm-up steps
            if i == 3:
                started = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
                regressor, classifier = model.outputs(*inputs)
                loss = regressor.value.float().mean() + classifier.value.float().mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return (time.perf_counter() - started) / args.steps

    size = args.batch_size
    runs = {"default": (fresh(), batch(size), False, size),
            "channels_last": (fresh().to(memory_format=torch.channels_last), batch(size, True), False, size),
            "bfloat16 autocast": (fresh(), batch(size), True, size),
            f"batch {2 * size}": (fresh(), batch(2 * size), False, 2 * size)}
    for name, (model, inputs, autocast, n) in runs.items():
        seconds = step_seconds(model, inputs, autocast)
        print(f"{name:>18}: {seconds * 1000:7.1f} ms/step, {n / seconds:5.0f} samples/s")
    photos = torch.rand(size, cfg.image_channels, cfg.image_size, cfg.image_size)
    started = time.perf_counter()
    for _ in range(args.steps):
        augment_photos(photos, brightness=0.0, channel_gain=0.0)
    print(f"{'augmentation':>18}: {(time.perf_counter() - started) / args.steps * 1000:7.1f} ms/step")
    model = fresh()
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.995))
    started = time.perf_counter()
    for _ in range(args.steps):
        ema.update_parameters(model)
    print(f"{'weight EMA':>18}: {(time.perf_counter() - started) / args.steps * 1000:7.1f} ms/step")
    inputs = batch(size)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(3):
            regressor, classifier = model.outputs(*inputs)
            (regressor.value.mean() + classifier.value.mean()).backward()
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    conv = sum(e.self_cpu_time_total for e in events if "convolution" in e.key)
    print(f"convolutions (forward and backward): {conv / total:.0%} of the step's CPU time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
