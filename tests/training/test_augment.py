"""Photo augmentation: what it may change (position, mirror, light) and what it must not (shape, range)."""
import torch

from training.augment import augment_photos


def photos(n=16, size=12):
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(0))


def test_without_shift_or_light_jitter_each_photo_is_itself_or_its_mirror():
    images = photos()
    torch.manual_seed(1)
    out = augment_photos(images, max_shift=0.0, brightness=0.0, channel_gain=0.0)
    same = torch.isclose(out, images, atol=1e-5).flatten(1).all(1)
    mirrored = torch.isclose(out, images.flip(3), atol=1e-5).flatten(1).all(1)
    assert (same | mirrored).all() and same.any() and mirrored.any()


def test_light_jitter_changes_brightness_and_stays_in_range():
    images = photos() * 0.5  # room to brighten without clipping
    torch.manual_seed(2)
    out = augment_photos(images, max_shift=0.0, brightness=0.25, channel_gain=0.0)
    ratio = out.mean(dim=(1, 2, 3)) / images.mean(dim=(1, 2, 3))  # a flip keeps the mean
    assert ratio.min() < 0.95 and ratio.max() > 1.05 and (ratio - 1).abs().max() <= 0.25 + 1e-4
    assert out.shape == images.shape and out.min() >= 0 and out.max() <= 1
