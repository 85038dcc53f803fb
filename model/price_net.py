"""The price suggestion networks, top-down: the full model, then its parts (their config,
PriceModelConfig, is in model/config.py, where conf types it without importing torch).

PriceSuggester holds two networks of the same architecture and no shared parameters:
  regressor   -> suggested log price
  classifier  -> logit of "this listing is qualified for a price suggestion"
Each network (PriceNet) reads four inputs:
  photo   a CNN (conv-BatchNorm-ReLU blocks, global average and max pooling) over the frame,
          and a second one over the frame's centre at full resolution (the detail view)
  text    word ids (and optionally hashed bigram ids), one embedding table, mean and max pooling
  fields  the form's category, brand and condition (id 0 = missing or unseen), embedded, and
          the photo heads' reading of the same three fields in the same embedding space
  stats   the statistical features (standardised values and missing flags)
Photo and text are projected to the same width and layer-normalised, then fused by attention:
a dense layer over [visual; text] gives two softmax weights and each modality is scaled by its
weight (times 2, so that the zero-initialised scorer starts from the identity). In training,
modality dropout hides one of the two from some items, so neither can be ignored. The fused
modalities, fields and statistics feed an MLP with two outputs: the network's value (log price
or logit) and an auxiliary log list price. Auxiliary heads read the form fields from the photo
alone (the published multiple single-task visual features, as losses). Pure torch: no I/O.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import nn
from torch.nn import functional as F

from model.config import PriceModelConfig


@dataclass
class NetOutput:
    value: torch.Tensor  # [B] log price (regressor, before the offset) or qualification logit
    list_value: torch.Tensor  # [B] auxiliary: log list price (before the offset)
    modality_weights: torch.Tensor | None  # [B, 2] (photo, text) with attention fusion
    photo_logits: dict[str, torch.Tensor]  # auxiliary: form field -> [B, ids] from the photo alone
    # [B, 2 * fusion_dim] photo and text as the head reads them (projected, normalised, scaled by
    # the fusion weights); None without both. Comparable sold listings are searched in it.
    reading: torch.Tensor | None = None

    def comparables_embedding(self) -> torch.Tensor:
        """[B, D] unit rows of `reading`: cosine similarity is a dot product (model/comps.py)."""
        return F.normalize(self.reading, dim=1)


@dataclass
class Encoded:
    visual: torch.Tensor | None  # [B, fusion_dim]
    text: torch.Tensor | None  # [B, fusion_dim]
    rest: torch.Tensor | None  # [B, ...] form-field embeddings and statistics
    photo_logits: dict[str, torch.Tensor]


class PriceSuggester(nn.Module):
    """Regressor and classifier, trained jointly, sharing nothing.

    Buffers `reference_visual` / `reference_text` [categories, fusion_dim]: the classifier's
    mean photo and text embeddings of qualified validation listings per category (set after
    training by model.qualification). `qualification_counterfactuals` replaces a listing's
    photo or text embedding with its category's reference: how qualified would it be with a
    typical photo, or a typical text? That is what the reasons for "not qualified" stand on.
    """

    def __init__(self, cfg: PriceModelConfig):
        super().__init__()
        self.cfg = cfg
        self.regressor = PriceNet(cfg)
        self.classifier = PriceNet(cfg)
        n_categories = cfg.field_sizes.get("category", 0)
        self.register_buffer("reference_visual", torch.zeros(n_categories, cfg.fusion_dim))
        self.register_buffer("reference_text", torch.zeros(n_categories, cfg.fusion_dim))

    def forward(self, image, tokens, stats, fields) -> tuple[torch.Tensor, torch.Tensor]:
        """-> (suggested log price [B], qualification logit [B])."""
        return self.log_price(image, tokens, stats, fields), self.classifier(image, tokens, stats, fields).value

    def outputs(self, image, tokens, stats, fields) -> tuple[NetOutput, NetOutput]:
        """Both networks' full outputs (auxiliary ones included), for the training losses."""
        return self.regressor(image, tokens, stats, fields), self.classifier(image, tokens, stats, fields)

    def log_price(self, image, tokens, stats, fields) -> torch.Tensor:
        """The regressor alone: suggested log price [B] (see `read`)."""
        return self.read(image, tokens, stats, fields)[0]

    def read(self, image, tokens, stats, fields) -> tuple[torch.Tensor, NetOutput]:
        """(suggested log price [B], the regressor's output on these inputs).

        With `mirror_average`, outside training, the suggestion is the mean of the regressor's
        readings of the photo and of its mirror image, read in one pass over 2B rows (one call
        of each layer instead of two: at serving's small batches the calls cost more than the
        arithmetic)."""
        if not (self.cfg.mirror_average and self.cfg.use_image and not self.training):
            out = self.regressor(image, tokens, stats, fields)
            return out.value + self.cfg.log_price_offset, out
        n = image.shape[0]
        both = self.regressor(torch.cat([image, image.flip(-1)]), *(torch.cat([x, x]) for x in (tokens, stats, fields)))
        value = (both.value[:n] + both.value[n:]) / 2
        return value + self.cfg.log_price_offset, first_rows(both, n)

    def comparables_embedding(self, image, tokens, stats, fields) -> torch.Tensor:
        """[B, D] the regressor's reading of the photo and the text (NetOutput.reading), unit length.
        No form fields or statistics: those would make a seller's listings each other's comps."""
        return self.regressor(image, tokens, stats, fields).comparables_embedding()

    def category_ids(self, fields: torch.Tensor) -> torch.Tensor:
        return fields[:, sorted(self.cfg.field_sizes).index("category")]

    def qualification_counterfactuals(self, image, tokens, stats, fields):
        """(logit, logit with the category's typical photo, logit with its typical text), each [B].

        Without photo and text both (an ablation) or without categories, the counterfactuals
        equal the logit: nothing to swap.
        """
        encoded = self.classifier.encode(image, tokens, stats, fields)
        logit = self.classifier.decide(encoded).value
        if not self.cfg.fused or not len(self.reference_visual):
            return logit, logit, logit
        category = self.category_ids(fields)
        typical_photo = self.classifier.decide(replace(encoded, visual=self.reference_visual[category])).value
        typical_text = self.classifier.decide(replace(encoded, text=self.reference_text[category])).value
        return logit, typical_photo, typical_text


