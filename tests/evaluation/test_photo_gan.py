"""The generative view (evaluation/photo_gan.py) on tiny data: segments, the condition it learns, the figure's draws."""
import numpy as np
import pandas as pd
import pytest
import torch

from evaluation.photo_gan import (ConditionalGenerator, GanTrainConfig, PhotoGanConfig, cheap_and_expensive,
                                  price_segments, random_shift, to_uint8, train_photo_gan)
from evaluation.report import photo_gan_figure


def test_segments_are_price_quartiles_within_each_category():
    category = pd.Series(["a"] * 8 + ["b"] * 4)
    price = pd.Series([5, 1, 2, 8, 3, 4, 6, 7, 10, 40, 20, 30], dtype=float)
    assert price_segments(category, price).tolist() == [2, 0, 0, 3, 1, 1, 2, 3, 0, 3, 1, 2]
    assert price_segments(category, price, segments=2).tolist() == [1, 0, 0, 1, 0, 0, 1, 1, 0, 1, 0, 1]


@pytest.mark.parametrize("joint", [True, False], ids=["joint", "factorised"])
def test_the_generator_learns_what_each_segment_looks_like_in_every_category(joint):
    """Two categories (a tint) and two segments (the brightness): after a short training, the
    moving average draws the dear segment brighter than the cheap one in both categories, from
    the same noise, and each category in its own tint."""
    rng = np.random.default_rng(0)
    n = 256
    category, segment = np.arange(n) % 2, (np.arange(n) // 2) % 2
    level = np.where(segment == 1, 200, 50)[:, None, None, None].astype(float)
    photos = np.repeat(level, 3, axis=1).repeat(8, axis=2).repeat(8, axis=3)
    photos[:, 0] += np.where(category == 1, 40, -40)[:, None, None]  # category 1 redder
    photos = np.clip(photos + rng.normal(0, 10, photos.shape), 0, 255).astype(np.uint8)
    config = PhotoGanConfig(n_categories=2, segments=2, image_size=8, z_dim=8, width=8, ema_decay=0.9, joint=joint,
                            shift=0.0 if joint else 0.125)  # as bench/photo_gan.py runs each
    run = train_photo_gan(photos, category, segment, config,
                          GanTrainConfig(steps=250, batch_size=64, lr=2e-3, flip=False), log_every=125)
    assert run.steps == 250 and list(run.history["step"]) == [125, 250]
    drawn = cheap_and_expensive(run.generator, 64, seed=1).astype(float)  # [category, cheap|dear, K, S, S, 3]
    brightness = drawn.mean(axis=(2, 3, 4, 5))
    assert (brightness[:, 1] - brightness[:, 0] > 60).all(), brightness
    redness = (drawn[..., 0] - drawn[..., 1]).mean(axis=(1, 2, 3, 4))
    assert redness[1] - redness[0] > 20, redness


def test_cheap_and_expensive_pairs_share_their_noise_and_draw_a_figure():
    config = PhotoGanConfig(n_categories=3, image_size=8, z_dim=4, width=4)
    generator = ConditionalGenerator(config).eval()
    drawn = cheap_and_expensive(generator, 2, seed=5)
    assert drawn.shape == (3, 2, 2, 8, 8, 3) and drawn.dtype == np.uint8
    assert np.array_equal(drawn, cheap_and_expensive(generator, 2, seed=5))  # seeded noise: the same draws
    with torch.no_grad():  # the dearest segment of category 1, from the same noise
        z = torch.randn(2, 4, generator=torch.Generator().manual_seed(5))
        want = generator(z, torch.full((2,), 1), torch.full((2,), config.segments - 1))
    assert np.array_equal(drawn[1, 1], to_uint8(want))
    figure = photo_gan_figure(drawn, ["a", "b", "c"], drawn[:, :, 0])
    assert len(figure.axes) == 3 * (2 * 2 + 2)


def test_the_discriminators_shift_moves_photos_and_passes_gradients():
    photo = torch.zeros(1, 3, 8, 8)
    photo[:, :, 3:5, 3:5] = 1.0
    photo.requires_grad_(True)
    moved = random_shift(photo, 0.25, torch.Generator().manual_seed(0))
    assert not torch.allclose(moved, photo) and moved.shape == photo.shape
    moved.sum().backward()
    assert photo.grad is not None and photo.grad.abs().sum() > 0
    assert torch.equal(random_shift(photo, 0.0, torch.Generator()), photo)
