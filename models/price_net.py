"""The price suggestion networks, top-down: config, the full model, then its parts.

PriceSuggester holds two networks of the same architecture and no shared parameters:
  regressor   -> suggested log price
  classifier  -> logit of "this listing is qualified for a price suggestion"
Each network (PriceNet) encodes the photo (CNN) and the text (token embedding), fuses them
with attention (a dense layer over [visual; text] gives two softmax weights, each modality
is scaled by its weight) or plain concatenation, appends the statistical features and ends
in an MLP. Pure torch: no I/O, no distributed code.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

# A listing is qualified for a price suggestion when the classifier's probability reaches this
# (the paper's C1 = 1[p >= 0.5]): the training constraint, scoring and the evaluation's
# "positive" items all mean the same thing by it.
QUALIFIED_AT = 0.5


@dataclass
class PriceModelConfig:
    image_size: int = 64
    image_channels: int = 3
    # (a) "scratch": one CNN trained with the price objective;
    # (b) "multi_task": CNNs pre-trained on category / brand / condition, features concatenated.
    image_encoder: str = "scratch"
    multi_task_classes: dict[str, int] = field(default_factory=dict)  # task -> number of classes, for (b)
    conv_channels: tuple[int, ...] = (16, 32, 48, 64)  # one conv + pool block per entry
    conv_kernel: int = 3
    conv_dropout: float = 0.2
    visual_dim: int = 64
    vocab_size: int = 5000
    text_length: int = 32
    embedding_dim: int = 32
    text_dim: int = 64
    n_stats: int = 30  # statistical features; the input has 2x: values and missing flags
    fusion: str = "attention"  # attention | concat
    use_image: bool = True
    use_text: bool = True
    use_stats: bool = True
    hidden: tuple[int, ...] = (128, 64)
    dropout: float = 0.1
    # Added to the regressor's output: the train split's mean log sold price. Without it the
    # output starts at 0 and Adam's bounded steps (~lr each) need thousands of steps to
    # climb to typical log prices (~5), while the features only explain what is left.
    log_price_offset: float = 0.0

    def __post_init__(self) -> None:
        if self.image_encoder not in ("scratch", "multi_task"):
            raise ValueError(f"image_encoder must be scratch|multi_task, got {self.image_encoder!r}")
        if self.image_encoder == "multi_task" and not self.multi_task_classes:
            raise ValueError("image_encoder multi_task needs multi_task_classes")
        if self.fusion not in ("attention", "concat"):
            raise ValueError(f"fusion must be attention|concat, got {self.fusion!r}")
        if not (self.use_image or self.use_text or self.use_stats):
            raise ValueError("at least one modality must be used")
        if self.image_size % (2 ** len(self.conv_channels)):
            raise ValueError(f"image_size {self.image_size} must be divisible by 2^{len(self.conv_channels)}")


class PriceSuggester(nn.Module):
    """Regressor and classifier, trained jointly, sharing nothing."""

    def __init__(self, cfg: PriceModelConfig):
        super().__init__()
        self.cfg = cfg
        self.regressor = PriceNet(cfg)
        self.classifier = PriceNet(cfg)

    def forward(self, image: torch.Tensor, tokens: torch.Tensor, stats: torch.Tensor):
        """-> (suggested log price [B], qualification logit [B])."""
        qualification_logit, _ = self.classifier(image, tokens, stats)
        return self.log_price(image, tokens, stats), qualification_logit

    def log_price(self, image: torch.Tensor, tokens: torch.Tensor, stats: torch.Tensor) -> torch.Tensor:
        """The regressor alone: suggested log price [B]."""
        output, _ = self.regressor(image, tokens, stats)
        return output + self.cfg.log_price_offset


class PriceNet(nn.Module):
    def __init__(self, cfg: PriceModelConfig):
        super().__init__()
        self.cfg = cfg
        if cfg.use_image:
            self.visual = (ImageCNN(cfg) if cfg.image_encoder == "scratch"
                           else MultiTaskVisualEncoder(cfg))
        if cfg.use_text:
            self.text = TextEncoder(cfg)
        visual_dim = self.visual.out_dim if cfg.use_image else 0
        text_dim = cfg.text_dim if cfg.use_text else 0
        self.attention = (ModalityAttention(visual_dim, text_dim)
                          if cfg.fusion == "attention" and cfg.use_image and cfg.use_text else None)
        in_dim = visual_dim + text_dim + (2 * cfg.n_stats if cfg.use_stats else 0)
        layers: list[nn.Module] = []
        for width in cfg.hidden:
            layers += [nn.Linear(in_dim, width), nn.ReLU(), nn.Dropout(cfg.dropout)]
            in_dim = width
        layers.append(nn.Linear(in_dim, 1))
        self.head = nn.Sequential(*layers)

    def forward(self, image, tokens, stats):
        """-> (output [B], modality weights [B, 2] or None)."""
        parts, weights = [], None
        visual = self.visual(image) if self.cfg.use_image else None
        text = self.text(tokens) if self.cfg.use_text else None
        if self.attention is not None:
            visual, text, weights = self.attention(visual, text)
        parts += [p for p in (visual, text) if p is not None]
        if self.cfg.use_stats:
            parts.append(stats)
        return self.head(torch.cat(parts, dim=1)).squeeze(1), weights


class ModalityAttention(nn.Module):
    """Dense layer over [visual; text] -> 2 weights -> softmax -> each modality scaled."""

    def __init__(self, visual_dim: int, text_dim: int):
        super().__init__()
        self.score = nn.Linear(visual_dim + text_dim, 2)

    def forward(self, visual, text):
        weights = F.softmax(self.score(torch.cat([visual, text], dim=1)), dim=1)
        return visual * weights[:, :1], text * weights[:, 1:], weights


class ImageCNN(nn.Module):
    """Compact from-scratch CNN: conv-ReLU-maxpool blocks, dropout, Glorot init."""

    def __init__(self, cfg: PriceModelConfig):
        super().__init__()
        blocks: list[nn.Module] = []
        in_ch = cfg.image_channels
        for out_ch in cfg.conv_channels:
            blocks += [nn.Conv2d(in_ch, out_ch, cfg.conv_kernel, padding=cfg.conv_kernel // 2),
                       nn.ReLU(inplace=True), nn.MaxPool2d(2)]
            in_ch = out_ch
        self.features = nn.Sequential(*blocks)
        side = cfg.image_size // 2 ** len(cfg.conv_channels)
        self.project = nn.Sequential(nn.Flatten(), nn.Dropout(cfg.conv_dropout),
                                     nn.Linear(in_ch * side * side, cfg.visual_dim), nn.ReLU())
        self.out_dim = cfg.visual_dim
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, image):
        return self.project(self.features(image))


class SingleTaskCNN(nn.Module):
    """An ImageCNN with a classification head: pre-trained on one seller-entered field."""

    def __init__(self, cfg: PriceModelConfig, n_classes: int):
        super().__init__()
        self.backbone = ImageCNN(cfg)
        self.head = nn.Linear(cfg.visual_dim, n_classes)

    def forward(self, image):
        return self.head(self.backbone(image))


class MultiTaskVisualEncoder(nn.Module):
    """Variant (b): penultimate features of single-task CNNs, concatenated.

    Pre-trained on their own tasks (models.pretrain), then frozen: no gradients, and always
    in eval mode so dropout does not perturb the features while the price networks train.
    """

    def __init__(self, cfg: PriceModelConfig):
        super().__init__()
        self.tasks = nn.ModuleDict({task: SingleTaskCNN(cfg, n) for task, n in sorted(cfg.multi_task_classes.items())})
        self.out_dim = cfg.visual_dim * len(self.tasks)
        self.frozen = False

    def freeze(self) -> None:
        self.frozen = True
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True):
        return super().train(mode and not self.frozen)

    def forward(self, image):
        return torch.cat([net.backbone(image) for net in self.tasks.values()], dim=1)


class TextEncoder(nn.Module):
    """Token ids (0 = padding) -> learned embedding -> masked mean and max pooling -> dense."""

    def __init__(self, cfg: PriceModelConfig):
        super().__init__()
        self.embedding = nn.Embedding(cfg.vocab_size, cfg.embedding_dim, padding_idx=0)
        self.project = nn.Sequential(nn.Linear(2 * cfg.embedding_dim, cfg.text_dim), nn.ReLU())

    def forward(self, tokens):
        mask = (tokens != 0).unsqueeze(-1).float()
        embedded = self.embedding(tokens) * mask
        mean = embedded.sum(1) / mask.sum(1).clamp(min=1.0)
        maxed = embedded.masked_fill(mask == 0, -1e4).amax(1) * (mask.sum(1) > 0).float()  # empty text -> 0
        return self.project(torch.cat([mean, maxed], dim=1))