def first_rows(out: NetOutput, n: int) -> NetOutput:
    weights = out.modality_weights[:n] if out.modality_weights is not None else None
    reading = out.reading[:n] if out.reading is not None else None
    return NetOutput(out.value[:n], out.list_value[:n], weights, {k: v[:n] for k, v in out.photo_logits.items()},
                     reading)


class PriceNet(nn.Module):
    def __init__(self, cfg: PriceModelConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.fusion_dim
        in_dim = 0
        photo_fields = (cfg.use_image and cfg.photo_heads and cfg.photo_fields and cfg.image_encoder == "scratch"
                        and cfg.use_fields and bool(cfg.field_sizes))
        if cfg.use_image:
            self.visual = ImageCNN(cfg) if cfg.image_encoder == "scratch" else MultiTaskVisualEncoder(cfg)
            self.visual_proj = nn.Sequential(nn.Linear(self.visual.out_dim, d), nn.LayerNorm(d))
            in_dim += d
            if cfg.photo_heads and cfg.image_encoder == "scratch":
                self.photo_heads = nn.ModuleDict({name: nn.Linear(self.visual.out_dim, n)
                                                  for name, n in sorted(cfg.field_sizes.items())})
        if cfg.use_text:
            self.text = TextEncoder(cfg)
            self.text_proj = nn.Sequential(nn.Linear(self.text.out_dim, d), nn.LayerNorm(d))
            in_dim += d
        self.attention = ModalityAttention(d) if cfg.fusion == "attention" and cfg.fused else None
        if cfg.use_fields and cfg.field_sizes:
            self.fields = FieldEncoder(cfg.field_sizes, cfg.field_dim)
            in_dim += self.fields.out_dim * (2 if photo_fields else 1)
        if cfg.use_stats:
            in_dim += 2 * cfg.n_stats
        layers: list[nn.Module] = []
        for width in cfg.hidden:
            layers += [nn.Linear(in_dim, width), nn.ReLU(), nn.Dropout(cfg.dropout)]
            in_dim = width
        layers.append(nn.Linear(in_dim, 2))  # value, auxiliary list price
        self.head = nn.Sequential(*layers)

    def forward(self, image, tokens, stats, fields) -> NetOutput:
        return self.decide(self.encode(image, tokens, stats, fields))

    def encode(self, image, tokens, stats, fields) -> Encoded:
        """Each input on its own: photo and text projected to the fusion width, the rest as it is."""
        visual = text = None
        photo_logits = {}
        if self.cfg.use_image:
            features = self.visual(image)
            if hasattr(self, "photo_heads"):
                photo_logits = {name: head(features) for name, head in self.photo_heads.items()}
            visual = self.visual_proj(features)
        if self.cfg.use_text:
            text = self.text_proj(self.text(tokens))
        rest = [self.fields(fields)] if hasattr(self, "fields") else []
        if photo_logits and self.cfg.photo_fields and hasattr(self, "fields"):
            rest.append(self.fields.expected(photo_logits))
        if self.cfg.use_stats:
            rest.append(stats)
        return Encoded(visual, text, torch.cat(rest, dim=1) if rest else None, photo_logits)

    def decide(self, encoded: Encoded) -> NetOutput:
        """Fusion and head: the part a counterfactual (another photo's or text's embedding) reruns."""
        visual, text, weights = encoded.visual, encoded.text, None
        if self.cfg.fused:
            visual, text = modality_dropout(visual, text, self.cfg.modality_dropout, self.training)
        if self.attention is not None:
            visual, text, weights = self.attention(visual, text)
        parts = [p for p in (visual, text, encoded.rest) if p is not None]
        out = self.head(torch.cat(parts, dim=1))
        modalities = [p for p in (visual, text) if p is not None]
        reading = torch.cat(modalities, dim=1) if modalities else None
        return NetOutput(out[:, 0], out[:, 1], weights, encoded.photo_logits, reading)


def modality_dropout(visual, text, p: float, training: bool):
    """In training, hide the photo from a share p of items and the text from another p (never both)."""
    if not training or p == 0.0:
        return visual, text
    u = torch.rand(visual.shape[0], 1, device=visual.device)
    return visual * (u >= p).to(visual.dtype), text * ((u < p) | (u >= 2 * p)).to(text.dtype)


class ModalityAttention(nn.Module):
    """Dense layer over [visual; text] -> 2 weights -> softmax -> each modality scaled by 2 x its weight.

    The scorer starts at zero: equal weights, and the factor 2 makes that the identity, so
    training starts from plain concatenation and moves the weights only where it pays.
    """

    def __init__(self, dim: int):
        super().__init__()
        self.score = nn.Linear(2 * dim, 2)
        nn.init.zeros_(self.score.weight)
        nn.init.zeros_(self.score.bias)

    def forward(self, visual, text):
        weights = F.softmax(self.score(torch.cat([visual, text], dim=1)), dim=1)
        return 2 * visual * weights[:, :1], 2 * text * weights[:, 1:], weights


class ImageCNN(nn.Module):
    """Blocks of conv3x3 stride 2 + conv3x3, each with BatchNorm and ReLU; global average and max pooling.

    An optional stem conv reads the full resolution first; then strided convolutions halve the
    side where max-pooling would (a quarter of the pooled variant's CPU time at this size,
    measured), and the second conv of each block sees the finer detail again. The input goes
    in channels-last (oneDNN's fast path on CPUs, tensor cores' on GPUs). Average pooling says
    how much of the frame shows a pattern (the item's shape, wear all over it); max pooling
    whether a small one is there at all (a brand mark, a stain). The optional detail view
    reads the central square at full resolution; its pooled features follow the frame's.
    """

    def __init__(self, cfg: PriceModelConfig):
        super().__init__()
        layers: list[nn.Module] = []
        in_ch = cfg.image_channels
        if cfg.stem_channels:
            layers += conv_bn_relu(in_ch, cfg.stem_channels, stride=1)
            in_ch = cfg.stem_channels
        blocks, in_ch = strided_blocks(in_ch, cfg.conv_channels)
        self.features = nn.Sequential(*layers, *blocks)  # weights stay contiguous: Horovod allreduces only those
        self.out_dim = 2 * in_ch
        self.detail_crop = cfg.detail_crop
        if cfg.detail_crop:
            first, *rest = cfg.detail_channels
            blocks, detail_ch = strided_blocks(first, rest)
            self.detail = nn.Sequential(*conv_bn_relu(cfg.image_channels, first, stride=1), *blocks)
            self.out_dim += 2 * detail_ch

    def forward(self, image):
        image = image.contiguous(memory_format=torch.channels_last)
        pooled = [global_pool(self.features(image))]
        if self.detail_crop:
            top = (image.shape[-2] - self.detail_crop) // 2
            left = (image.shape[-1] - self.detail_crop) // 2
            centre = image[:, :, top:top + self.detail_crop, left:left + self.detail_crop]
            pooled.append(global_pool(self.detail(centre.contiguous(memory_format=torch.channels_last))))
        return torch.cat(pooled, dim=1)


def global_pool(maps: torch.Tensor) -> torch.Tensor:
    """[B, C, H, W] -> [B, 2C]: average and max over the positions."""
    return torch.cat([maps.mean(dim=(2, 3)), maps.amax(dim=(2, 3))], dim=1)


def strided_blocks(in_ch: int, channels) -> tuple[list[nn.Module], int]:
    """One (stride-2 conv, conv) block per entry of `channels`; -> (layers, output channels)."""
    layers: list[nn.Module] = []
    for out_ch in channels:
        layers += [*conv_bn_relu(in_ch, out_ch, stride=2), *conv_bn_relu(out_ch, out_ch, stride=1)]
        in_ch = out_ch
    return layers, in_ch


def conv_bn_relu(in_ch: int, out_ch: int, stride: int) -> list[nn.Module]:
    conv = nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)
    nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
    return [conv, nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True)]


