"""What in the photo drove the price, checked (issue 16): Grad-CAM, occlusion and saliency of a
registered model on the demo's random test split, against the marks the generator drew.

  .venv/bin/python bench/photo_explanations.py [--model-version latest] [--items 200]

Test photos without a photo defect whose brand mark or wear should drive the price (a branded
item, or one in fair or poor condition) are redrawn by the generator with a mask of where it
drew the brand mark and the wear marks (marketplace/world.py `photo_marks`; the redrawn photo is
checked byte for byte against the stored one). For each map, the share of its positive mass on
those pixels is printed beside a centred Gaussian blob's and a uniform map's
(evaluation/yardsticks.py `explanation_mark_share`). Writes the figure
docs/evaluation/photo_explanations.png: the cheapest and the most expensive suggestions, the most
and the least qualified listings, each photo with its Grad-CAM and occlusion map.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from model_variants import registered_model_parser, registered_on_random_split  # noqa: E402


def main(argv=None) -> int:
    parser = registered_model_parser(__doc__)
    parser.add_argument("--items", type=int, default=200, help="test photos checked against their marks")
    parser.add_argument("--patch", type=int, default=8, help="occlusion patch side in pixels (stride: half)")
    parser.add_argument("--figure", type=Path, default=ROOT / "docs/evaluation/photo_explanations.png")
    args = parser.parse_args(argv)
    import numpy as np
    import torch

    from evaluation.report import photo_explanations_figure
    from evaluation.yardsticks import explanation_mark_share, photo_maps
    from marketplace.world import World
    from marketplace.world_plan import world_plan
    from model.predict import predict
    from pricesuggest.config import load_config

    torch.manual_seed(0)
    conf = load_config()
    payload, model, data = registered_on_random_split(args.model_version, args.rows)
    device = torch.device("cpu")
    test = data.test_frame
    wear = {c.name: c.wear for c in conf.generator.conditions}
    drives = (test["photo_defect"].isna() & (test["true_brand"].notna() | (test["true_condition"].map(wear) >= 0.5)))
    rows = np.flatnonzero(drives.to_numpy())[:args.items]
    plan = world_plan(conf.generator, None)  # the demo's world: a new one from the conf it was generated with
    world, clock = World(conf.generator, n_sellers=plan.sellers), plan.clock
    ids = test["listing_id"].to_numpy()[rows]
    for i, listing_id in zip(rows[:5], ids[:5]):  # the world redraws the very photo that was scored
        if world.listing(int(listing_id), clock)["image"] != bytes(test["image"].iloc[i]):
            raise SystemExit(f"listing {listing_id}: the redrawn photo differs: not the conf the demo was made with")
    masks = np.stack([world.photo_marks(int(i), clock) for i in ids])
    arrays = {k: v[rows] for k, v in data.test.items()}
    maps = photo_maps(model, arrays, device, patch=args.patch)
    print(f"model {payload['model_version']}: {len(rows)} test photos whose brand mark or wear drives the price")
    branded = test["true_brand"].notna().to_numpy()[rows]
    for name, subset in (("all", np.ones(len(rows), dtype=bool)), ("branded", branded), ("worn, unbranded", ~branded)):
        share = explanation_mark_share({k: v[subset] for k, v in maps.items()}, masks[subset])
        print(f"MARK SHARE {name} ({subset.sum()})", json.dumps({k: round(v, 4) for k, v in share.items()}))

    out = predict(model, data.test, device)
    clean = np.flatnonzero(test["photo_defect"].isna().to_numpy())
    by_price, by_score = clean[np.argsort(out["log_price"][clean])], clean[np.argsort(out["score"][clean])]
    shown = [*by_price[:4], *by_price[-4:], *by_score[-4:], *by_score[:4]]
    labels = ["cheap"] * 4 + ["expensive"] * 4 + ["qualified"] * 4 + ["unqualified"] * 4
    picked = {k: v[shown] for k, v in data.test.items()}
    shown_maps = photo_maps(model, picked, device, patch=args.patch)
    titles = [f"{label}\n{test['category'].iloc[i][:12]} {np.exp(out['log_price'][i]):,.0f}"
              for label, i in zip(labels, shown)]
    figure = photo_explanations_figure(picked["image"], {k: shown_maps[k] for k in ("grad_cam", "occlusion")}, titles)
    args.figure.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.figure, dpi=110, bbox_inches="tight")
    print(f"figure: {args.figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
