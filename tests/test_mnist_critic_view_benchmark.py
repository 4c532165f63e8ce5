"""The pure helpers of benchmarks/mnist_critic_view.py (no weights, no digits)."""

import numpy as np
import pytest

from conftest import benchmark_module


@pytest.fixture(scope="module")
def view():
    yield from benchmark_module("mnist_critic_view")


def test_rank_auc_counts_ordered_pairs_and_half_ties(view):
    assert view.rank_auc(np.array([3.0, 4.0]), np.array([1.0, 2.0])) == 1.0
    assert view.rank_auc(np.array([1.0, 2.0]), np.array([3.0, 4.0])) == 0.0
    # pairs (first, second): (1,0) above, (1,2) below, (3,0) above, (3,2) above -> 3 of 4
    assert view.rank_auc(np.array([1.0, 3.0]), np.array([0.0, 2.0])) == 0.75
    # a tie counts one half: (2,2) half, (2,1) above -> 1.5 of 2
    assert view.rank_auc(np.array([2.0]), np.array([2.0, 1.0])) == 0.75


def test_rank_auc_matches_the_pair_count_on_random_scores(view):
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.3, 1, 37).round(1), rng.normal(0, 1, 23).round(1)  # rounding makes ties
    pairs = (a[:, None] > b[None, :]).mean() + 0.5 * (a[:, None] == b[None, :]).mean()
    assert view.rank_auc(a, b) == pytest.approx(pairs, abs=1e-12)


def test_kept_share_keeps_the_highest_scores(view):
    scores = np.array([5.0, 1.0, 4.0, 2.0, 3.0])
    flagged = np.array([True, False, False, True, True])
    assert view.kept_share(scores, flagged, 0.4) == 0.5  # 5.0 (flagged) and 4.0
    assert view.kept_share(scores, flagged, 0.6) == pytest.approx(2 / 3)  # and 3.0 (flagged)
    assert view.kept_share(scores, flagged, 1.0) == 0.6


def test_fit_critic_moves_the_critic_only_and_reports_five_times(view):
    import paddle

    from ppsci_ext.arch import MNISTGenerator
    from ppsci_ext.arch.mnist import MNISTCritic

    paddle.seed(1)
    gen, critic = MNISTGenerator(dim=2), MNISTCritic(dim=2)
    before_gen = {k: v.numpy().copy() for k, v in gen.state_dict().items()}
    before_critic = {k: v.numpy().copy() for k, v in critic.state_dict().items()}
    train = np.random.default_rng(0).uniform(size=(20, 1, 28, 28)).astype(np.float32)
    steps = []
    view.fit_critic(critic, gen, train, 10, 10.0, steps.append, batch_size=4)
    assert steps == [2, 4, 6, 8, 10]
    assert all(np.array_equal(before_gen[k], v.numpy()) for k, v in gen.state_dict().items())
    moved = {k for k, v in critic.state_dict().items() if not np.array_equal(before_critic[k], v.numpy())}
    assert moved == set(before_critic) - {"fc.bias"}  # the loss is blind to a constant added to every score
