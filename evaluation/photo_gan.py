"""A generative view of cheap vs expensive items: a conditional GAN of the photos, by category
and price segment (issue 16 part 4). An analysis tool of the evaluation, never part of scoring.

What it shows: drawn from the same noise, an item of a category as the cheapest quarter of that
category's sold items looks, and as the dearest quarter looks. What changes between the two is
what the photos of cheap and expensive items differ by (the item type's shape, the wear, the
brand mark), learnt from the photos and their prices alone. That is the aim; on the demo the
generated cheap and dear items are not yet told apart better than chance (docs/MODEL_DESIGN.md).

Why a GAN, and this one: the sneaker-price work the issue cites uses one, and a GAN's samples
stay sharp where a VAE's blur exactly the small marks (wear spots, brand marks) the figure is
about. The recipe is the small, stable one: a DCGAN-style generator with class-conditional
BatchNorm (each label its own scale and shift), a discriminator with spectral norm and a
projection of the label (Miyato & Koyama, 2018), the hinge loss, Adam with β1 = 0, and an
exponential moving average of the generator's weights, which is what draws the figure.
It trains at 32 px (`PhotoGanConfig.image_size`): shapes, brand marks and wear spots survive the
downsampling from 64 px, and it is 4x cheaper, so it trains within 20 minutes on 2 cores.

The condition is a pair, (category, segment); the segment is the quartile of the item's sold
price within its category (`price_segments`). By default each pair has its own embedding
(`joint`). The variant embeds the two apart and adds them, so that what makes an item look dear
could be learnt across every category at once, and shows the discriminator real and generated
photos through random shifts (differentiable augmentation); on the demo it did worse
(docs/MODEL_DESIGN.md). Pure torch and numpy: no I/O (bench/photo_gan.py reads the demo).
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import spectral_norm

SEGMENTS = 4  # quartiles of the sold price within a category: 0 the cheapest, SEGMENTS - 1 the dearest


@dataclass
class PhotoGanConfig:
    n_categories: int
    segments: int = SEGMENTS
    image_size: int = 32        # a power of 2, >= 8
    z_dim: int = 64
    width: int = 16             # channels at full resolution; x2 at each halving, up to 4x
    ema_decay: float = 0.999
    # one embedding per (category, segment) pair instead of a category's plus a segment's, and the
    # discriminator's shifts: the default is what measured best (docs/MODEL_DESIGN.md)
    joint: bool = True
    shift: float = 0.0          # the discriminator's random shifts: up to this share of the side


@dataclass
class GanTrainConfig:
    steps: int = 8000
    batch_size: int = 64
    lr: float = 2e-4
    betas: tuple[float, float] = (0.0, 0.9)
    seed: int = 0
    max_seconds: float | None = None  # stop early past this wall time (the step count reached is reported)
    flip: bool = True                 # random horizontal flips of the real photos


class ConditionalGenerator(nn.Module):
    """z and a label -> a photo in [-1, 1], [B, 3, S, S]: a 4x4 map, upsampled x2 per block."""

    def __init__(self, config: PhotoGanConfig):
        super().__init__()
        self.config = config
        blocks = int(math.log2(config.image_size // 4))
        channels = [config.width * min(4, 2 ** (blocks - i)) for i in range(blocks + 1)]  # 4x4 ... full size
        self.start = nn.Linear(config.z_dim, channels[0] * 16)
        self.blocks = nn.ModuleList(UpBlock(channels[i], channels[i + 1], config) for i in range(blocks))
        self.out_norm = ConditionalBatchNorm(channels[-1], config)
        self.to_rgb = nn.Conv2d(channels[-1], 3, 3, padding=1)

    def forward(self, z: torch.Tensor, category: torch.Tensor, segment: torch.Tensor) -> torch.Tensor:
        x = self.start(z).view(len(z), -1, 4, 4)
        for block in self.blocks:
            x = block(x, category, segment)
        return torch.tanh(self.to_rgb(F.relu(self.out_norm(x, category, segment))))


class UpBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, config: PhotoGanConfig):
        super().__init__()
        self.norm = ConditionalBatchNorm(c_in, config)
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1)

    def forward(self, x: torch.Tensor, category: torch.Tensor, segment: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(F.relu(self.norm(x, category, segment)), scale_factor=2, mode="nearest"))


class ConditionalBatchNorm(nn.Module):
    """BatchNorm whose scale and shift are the condition's (starting at 1 and 0)."""

    def __init__(self, channels: int, config: PhotoGanConfig):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.scale, self.shift = ConditionEmbedding(config, channels, 1.0), ConditionEmbedding(config, channels, 0.0)

    def forward(self, x: torch.Tensor, category: torch.Tensor, segment: torch.Tensor) -> torch.Tensor:
        scale, shift = self.scale(category, segment), self.shift(category, segment)
        return self.norm(x) * scale[:, :, None, None] + shift[:, :, None, None]


