"""A conditional GAN of the demo's sold photos by category and price quartile (issue 16 part 4):
the figure of generated cheap vs expensive items per category, and a check that the price
condition carries what tells a cheap photo from a dear one.

  .venv/bin/python bench/photo_gan.py [--minutes 20] [--steps 8000] [--threads 2]

Reads the demo's `listings` table (make demo; its generate step is enough) and keeps the sold
items that cleaning keeps (ingest/cleaning.py `clean_listings`, which judges every photo with
the decoder and limits of training and scoring); rows in = kept + rejected is printed. Each
item's segment is its sold price's quartile within its category. Trains evaluation/photo_gan.py
on 80% of them within --minutes, then prints:
  CHECK  a logistic regression on HOG features of real 32-px photos (with the category one-hot),
         fitted on the 80%'s cheapest and dearest quarters, tells cheap from dear on the held-out
         20%'s real photos, and on generated pairs (the same noise, each category's cheapest and
         dearest condition): the accuracy on generated photos near the real one means the
         condition carries what the photos of cheap and dear items differ by; 0.5 means it carries nothing.
Writes docs/evaluation/photo_gan.png and the generator's weights to <reports_dir>/photo_gan.pt.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def sold_photos(conf):
    """(the kept sold items: category, sold_price; their photos uint8 [N, 3, S, S]) from the demo's listings."""
    import numpy as np
    from pyspark.sql import functions as F

    from ingest.cleaning import clean_listings
    from pricesuggest.delta_io import read_table
    from pricesuggest.photo import photo_pixels
    from pricesuggest.spark import build_session

    spark = build_session(conf, "photo_gan")
    listings = read_table(spark, conf.storage.table_path("listings"))
    kept, rejected = clean_listings(listings, conf.cleaning)
    kept = kept.cache()
    counts = (listings.count(), kept.count(), rejected.count())
    print(f"listings {counts[0]:,} = kept {counts[1]:,} + rejected {counts[2]:,}")
    if counts[0] != counts[1] + counts[2]:
        raise SystemExit("cleaning's accounting does not hold")
    rows = kept.where(F.col("status") == "sold").select("category", "sold_price", "image").toPandas()
    spark.stop()
    size = conf.training.model.image_size
    photos = np.stack([photo_pixels(bytes(b), size) for b in rows.pop("image")])
    return rows, photos


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--minutes", type=float, default=20.0, help="training wall-time budget")
    parser.add_argument("--steps", type=int, default=8000, help="at most this many steps")
    parser.add_argument("--width", type=int, default=16, help="the networks' channels at full resolution")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--factorised", action="store_true",
                        help="the variant: category and segment embedded apart, the discriminator's random shifts")
    parser.add_argument("--per-category", type=int, default=4, help="generated pairs per category in the figure")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--figure", type=Path, default=ROOT / "docs/evaluation/photo_gan.png")
    args = parser.parse_args(argv)
    import numpy as np
    import torch
    from tqdm import tqdm

    from evaluation.photo_gan import (SEGMENTS, GanTrainConfig, PhotoGanConfig, cheap_and_expensive,
                                      dear_vs_cheap_accuracy, price_segments, to_uint8, to_unit_range,
                                      train_photo_gan)
    from evaluation.report import photo_gan_figure
    from pricesuggest.config import load_config, resolve_root

    torch.set_num_threads(args.threads)
    conf = load_config()
    rows, photos = sold_photos(conf)
    categories = sorted(rows["category"].unique())
    category = rows["category"].map({c: i for i, c in enumerate(categories)}).to_numpy()
    segment = price_segments(rows["category"], rows["sold_price"])
    train = np.random.default_rng(args.seed).random(len(rows)) < 0.8
    print(f"{len(rows):,} sold photos, {len(categories)} categories x {SEGMENTS} price quartiles; "
          f"{train.sum():,} train, {(~train).sum():,} held out")

    config = PhotoGanConfig(n_categories=len(categories), width=args.width,
                            **({"joint": False, "shift": 0.125} if args.factorised else {}))
    schedule = GanTrainConfig(steps=args.steps, seed=args.seed, max_seconds=60 * args.minutes)
    bar = tqdm(total=args.steps, disable=None, desc="photo GAN", unit="step")

    def progress(step, row):
        bar.update(step - bar.n)
        bar.set_postfix(d=f"{row['d_loss']:.2f}", g=f"{row['g_loss']:.2f}")

    run = train_photo_gan(photos[train], category[train], segment[train], config, schedule, progress)
    bar.close()
    last = run.history.tail(10).mean()
    print(f"TRAINED {run.steps} steps in {run.seconds:.0f} s ({run.seconds / max(run.steps, 1):.3f} s/step, "
          f"{args.threads} threads, width {args.width}, {'factorised' if args.factorised else 'joint'} "
          f"condition); last 10 logged: d_loss {last['d_loss']:.3f}, "
          f"g_loss {last['g_loss']:.3f}")

    pairs = 64  # per category, for the check
    generated = cheap_and_expensive(run.generator, pairs, seed=args.seed + 1)
    small = to_uint8(to_unit_range(photos, config.image_size))  # real photos as the GAN sees them: [N, S, S, 3]
    check = dear_vs_cheap_accuracy(small, category, segment, train, generated)
    print("CHECK", json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in check.items()}))

    shown = cheap_and_expensive(run.generator, args.per_category, seed=args.seed)
    real = np.stack([[small[np.flatnonzero((category == c) & (segment == s))[0]] for s in (0, SEGMENTS - 1)]
                     for c in range(len(categories))])
    args.figure.parent.mkdir(parents=True, exist_ok=True)
    photo_gan_figure(shown, categories, real).savefig(args.figure, dpi=110, bbox_inches="tight")
    weights = Path(resolve_root(conf.storage.reports_dir)) / "photo_gan.pt"
    weights.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"config": vars(config), "categories": categories, "state_dict": run.generator.state_dict(),
                "steps": run.steps, "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, weights)
    print(f"figure: {args.figure}; generator: {weights}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