class SingleTaskCNN(nn.Module):
    """An ImageCNN with a classification head: pre-trained on one form field."""

    def __init__(self, cfg: PriceModelConfig, n_classes: int):
        super().__init__()
        self.backbone = ImageCNN(cfg)
        self.head = nn.Linear(self.backbone.out_dim, n_classes)

    def forward(self, image):
        return self.head(self.backbone(image))


class MultiTaskVisualEncoder(nn.Module):
    """Variant (b): pooled features of single-task CNNs (one per form field), concatenated.

    Pre-trained on their own tasks (training.pretrain), then frozen: no gradients, and always
    in eval mode so BatchNorm statistics stay those of pre-training.
    """

    def __init__(self, cfg: PriceModelConfig):
        super().__init__()
        if not cfg.field_sizes:  # known once the inputs are fitted, so checked here rather than in the config
            raise ValueError("image_encoder multi_task needs field_sizes (its pre-training tasks)")
        self.tasks = nn.ModuleDict({task: SingleTaskCNN(cfg, n) for task, n in sorted(cfg.field_sizes.items())})
        self.out_dim = sum(net.backbone.out_dim for net in self.tasks.values())
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
    """Unigram and hashed bigram ids (0 = padding) -> one embedding table -> mean and max pooling.

    An empty text pools to zeros. Bigrams carry what single words cannot ("max mara", "like
    new", "not working"); hashing them keeps the table's size fixed whatever the corpus.
    """

    def __init__(self, cfg: PriceModelConfig):
        super().__init__()
        self.embedding = nn.Embedding(cfg.vocab_size + cfg.bigram_buckets, cfg.embedding_dim, padding_idx=0)
        self.pooling = cfg.text_pooling
        self.out_dim = 2 * cfg.embedding_dim

    def forward(self, tokens):
        weight = self.embedding.weight
        return torch.cat([F.embedding_bag(tokens, weight, mode=self.pooling, padding_idx=0),
                          F.embedding_bag(tokens, weight, mode="max", padding_idx=0)], dim=1)


class FieldEncoder(nn.Module):
    """Form fields (ids, 0 = missing or unseen in training) -> concatenated embeddings."""

    def __init__(self, sizes: dict[str, int], dim: int):
        super().__init__()
        self.names = sorted(sizes)
        self.embeddings = nn.ModuleList([nn.Embedding(sizes[name], dim) for name in self.names])
        self.out_dim = dim * len(self.names)

    def forward(self, fields):
        return torch.cat([emb(fields[:, i]) for i, emb in enumerate(self.embeddings)], dim=1)

    def expected(self, logits: dict[str, torch.Tensor]) -> torch.Tensor:
        """The embeddings the photo heads' class probabilities point to (same tables, same layout)."""
        return torch.cat([F.softmax(logits[name], dim=1) @ emb.weight for name, emb in zip(self.names, self.embeddings)],
                         dim=1)
