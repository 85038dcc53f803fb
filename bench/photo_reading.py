"""How well can the image encoder read what the photo shows, given the true labels?

  python bench/photo_reading.py                                      # the production encoder
  python bench/photo_reading.py --model '{"detail_crop": 0}'         # without the detail view
  python bench/photo_reading.py --model '{"detail_crop": 0, "stem_channels": 16}' --augment none

A diagnostic, not a product path: the production `ImageCNN` (conf/base/training.yaml's model
section under the overrides) is trained alone on the train split's photos with three linear
heads for the *true* item type, brand and condition from `listing_truth` (per category),
with the training loop's photo augmentation. It prints the test accuracy: item type and
condition on photos without a defect, brand on those of them that show a brand mark. What the
encoder cannot read here, the price model cannot use. Reads the rows bench/model_variants.py
exports (run that first).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TASKS = ("item_type", "true_brand", "true_condition")

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--rows", type=Path, default=ROOT / "data/bench/model_variants.parquet")
parser.add_argument("--model", default="{}", help="JSON: PriceModelConfig overrides")
parser.add_argument("--epochs", type=int, default=16)
parser.add_argument("--augment", default="train", choices=["train", "flip", "none"],
                    help="train: the training loop's augment_photos; flip: mirror only; none")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--threads", type=int, default=2)


def labels(frame, column: str, classes: list[str]):
    import numpy as np
    keys = frame["category"] + "|" + frame[column].fillna("none").astype(str)
    return np.searchsorted(classes, keys.to_numpy())


def main(argv=None) -> int:
    args = parser.parse_args(argv)
    import numpy as np
    import pandas as pd
    import torch
    from torch import nn
    from torch.nn import functional as F

    from model.price_net import ImageCNN
    from pricesuggest.config import load_config
    from pricesuggest.photo import photo_pixels
    from training.augment import augment_photos

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    conf = load_config()
    cfg = dataclasses.replace(conf.training.model, **json.loads(args.model))
    frame = pd.read_parquet(args.rows)
    train, test = (frame[frame["split"] == part].reset_index(drop=True) for part in ("train", "test"))
    classes = {c: sorted((frame["category"] + "|" + frame[c].fillna("none").astype(str)).unique()) for c in TASKS}
    photos = {name: torch.from_numpy(np.stack([photo_pixels(b, cfg.image_size) for b in part["image"]]))
              for name, part in (("train", train), ("test", test))}
    targets = {c: torch.from_numpy(labels(train, c, classes[c])) for c in TASKS}

    cnn = ImageCNN(cfg)
    heads = nn.ModuleDict({c: nn.Linear(cnn.out_dim, len(classes[c])) for c in TASKS})
    params = [*cnn.parameters(), *heads.parameters()]
    optimizer = torch.optim.AdamW(params, lr=3e-3, weight_decay=1e-4)
    batch = 128
    steps_per_epoch = len(train) // batch
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, 3e-3, total_steps=args.epochs * steps_per_epoch)
    start = time.time()
    for _ in range(args.epochs):
        cnn.train()
        order = torch.randperm(len(train))
        for step in range(steps_per_epoch):
            idx = order[step * batch:(step + 1) * batch]
            images = photos["train"][idx].float() / 255
            if args.augment == "train":
                images = augment_photos(images)
            elif args.augment == "flip":
                images = torch.where((torch.rand(len(idx)) < 0.5)[:, None, None, None], images.flip(3), images)
            features = cnn(images)
            loss = sum(F.cross_entropy(heads[c](features), targets[c][idx]) for c in TASKS)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
    seconds = time.time() - start

    cnn.eval()
    with torch.no_grad():
        features = torch.cat([cnn(photos["test"][i:i + 512].float() / 255) for i in range(0, len(test), 512)])
    clean = test["photo_defect"].isna().to_numpy()
    branded = clean & test["true_brand"].notna().to_numpy()
    accuracy = {}
    for c in TASKS:
        right = heads[c](features).argmax(1).numpy() == labels(test, c, classes[c])
        accuracy[c] = round(float(right[branded if c == "true_brand" else clean].mean()), 3)
    print(f"RESULT {args.model} augment {args.augment}, {args.epochs} epochs, {seconds:.0f} s: "
          f"test accuracy {json.dumps(accuracy)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
