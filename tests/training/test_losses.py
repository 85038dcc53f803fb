"""Every loss against values computed by hand."""
import math

import pytest
import torch

from training.losses import (lowest_share, mse_sold, percentile_joint, qualified_indicator, seller_gain,
                             threshold_joint, weighted_cross_entropy)

LOG_MU = math.log(1.2)


def t(*values):
    return torch.tensor(values, dtype=torch.float64)


def test_mse_sold_counts_sold_items_only():
    loss = mse_sold(t(1.0, 2.0, 5.0), t(1.5, 0.0, 3.0), t(1, 0, 1))
    assert loss.tolist() == pytest.approx([0.25, 0.0, 4.0])


def test_seller_gain_sold_band():
    # band for log sold 2.0: [2.0, 2.0 + log 1.2 = 2.18232]
    pred = t(1.5, 2.0, 2.1, 2.5)
    loss = seller_gain(pred, log_sold=t(2.0, 2.0, 2.0, 2.0), log_list=t(9, 9, 9, 9), is_sold=t(1, 1, 1, 1))
    assert loss.tolist() == pytest.approx([0.5, 0.0, 0.0, 2.5 - 2.0 - LOG_MU])


def test_seller_gain_unsold_band():
    # band for log list 3.0: [3.0 - log 1.2 = 2.81768, 3.0]
    pred = t(2.5, 2.9, 3.0, 3.4)
    loss = seller_gain(pred, log_sold=t(0, 0, 0, 0), log_list=t(3.0, 3.0, 3.0, 3.0), is_sold=t(0, 0, 0, 0))
    assert loss.tolist() == pytest.approx([3.0 - LOG_MU - 2.5, 0.0, 0.0, 0.4])


def test_seller_gain_mu_nu_from_arguments():
    loss = seller_gain(t(3.0), t(2.0), t(0.0), t(1), mu=math.e, nu=1 / math.e)
    assert loss.item() == pytest.approx(0.0)  # 3.0 = 2.0 + log e: on the band's edge


def test_qualified_indicator_is_hard_forward_and_sigmoid_backward():
    logit = t(-1.0, 0.0, 2.0).requires_grad_()
    c1 = qualified_indicator(logit)
    assert c1.tolist() == [0.0, 1.0, 1.0]
    c1.sum().backward()
    s = torch.sigmoid(t(-1.0, 0.0, 2.0))
    assert logit.grad.tolist() == pytest.approx((s * (1 - s)).tolist())


def test_percentile_joint_value():
    # C1 = [1, 0, 1, 0]; mean(C1 * L) = (0.2 + 0.6) / 4 = 0.2; constraint max(0, 0.8 - 0.5) * 2 = 0.6
    loss = percentile_joint(t(0.2, 0.4, 0.6, 0.8), t(3.0, -3.0, 0.5, -0.1), delta=0.8, beta=2.0)
    assert loss.item() == pytest.approx(0.2 + 0.6)


def test_percentile_joint_constraint_inactive_above_delta_and_warm_up_counts_everything():
    item, logit = t(0.2, 0.4, 0.6, 0.8), t(3.0, -3.0, 0.5, -0.1)
    assert percentile_joint(item, logit, delta=0.4, beta=2.0).item() == pytest.approx(0.2)
    assert percentile_joint(item, logit, delta=0.9, beta=2.0, warm_up=True).item() == pytest.approx(0.5)


def test_percentile_gradient_moves_classifier_off_costly_items():
    logit = t(1.0, 1.0).requires_grad_()
    percentile_joint(t(0.1, 5.0), logit, delta=0.0, beta=0.0).backward()
    assert logit.grad[1] > logit.grad[0] > 0  # descending lowers the logit of the costly item most


def test_weighted_cross_entropy_by_hand():
    logit, labels = t(2.0, -1.0, 0.5), t(1, 0, 0)  # P=1, N=2
    w_p, w_n = math.sqrt(3 / 2), math.sqrt(3 / 4)
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    expected = -(w_p * math.log(sig(2.0)) + w_n * math.log(1 - sig(-1.0)) + w_n * math.log(1 - sig(0.5))) / 3
    assert weighted_cross_entropy(logit, labels).item() == pytest.approx(expected)


