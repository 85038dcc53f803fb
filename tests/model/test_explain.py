"""The photo explanations (model/explain.py) on a hand-made reader and on a tiny model."""
import torch

from model.config import PriceModelConfig
from model.explain import grad_cam, grad_cams, mass_share, occlusion, price_of, saliency
from model.price_net import PriceSuggester


def top_left_reader(image: torch.Tensor) -> torch.Tensor:
    """A 'model' whose price is the brightness of the photo's top-left 8x8 corner."""
    return image[:, :, :8, :8].mean(dim=(1, 2, 3)) * 3.0


def test_occlusion_and_saliency_point_at_what_the_price_reads():
    image = torch.full((2, 3, 16, 16), 0.9)
    corner = torch.zeros(16, 16, dtype=torch.bool)
    corner[:8, :8] = True
    occluded = occlusion(top_left_reader, image, patch=4, stride=4, fill=0.5)
    assert occluded.shape == (2, 16, 16)
    assert (occluded[:, ~corner] == 0).all() and (occluded[:, corner] > 0).all()  # greying a bright corner lowers it
    salient = saliency(top_left_reader, image)
    assert (salient[:, ~corner] == 0).all() and (salient[:, corner] > 0).all()
    assert torch.allclose(mass_share(salient, corner.expand(2, -1, -1)), torch.ones(2))


def test_grad_cam_covers_the_photo_and_adds_the_detail_view_in_its_crop():
    torch.manual_seed(0)
    cfg = PriceModelConfig(image_size=16, conv_channels=(4, 8), detail_crop=8, detail_channels=(4, 8), vocab_size=5,
                           text_length=4, embedding_dim=4, field_sizes={"category": 3}, field_dim=2, fusion_dim=4,
                           n_stats=1, hidden=(8,))
    model = PriceSuggester(cfg)
    tokens, stats, fields = torch.ones(3, 4, dtype=torch.long), torch.zeros(3, 2), torch.ones(3, 1, dtype=torch.long)
    read = price_of(model, tokens, stats, fields)
    image = torch.rand(3, 3, 16, 16)
    cam = grad_cam(model, read, image)
    assert cam.shape == (3, 16, 16) and (cam >= 0).all() and torch.isfinite(cam).all()
    views = grad_cams(model, read, image)
    assert views["frame"].shape == (3, 16, 16) and views["detail"].shape == (3, 8, 8)
    outside = torch.ones(16, 16, dtype=torch.bool)
    outside[4:12, 4:12] = False  # the detail view's central 8x8 crop
    assert torch.allclose(cam[:, outside], views["frame"][:, outside])
    assert torch.allclose(cam[:, 4:12, 4:12], views["frame"][:, 4:12, 4:12] + views["detail"])
    assert occlusion(read, image, patch=8, stride=4).shape == (3, 16, 16)
