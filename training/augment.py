"""Photo augmentation for training: what changes between two photos of the same item.

Sellers shoot the same item mirrored, a little off-centre, closer or further, in brighter or
dimmer light, on another camera's colour balance. None of that changes the price, so the
networks should not learn it. Wear marks and brand marks survive every transform: no
rotation or strong colour shift (a brand mark's colour is part of the mark). The light
jitter is there for markets whose photos vary in light, and off in the default conf: on this
market wear fades the item's colour (by up to 25 %), so brightness is itself a price signal.
Runs on the training device, on a batch of float images in [0, 1].
"""
from __future__ import annotations

import torch
from torch.nn import functional as F


def augment_photos(images: torch.Tensor, max_shift: float = 0.08, brightness: float = 0.25,
                   channel_gain: float = 0.06) -> torch.Tensor:
    """[B, 3, H, W] in [0, 1] -> randomly flipped, shifted/zoomed, brightened and colour-balanced."""
    b = images.shape[0]
    device = images.device
    flip = torch.rand(b, device=device) < 0.5
    images = torch.where(flip[:, None, None, None], images.flip(3), images)
    # shift and zoom in one affine resample; the border repeats the background
    scale = 1.0 + (torch.rand(b, device=device) * 2 - 1) * max_shift
    shift = (torch.rand(b, 2, device=device) * 2 - 1) * 2 * max_shift
    theta = torch.zeros(b, 2, 3, device=device)
    theta[:, 0, 0] = theta[:, 1, 1] = scale
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    images = F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
    light = 1.0 + (torch.rand(b, 1, 1, 1, device=device) * 2 - 1) * brightness
    gain = 1.0 + (torch.rand(b, 3, 1, 1, device=device) * 2 - 1) * channel_gain
    return (images * light * gain).clamp_(0.0, 1.0)
