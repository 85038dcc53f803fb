"""What in the photo drove the price: occlusion sensitivity, a saliency map and Grad-CAM.

Each map is [B, H, W] over the photo's pixels, for the regressor's suggested log price:
  occlusion  how much the suggestion falls when a patch of the photo is greyed out (averaged
             over the patches covering a pixel): positive where the region raised the price,
             negative where it lowered it (a wear mark). Model-agnostic: any photo -> log price.
  saliency   |d suggestion / d pixel|, the largest over the colour channels.
  grad_cam   Grad-CAM on the regressor's image encoder: its last feature maps weighted by their
             mean gradient, rectified, upsampled to the photo; the detail view's map (the
             central crop at full resolution, model/price_net.py ImageCNN) is added in its crop.
The suggestion here is one reading of the photo (no mirror average): a map of a photo is of
that photo, not of its mirror image. `price_of` builds the photo -> log price function of a
listing's other inputs. Photos are float in [0, 1], [B, 3, H, W], as the model reads them.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from model.price_net import PriceSuggester

PriceOf = Callable[[torch.Tensor], torch.Tensor]  # photos [B, 3, H, W] -> log price [B]


def price_of(model: PriceSuggester, tokens: torch.Tensor, stats: torch.Tensor, fields: torch.Tensor) -> PriceOf:
    """The regressor's reading of a photo, everything else of the listings held fixed."""
    model.eval()

    def read(image: torch.Tensor) -> torch.Tensor:
        return model.regressor(image, tokens, stats, fields).value + model.cfg.log_price_offset
    return read


@torch.no_grad()
def occlusion(read: PriceOf, image: torch.Tensor, patch: int = 8, stride: int = 4, fill: float = 0.5) -> torch.Tensor:
    """[B, H, W]: base suggestion minus the suggestion with a patch greyed, averaged over the patches per pixel."""
    b, _, h, w = image.shape
    base = read(image)
    total, covered = torch.zeros(b, h, w, dtype=image.dtype), torch.zeros(h, w, dtype=image.dtype)
    corners = [(top, left) for top in range(0, h - patch + 1, stride) for left in range(0, w - patch + 1, stride)]
    for top, left in corners:
        hidden = image.clone()
        hidden[:, :, top:top + patch, left:left + patch] = fill
        total[:, top:top + patch, left:left + patch] += (base - read(hidden)).to(total.dtype)[:, None, None]
        covered[top:top + patch, left:left + patch] += 1
    return total / covered.clamp(min=1)


def saliency(read: PriceOf, image: torch.Tensor) -> torch.Tensor:
    """[B, H, W]: |d suggestion / d pixel|, the largest over the channels."""
    image = image.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        read(image).sum().backward()
    return image.grad.abs().amax(dim=1)


def grad_cam(model: PriceSuggester, read: PriceOf, image: torch.Tensor) -> torch.Tensor:
    """[B, H, W]: Grad-CAM of the regressor's frame CNN, plus the detail view's in its central crop."""
    cams = grad_cams(model, read, image)
    cam = cams["frame"].clone()
    if "detail" in cams:
        h, w = image.shape[-2:]
        crop = cams["detail"].shape[-1]
        top, left = (h - crop) // 2, (w - crop) // 2
        cam[:, top:top + crop, left:left + crop] += cams["detail"]
    return cam


def grad_cams(model: PriceSuggester, read: PriceOf, image: torch.Tensor) -> dict[str, torch.Tensor]:
    """Each view's Grad-CAM at its own input's size: "frame" [B, H, W], and "detail" [B, crop, crop]."""
    visual = model.regressor.visual
    if not hasattr(visual, "features"):
        raise ValueError("Grad-CAM needs the from-scratch image encoder (model.image_encoder: scratch)")
    maps: dict[str, torch.Tensor] = {}

    def keep(name: str):
        def hook(_module, _inputs, output):
            output.retain_grad()
            maps[name] = output
        return hook

    handles = [visual.features.register_forward_hook(keep("frame"))]
    if visual.detail_crop:
        handles.append(visual.detail.register_forward_hook(keep("detail")))
    try:
        with torch.enable_grad():
            read(image.detach()).sum().backward()
    finally:
        for handle in handles:
            handle.remove()
    sizes = {"frame": tuple(image.shape[-2:]), "detail": (visual.detail_crop, visual.detail_crop)}
    return {name: _cam(activations, sizes[name]) for name, activations in maps.items()}


def _cam(activations: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    weights = activations.grad.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * activations).sum(dim=1, keepdim=True))
    return F.interpolate(cam, size=size, mode="bilinear", align_corners=False)[:, 0].detach()


def mass_share(maps: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """[B]: the share of each map's positive mass that falls inside its mask ([B, H, W] booleans)."""
    positive = maps.clamp(min=0)
    return (positive * masks).sum(dim=(1, 2)) / positive.sum(dim=(1, 2)).clamp(min=1e-12)
