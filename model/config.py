"""The model side's typed settings: what conf/base/training.yaml (model, train, pretrain) and
evaluation.yaml (baselines) configure.

Torch-free, so the configuration loader (pricesuggest/config.py) types these sections at load
time (an unknown or mistyped key fails there, naming it) without the data jobs importing
torch. The networks, the training loop, the pre-training and the baselines read them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

# The seller-gain band (the paper's mu = 1.2, nu = 1/1.2): a sold item's suggestion should fall in
# [sold, sold * MU], an unsold one's in [list * NU, list]. The defaults of TrainConfig and of the
# metrics; a trained model carries the values it was trained with in its payload's train_config.
MU, NU = 1.2, 1 / 1.2

# The paper's C1 = 1[p >= 0.5]: what "qualified" means inside the training constraint. Scoring
# and the evaluation use the model's own `qualification_threshold`, fitted on validation after
# training so that the share of qualified listings matches delta.
QUALIFIED_AT = 0.5


@dataclass
class PriceModelConfig:
    image_size: int = 64
    image_channels: int = 3
    # "scratch": one CNN trained with the price objective (plus the auxiliary photo heads);
    # "multi_task": single-task CNNs pre-trained on the form fields, frozen, features concatenated.
    image_encoder: str = "scratch"
    conv_channels: tuple[int, ...] = (16, 32, 64, 128)  # one block (stride-2 conv, conv) per entry
    # a conv at full resolution before the first block (0: none): the brand glyph is ~9 px wide at
    # 64 px, and a first stride-2 conv leaves ~4 px of it to tell a triangle from a diamond
    stem_channels: int = 0
    # The detail view: the photo's central square of this side (0: none), read at full
    # resolution by its own small CNN (a stride-1 conv, then stride-2 blocks of
    # `detail_channels[1:]`). Sellers centre the item, and its brand mark and wear marks are a
    # few pixels wide: the full-frame CNN halves the side first and reads them poorly, and a
    # full-resolution stem over the whole frame costs twice the time (docs/MODEL_DESIGN.md).
    detail_crop: int = 0
    detail_channels: tuple[int, ...] = (8, 16, 32, 64)
    vocab_size: int = 5000  # word ids (padding and unknown included)
    bigram_buckets: int = 0  # hashed bigram ids after the word ids (0: words only)
    text_length: int = 32  # word slots; with bigram_buckets, as many bigram slots follow
    embedding_dim: int = 64
    text_pooling: str = "mean"  # mean | sum (with max pooling either way)
    field_sizes: dict[str, int] = field(default_factory=dict)  # form field -> ids, 0 = missing
    field_dim: int = 16
    n_stats: int = 30  # statistical features; the input has 2x: values and missing flags
    fusion: str = "attention"  # attention | concat
    fusion_dim: int = 64  # both modalities are projected to this width before fusion
    modality_dropout: float = 0.15  # per item, in training: P(photo hidden) = P(text hidden)
    use_image: bool = True
    use_text: bool = True
    use_fields: bool = True
    use_stats: bool = True
    photo_heads: bool = True  # auxiliary heads: form fields from the photo alone
    # the photo heads' reading as inputs too: softmax(photo head) @ the form field's embedding
    # table, so "the photo shows a Rolex" lands where a typed "Rolex" does (needs photo_heads)
    photo_fields: bool = True
    hidden: tuple[int, ...] = (256, 128)
    dropout: float = 0.2
    # Outside training, the suggested log price is the mean of the regressor's readings of the
    # photo and of its mirror image. Training mirrors half the photos (training/augment.py), so
    # both readings are of the same item; where a few-pixel mark falls on the conv grid shifts
    # each reading a little, and the mean halves that variance (test MALE -0.006, measured in
    # docs/MODEL_DESIGN.md) for a second pass of the regressor. Off for models saved before it.
    mirror_average: bool = False
    # Added to the regressor's output: the train split's mean log sold price. Without it the
    # output starts at 0 and Adam's bounded steps (~lr each) need thousands of steps to
    # climb to typical log prices (~5), while the features only explain what is left.
    log_price_offset: float = 0.0
    # Scoring: qualified when sigmoid(logit) >= this (fitted on validation, stored with the model).
    qualification_threshold: float = QUALIFIED_AT
    # Reasons: the word ids that say what the item is (model.qualification.fit_item_words,
    # fitted on validation with the threshold); a text with none of them is blamed on its own.
    item_words: tuple[int, ...] = ()
    # The calibrated price range (model/conformal.py): its coverage level, the sold validation
    # items a (qualified, category) group needs for offsets of its own, and the offsets, fitted on
    # validation with the threshold (group key -> (low, high) log offsets; {}: a model saved
    # before the range, scored without one)
    range_level: float = 0.8
    range_min_rows: int = 40
    range_offsets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.image_encoder not in ("scratch", "multi_task"):
            raise ValueError(f"image_encoder must be scratch|multi_task, got {self.image_encoder!r}")
        if self.fusion not in ("attention", "concat"):
            raise ValueError(f"fusion must be attention|concat, got {self.fusion!r}")
        if not (self.use_image or self.use_text or self.use_fields or self.use_stats):
            raise ValueError("at least one modality must be used")
        if self.image_size % (2 ** len(self.conv_channels)):
            raise ValueError(f"image_size {self.image_size} must be divisible by 2^{len(self.conv_channels)}")
        if not 0.0 < self.range_level < 1.0:
            raise ValueError(f"range_level must be in (0, 1), got {self.range_level}")
        if not 0.0 <= self.modality_dropout < 0.5:
            raise ValueError(f"modality_dropout must be in [0, 0.5), got {self.modality_dropout}")
        if self.detail_crop and (self.detail_crop > self.image_size
                                 or self.detail_crop % (2 ** (len(self.detail_channels) - 1))):
            raise ValueError(f"detail_crop {self.detail_crop} must be at most image_size and divisible by "
                             f"2^{len(self.detail_channels) - 1}")
        self.conv_channels = tuple(self.conv_channels)
        self.detail_channels = tuple(self.detail_channels)
        self.hidden = tuple(self.hidden)

    @property
    def fused(self) -> bool:
        """Photo and text both present: the attention (or concat) fusion applies."""
        return self.use_image and self.use_text


@dataclass
class TrainConfig:
    objective: str = "seller_gain"  # mse | seller_gain
    constraint: str = "percentile"  # none | percentile | threshold
    delta: float = 0.6  # percentile: at least this share of items positive
    beta: float = 10.0  # weight of the percentile constraint (must outweigh item losses)
    eps: float = 0.15  # threshold: positive when the item loss is below eps
    # weight of the classifier's weighted cross-entropy: threshold, against 1[L < eps] (the
    # paper's Eq. 3); percentile, against the batch's delta share of lowest losses
    gamma: float = 1.0
    # threshold: the paper's Eq. 3 keeps a beta * max(0, delta - share positive) term so the
    # classifier cannot settle on "all negative"; a low floor leaves the share to eps.
    threshold_min_positive: float = 0.1
    # "category": the positive-share floor (and, for percentile, the classifier's target C3)
    # holds within each category of the batch, so the gate cannot switch a category off
    # whole; "none": over the batch, as in the paper.
    gate_groups: str = "none"
    # The regressor's weight on the items the gate switches off (0: the paper, they teach it
    # nothing). The gate switches off the highest losses, which are the most expensive items
    # (a Rolex's +3.3), and a regressor that stops learning them under-suggests them.
    gated_out_weight: float = 0.0
    mu: float = MU
    nu: float = NU
    warm_up: bool = True
    warm_up_epochs: int = 3
    epochs: int = 9  # after warm-up, at most: early stopping may end sooner
    lr: float = 3e-3  # peak of the one-cycle schedule
    lr_warm_up_share: float = 0.2  # share of all steps spent rising to the peak
    weight_decay: float = 1e-4
    batch_size: int = 128
    patience: int = 3  # gated epochs without a better validation figure (`selection_metric`) before stopping
    # Exponential moving average of the weights (per step; 0 = off): validation, the kept best
    # epoch and the saved model use the average, which varies less than the last step's weights.
    # The decay ramps up over the first steps (ema_update), so short runs are not averaged
    # towards their random initial weights.
    ema_decay: float = 0.995
    # Auxiliary losses, on both networks and ungated (they shape the representation from every
    # item): the log list price (sold and unsold items alike), and the form fields from the photo.
    list_weight: float = 0.3
    photo_weight: float = 0.2
    augment: bool = True
    # the photo augmentation's light jitter (training.augment): brightness and per-channel gain.
    # Off by default: wear fades a photo's colour by up to 25 %, and a ±25 % jitter hides it
    # (out-of-time test MALE 0.4325 -> 0.4246, docs/MODEL_DESIGN.md, "No light jitter")
    augment_brightness: float = 0.0
    augment_channel_gain: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.objective not in ("mse", "seller_gain"):
            raise ValueError(f"objective must be mse|seller_gain, got {self.objective!r}")
        if self.constraint not in ("none", "percentile", "threshold"):
            raise ValueError(f"constraint must be none|percentile|threshold, got {self.constraint!r}")
        if self.gate_groups not in ("none", "category"):
            raise ValueError(f"gate_groups must be none|category, got {self.gate_groups!r}")
        if not 0.0 <= self.gated_out_weight <= 1.0:
            raise ValueError(f"gated_out_weight must be in [0, 1], got {self.gated_out_weight}")

    @property
    def total_epochs(self) -> int:
        return (self.warm_up_epochs if self.warm_up else 0) + self.epochs

    @property
    def selection_metric(self) -> str:
        """The validation figure that picks the best epoch (lower is better).

        The seller-gain loss is linear, so its mean item loss is a steady yardstick. The squared
        error is not: the few rows whose price is a typo or a placeholder (error ~4.6 in log
        price) turn a small drift of their prediction into a large swing of the mean (d(e^2) =
        2e de, 9x the drift), and the demo's MSE runs stopped at epoch 7 while the MALE of sold
        items kept falling to epoch 12 (docs/MODEL_DESIGN.md). MSE models are judged by MALE, so
        they are selected by it.
        """
        return "val_male_sold" if self.objective == "mse" else "val_item_loss"

    def warming_up(self, epoch: int) -> bool:
        """Is this 0-based epoch in the warm-up stage (every item positive)?"""
        return self.warm_up and epoch < self.warm_up_epochs

    def lr_at(self, step: int, total_steps: int) -> float:
        """One-cycle: linear rise from lr/10 to lr, then cosine decay to lr/100."""
        rise = max(1, round(self.lr_warm_up_share * total_steps))
        if step < rise:
            return self.lr * (0.1 + 0.9 * step / rise)
        progress = min(1.0, (step - rise) / max(1, total_steps - rise))
        return self.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * progress)))


@dataclass
class PretrainConfig:
    epochs: int = 2
    lr: float = 1e-3
    seed: int = 0


@dataclass
class BaselineConfig:
    hog_orientations: int = 8
    hog_cells: int = 8  # cells per image side: the cell size scales with the image
    hog_pca: int = 200
    cnn_pca: int = 256
    svm_c: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0)
    svm_gamma: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 1e-1)
    svm_tune_rows: int = 2000  # grid search on a subsample: an RBF SVM is quadratic in rows
    svm_fit_rows: int = 8000
    tfidf_features: int = 500
    gbt_iterations: int = 300
    ridge_alpha: float = 3.0  # tfidf_ridge's L2 penalty (3 measured best of 0.3, 1, 3 on the demo split)
    floor_alpha: float = 1.0
    seed: int = 0