def test_weighted_cross_entropy_single_class_batch():
    sig = 1 / (1 + math.exp(-1.0))
    # P = 2, N = 0: w_p = sqrt(2 / 4)
    assert weighted_cross_entropy(t(1.0, 1.0), t(1, 1)).item() == pytest.approx(-math.sqrt(0.5) * math.log(sig))


def test_threshold_joint_value():
    item, logit = t(0.05, 0.3), t(1.0, 1.0)  # C1 = [1, 1]; C2 = [1, 0] at eps 0.15
    expected_ce = weighted_cross_entropy(logit, t(1, 0)).item()
    got = threshold_joint(item, logit, eps=0.15, gamma=0.5).item()
    assert got == pytest.approx((0.05 + 0.3) / 2 + 0.5 * expected_ce)


def test_lowest_share_marks_the_delta_lowest_losses():
    assert lowest_share(t(0.5, 0.1, 0.9, 0.3, 0.7), 0.6).tolist() == [1.0, 1.0, 0.0, 1.0, 0.0]
    assert lowest_share(t(0.5, 0.1), 0.0).tolist() == [0.0, 1.0]  # at least one


def test_grouped_gate_keeps_delta_of_every_group_positive():
    item, groups = t(0.5, 0.1, 0.9, 0.3, 0.7, 0.2), torch.tensor([0, 0, 0, 1, 1, 1])
    # the batch's three lowest losses are 0.1, 0.2, 0.3; within each group, the two lowest
    assert lowest_share(item, 0.5, groups).tolist() == [1.0, 1.0, 0.0, 1.0, 0.0, 1.0]
    # group 0 all positive, group 1 all negative: the batch's share (0.5) meets delta = 0.5,
    # but group 1 falls 0.5 short, which counts for its half of the items
    logit = torch.tensor([3.0, 3.0, 3.0, -3.0, -3.0, -3.0], dtype=torch.float64, requires_grad=True)
    gated = (0.5 + 0.1 + 0.9) / 6
    assert percentile_joint(item, logit, delta=0.5, beta=2.0).item() == pytest.approx(gated)
    grouped = percentile_joint(item, logit, delta=0.5, beta=2.0, groups=groups)
    assert grouped.item() == pytest.approx(gated + 2.0 * 0.5 / 2)
    grouped.backward()
    assert (logit.grad[3:] < 0).all()  # the switched-off group is pushed back on


def test_gated_out_items_keep_a_share_of_their_weight():
    item, logit = t(0.2, 0.4), t(3.0, -3.0)  # the second item is gated out
    assert percentile_joint(item, logit, delta=0.0, beta=0.0).item() == pytest.approx(0.2 / 2)
    assert percentile_joint(item, logit, delta=0.0, beta=0.0, gated_out_weight=0.25).item() == pytest.approx(
        (0.2 + 0.25 * 0.4) / 2)
    pred = torch.tensor([1.0, 1.0], dtype=torch.float64, requires_grad=True)
    percentile_joint((pred - t(0.0, 0.0)) ** 2, logit, delta=0.0, beta=0.0, gated_out_weight=0.25).backward()
    assert pred.grad.tolist() == pytest.approx([1.0, 0.25])  # the regressor still learns the gated-out item


def test_percentile_gamma_trains_the_classifier_towards_the_lowest_losses():
    logit = torch.zeros(4, requires_grad=True)
    item = t(0.1, 2.0, 0.2, 3.0)
    paper = percentile_joint(item, logit, delta=0.5, beta=0.0)
    supervised = percentile_joint(item, logit, delta=0.5, beta=0.0, gamma=1.0)
    assert supervised.item() == pytest.approx(paper.item() + math.log(2))  # CE at p = 0.5, balanced classes
    supervised.backward()
    assert logit.grad[0] < 0 and logit.grad[2] < 0 and logit.grad[1] > 0 and logit.grad[3] > 0
    logit.grad = None
    percentile_joint(item, logit, delta=0.5, beta=0.0, warm_up=True, gamma=1.0).backward()
    assert torch.equal(logit.grad, torch.zeros(4))  # warm-up: the classifier is idle
