"""Losses on log prices: the per-item objectives and the joint classifier/regressor losses.

Per-item objectives L (vectors, one value per item):
  mse_sold     (pred - log sold)^2 on sold items; unsold items carry no target (0, masked)
  seller_gain  distance to the seller's target band, linear outside, zero inside:
               sold   -> [log sold, log sold + log mu]       (sell no lower, at most mu above)
               unsold -> [log list + log nu, log list]       (it did not sell at list: go lower)
               mu = 1.2, nu = 1/1.2: "mu * p" on log prices means adding log mu.

Joint losses (scalars), with p = sigmoid(classifier logit):
  percentile   mean(C1 * L) + beta * max(0, delta - mean(C1)) [+ gamma * weighted CE(p, C3)]
               C3 = 1 for the batch's delta share of lowest item losses (detached): the gate
               that minimises the first two terms. Without this term the classifier learns only
               through the straight-through C1 below, a weak signal that left its scores in a
               narrow band around 0.5 (AUC of "below-median loss" near chance); gamma = 0 is the
               paper's loss.
  threshold    mean(C1 * L) + beta * max(0, delta - mean(C1)) + gamma * weighted CE(p, C2)
               (the paper's Eq. 3; delta here is a low floor against the all-negative solution)
               C2 = 1[L < eps] (detached), per-batch weights w_p = sqrt((P+N)/2P), w_n = sqrt((P+N)/2N)
The gate switches off the highest losses, and those are whole categories (phones,
accessories: 0 % positive) and the most expensive items; after warm-up the paper's first
term teaches the regressor nothing more about them, and it drifts there from one training to
the next (docs/MODEL_DESIGN.md, "What the gate does to the regressor"). Two remedies:
  gated_out_weight w   the first term is mean((w + (1 - w) * C1) * L): switched-off items
                       still teach the regressor, at weight w (the production default)
  groups               the constraint and C3 hold within each group (e.g. category): "at
                       least delta of every group positive", so no group is switched off whole
C1 is the paper's indicator 1[p >= 0.5]. It has no gradient, so we use a straight-through
estimator: the forward value is the hard indicator (the loss is the paper's), the backward
pass uses d(p)/d(logit). The classifier then learns from the first term to switch off
high-loss items and from the constraint term to keep at least delta of them on. Warm-up
(stage 1) sets C1 = 1 for every item: the regressor learns from all items.
"""
from __future__ import annotations

import math

import torch

from model.config import MU, NU, QUALIFIED_AT


def mse_sold(pred: torch.Tensor, log_sold: torch.Tensor, is_sold: torch.Tensor) -> torch.Tensor:
    """Per-item squared error on sold items, 0 on unsold ones (which have no sold price)."""
    sold = is_sold.bool()
    return torch.where(sold, (pred - torch.where(sold, log_sold, pred)) ** 2, torch.zeros_like(pred))


def seller_gain(pred: torch.Tensor, log_sold: torch.Tensor, log_list: torch.Tensor, is_sold: torch.Tensor,
                mu: float = MU, nu: float = NU) -> torch.Tensor:
    """Per-item distance of the suggestion to the seller-gain band (zero inside it)."""
    sold = is_sold.bool()
    anchor = torch.where(sold, log_sold, log_list)
    low = torch.where(sold, anchor, anchor + math.log(nu))
    high = torch.where(sold, anchor + math.log(mu), anchor)
    return torch.relu(low - pred) + torch.relu(pred - high)


def qualified_indicator(logit: torch.Tensor) -> torch.Tensor:
    """C1 = 1[sigmoid(logit) >= 0.5] forward, gradient of sigmoid(logit) backward."""
    prob = torch.sigmoid(logit)
    hard = (prob >= QUALIFIED_AT).to(prob.dtype)
    return hard + (prob - prob.detach())  # exactly the hard value forward


def weighted_cross_entropy(logit: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """CE with per-batch class weights w_p = sqrt((P+N)/2P), w_n = sqrt((P+N)/2N).

    A class absent from the batch contributes nothing, so its weight is irrelevant (set 0).
    """
    labels = labels.to(logit.dtype)
    total = labels.numel()
    positives = labels.sum()
    negatives = total - positives
    w_p = torch.where(positives > 0, torch.sqrt(total / (2 * positives.clamp(min=1))), torch.zeros_like(positives))
    w_n = torch.where(negatives > 0, torch.sqrt(total / (2 * negatives.clamp(min=1))), torch.zeros_like(negatives))
    log_p = torch.nn.functional.logsigmoid(logit)
    log_not_p = torch.nn.functional.logsigmoid(-logit)
    return -(w_p * labels * log_p + w_n * (1 - labels) * log_not_p).mean()


def lowest_share(item_loss: torch.Tensor, share: float, groups: torch.Tensor | None = None) -> torch.Tensor:
    """1.0 for the `share` of items with the lowest loss (at least one; with `groups`, of each
    group), 0.0 for the rest (detached)."""
    labels = torch.zeros_like(item_loss)
    if groups is None:  # one group: the whole batch
        groups = torch.zeros_like(item_loss, dtype=torch.long)
    for g in torch.unique(groups):
        index = torch.nonzero(groups == g).flatten()
        k = max(1, round(share * index.numel()))
        labels[index[torch.argsort(item_loss.detach()[index])[:k]]] = 1.0
    return labels


def group_mean(values: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
    """Each item's group mean of `values` [n] -> [n] (differentiable)."""
    n = int(groups.max()) + 1
    sums = torch.zeros(n, dtype=values.dtype, device=values.device).index_add(0, groups, values)
    counts = torch.zeros(n, dtype=values.dtype, device=values.device).index_add(0, groups, torch.ones_like(values))
    return (sums / counts.clamp(min=1))[groups]


def percentile_joint(item_loss: torch.Tensor, logit: torch.Tensor, delta: float, beta: float,
                     warm_up: bool = False, gamma: float = 0.0, groups: torch.Tensor | None = None,
                     gated_out_weight: float = 0.0) -> torch.Tensor:
    """mean(C1 * L) + beta * max(0, delta - mean(C1)) [+ gamma * CE against C3]; warm-up: C1 = 1, no CE.

    With `groups` [n] (ids), the shortfall is each group's, averaged over the items. With
    `gated_out_weight` w, the first term is mean((w + (1 - w) * C1) * L): the items the gate
    switches off still teach the regressor, at weight w (0: the paper)."""
    if warm_up:
        return item_loss.mean() + 0.0 * logit.sum()  # classifier idle, but in the graph (Horovod)
    c1 = qualified_indicator(logit)
    share = c1.mean() if groups is None else group_mean(c1, groups)
    weight = gated_out_weight + (1.0 - gated_out_weight) * c1  # w = 0: exactly C1
    total = (weight * item_loss).mean() + beta * torch.relu(delta - share).mean()
    if gamma:
        total = total + gamma * weighted_cross_entropy(logit, lowest_share(item_loss, delta, groups))
    return total


def threshold_joint(item_loss: torch.Tensor, logit: torch.Tensor, eps: float, gamma: float,
                    delta: float = 0.0, beta: float = 0.0, warm_up: bool = False,
                    groups: torch.Tensor | None = None, gated_out_weight: float = 0.0) -> torch.Tensor:
    """The percentile terms plus gamma * weighted CE against C2 = 1[L < eps]."""
    labels = (item_loss.detach() < eps).to(item_loss.dtype)
    return (percentile_joint(item_loss, logit, delta, beta, warm_up, groups=groups, gated_out_weight=gated_out_weight)
            + gamma * weighted_cross_entropy(logit, labels))