class ConditionEmbedding(nn.Module):
    """A vector per condition: the (category, segment) pair's own (`joint`), or the category's plus
    the segment's. `start` fills the tables (the segment's with 0, so the sum starts at it);
    None keeps the random start, under spectral norm (the discriminator's projection)."""

    def __init__(self, config: PhotoGanConfig, dim: int, start: float | None):
        super().__init__()
        self.config = config
        keys = config.n_categories * config.segments if config.joint else config.n_categories
        self.tables = nn.ModuleList()
        for rows, fill in [(keys, start)] + ([] if config.joint else [(config.segments, 0.0)]):
            table = nn.Embedding(rows, dim)
            if start is None:
                table = spectral_norm(table)
            else:
                nn.init.constant_(table.weight, fill)
            self.tables.append(table)

    def forward(self, category: torch.Tensor, segment: torch.Tensor) -> torch.Tensor:
        if self.config.joint:
            return self.tables[0](category * self.config.segments + segment)
        return self.tables[0](category) + self.tables[1](segment)


class ProjectionDiscriminator(nn.Module):
    """A photo and its condition -> a realness score: conv features halved down to 4x4, summed over
    space, then a linear score plus the features' inner product with the condition's embedding
    (the pair's, or the category's plus the segment's)."""

    def __init__(self, config: PhotoGanConfig):
        super().__init__()
        blocks = int(math.log2(config.image_size // 4))
        channels = [3] + [config.width * min(4, 2 ** i) for i in range(blocks)]
        layers: list[nn.Module] = []
        for c_in, c_out in zip(channels[:-1], channels[1:]):
            layers += [spectral_norm(nn.Conv2d(c_in, c_out, 3, padding=1)), nn.LeakyReLU(0.1),
                       spectral_norm(nn.Conv2d(c_out, c_out, 4, stride=2, padding=1)), nn.LeakyReLU(0.1)]
        self.features = nn.Sequential(*layers)
        self.score = spectral_norm(nn.Linear(channels[-1], 1))
        self.condition = ConditionEmbedding(config, channels[-1], None)

    def forward(self, photo: torch.Tensor, category: torch.Tensor, segment: torch.Tensor) -> torch.Tensor:
        h = self.features(photo).sum(dim=(2, 3))
        return self.score(h).squeeze(1) + (self.condition(category, segment) * h).sum(dim=1)


def random_shift(photos: torch.Tensor, share: float, generator: torch.Generator) -> torch.Tensor:
    """Each photo moved by up to `share` of its side in x and y, edges repeated: differentiable, so
    the generator learns through it (Zhao et al., 2020, "Differentiable augmentation")."""
    if not share:
        return photos
    shift = (torch.rand(len(photos), 2, generator=generator) * 2 - 1) * share * 2  # grid units: the side is 2
    theta = torch.zeros(len(photos), 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, list(photos.shape), align_corners=False)
    return F.grid_sample(photos, grid, mode="bilinear", padding_mode="border", align_corners=False)


def price_segments(category: pd.Series, sold_price: pd.Series, segments: int = SEGMENTS) -> np.ndarray:
    """Each sold item's segment (0..segments-1, quartiles by default) of the sold price within its category."""
    ranks = sold_price.groupby(category.to_numpy()).rank(method="first", pct=True).to_numpy()  # (0, 1]
    return np.clip(np.ceil(ranks * segments).astype(np.int64) - 1, 0, segments - 1)


def to_unit_range(photos: np.ndarray, size: int) -> torch.Tensor:
    """uint8 [N, 3, H, W] -> float [-1, 1] at size x size (area-averaged: marks blend, never alias)."""
    x = torch.from_numpy(np.ascontiguousarray(photos)).float().div_(127.5).sub_(1.0)
    return F.adaptive_avg_pool2d(x, size) if x.shape[-1] != size else x


def to_uint8(photos: torch.Tensor) -> np.ndarray:
    """[-1, 1] [N, 3, S, S] -> uint8 [N, S, S, 3] for a figure."""
    return ((photos.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()


@dataclass
class GanRun:
    generator: ConditionalGenerator  # the moving average of the trained generator's weights
    steps: int
    seconds: float
    history: pd.DataFrame             # per logged step: d_loss, g_loss, d_real, d_fake


def train_photo_gan(photos: np.ndarray, category: np.ndarray, segment: np.ndarray, config: PhotoGanConfig,
                    train: GanTrainConfig, progress=None, log_every: int = 50) -> GanRun:
    """Train the GAN on uint8 photos [N, 3, H, W] with their category and segment indices;
    `progress(step, row)` is called at each logged step (a tqdm bar's update, say)."""
    torch.manual_seed(train.seed)
    rng, shifts = np.random.default_rng(train.seed), torch.Generator().manual_seed(train.seed)
    real = to_unit_range(photos, config.image_size)
    categories, segments = (torch.from_numpy(np.asarray(a, np.int64)) for a in (category, segment))
    generator, discriminator = ConditionalGenerator(config), ProjectionDiscriminator(config)
    average = copy.deepcopy(generator)
    for p in average.parameters():
        p.requires_grad_(False)
    opt_g = torch.optim.Adam(generator.parameters(), lr=train.lr, betas=train.betas)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=train.lr, betas=train.betas)
    rows, start, step = [], time.monotonic(), 0
    while step < train.steps and (train.max_seconds is None or time.monotonic() - start < train.max_seconds):
        pick = torch.from_numpy(rng.integers(0, len(real), train.batch_size))
        x, c, s = real[pick], categories[pick], segments[pick]
        if train.flip:
            flip = torch.from_numpy(rng.random(len(x)) < 0.5)
            x = torch.where(flip[:, None, None, None], x.flip(3), x)
        z = torch.randn(len(x), config.z_dim)
        fake = generator(z, c, s)

        def judged(photo):  # real and generated photos alike through random shifts (none by default)
            return discriminator(random_shift(photo, config.shift, shifts), c, s)

        d_real, d_fake = judged(x), judged(fake.detach())
        d_loss = F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        g_loss = -judged(fake).mean()
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        step += 1
        _update_average(average, generator, config.ema_decay if step > 100 else 0.0)
        if step % log_every == 0 or step == train.steps:
            row = {"step": step, "d_loss": d_loss.item(), "g_loss": g_loss.item(),
                   "d_real": d_real.mean().item(), "d_fake": d_fake.mean().item()}
            rows.append(row)
            if progress:
                progress(step, row)
    standing_statistics(average)
    return GanRun(average, step, time.monotonic() - start, pd.DataFrame(rows))


@torch.no_grad()
def _update_average(average: nn.Module, model: nn.Module, decay: float) -> None:
    for a, p in zip(average.parameters(), model.parameters()):
        a.lerp_(p, 1 - decay)


@torch.no_grad()
def standing_statistics(generator: ConditionalGenerator, batches: int = 20, batch_size: int = 256) -> None:
    """Recompute BatchNorm's running statistics for these weights (the moving average's differ
    from the trained generator's, so its statistics would not fit them), over random conditions."""
    for module in generator.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None  # a plain mean over the batches
    generator.train()
    config = generator.config
    for _ in range(batches):
        generator(torch.randn(batch_size, config.z_dim), torch.randint(0, config.n_categories, (batch_size,)),
                  torch.randint(0, config.segments, (batch_size,)))
    generator.eval()


@torch.no_grad()
def cheap_and_expensive(generator: ConditionalGenerator, per_category: int, seed: int = 0) -> np.ndarray:
    """uint8 [categories, 2, per_category, S, S, 3]: per category, the cheapest and the dearest
    segment drawn from the same noise vectors, so the pair differs by the price condition only."""
    generator.eval()
    config = generator.config
    z = torch.randn(per_category, config.z_dim, generator=torch.Generator().manual_seed(seed))
    out = np.zeros((config.n_categories, 2, per_category, config.image_size, config.image_size, 3), np.uint8)
    for c in range(config.n_categories):
        for j, segment in enumerate((0, config.segments - 1)):
            out[c, j] = to_uint8(generator(z, torch.full((per_category,), c), torch.full((per_category,), segment)))
    return out


def photo_features(photos: np.ndarray) -> np.ndarray:
    """uint8 [N, S, S, 3] -> HOG of the grey level (shape, wear scratches) beside the colours pooled
    to 4x4 (the brand mark's colour, the wear spots' browns): what a linear probe reads."""
    from evaluation.baselines import hog_features

    chw = np.ascontiguousarray(photos.transpose(0, 3, 1, 2))
    colours = F.adaptive_avg_pool2d(torch.from_numpy(chw).float() / 255.0, 4).flatten(1).numpy()
    return np.hstack([hog_features(chw), colours])


def dear_vs_cheap_accuracy(real: np.ndarray, category: np.ndarray, segment: np.ndarray, train: np.ndarray,
                           generated: np.ndarray, segments: int = SEGMENTS) -> dict:
    """A probe of the condition: logistic regression on `photo_features` and the category one-hot,
    fitted to tell the cheapest quarter from the dearest on the real train photos (uint8 [N, S, S, 3]);
    its accuracy on the held-out real photos, and on `generated` ([C, 2, K, S, S, 3]: per
    category, cheapest then dearest condition). Near the real accuracy: the generated photos
    differ as real cheap and dear ones do; 0.5: the condition changes nothing the probe sees."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    n_categories = generated.shape[0]
    ends = (segment == 0) | (segment == segments - 1)
    onehot = np.eye(n_categories)[category]
    x = np.hstack([photo_features(real[ends]), onehot[ends]])
    y, fit = (segment[ends] == segments - 1).astype(int), train[ends]
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=0.1)).fit(x[fit], y[fit])
    k = generated.shape[2]
    fake = generated.reshape(-1, *generated.shape[3:])  # category-major, then cheap, dear, then the K samples
    fake_category = np.repeat(np.arange(n_categories), 2 * k)
    fake_y = np.tile(np.repeat([0, 1], k), n_categories)
    fake_x = np.hstack([photo_features(fake), np.eye(n_categories)[fake_category]])
    return {"real_train_accuracy": float(probe.score(x[fit], y[fit])),
            "real_held_out_accuracy": float(probe.score(x[~fit], y[~fit])),
            "generated_accuracy": float(probe.score(fake_x, fake_y)),
            "real_held_out": int((~fit).sum()), "generated": int(len(fake))}
