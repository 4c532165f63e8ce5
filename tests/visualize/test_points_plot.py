"""Pictures of D-dimensional points (ppsci_ext/visualize/points.py)."""

import numpy as np
import pytest

from ppsci_ext.arch import ToyCritic
from ppsci_ext.visualize import plot_points
from ppsci_ext.visualize.points import axis_limits, critic_scores


@pytest.mark.parametrize("d,max_dims,critic", [(1, 4, True), (2, 4, True), (2, 4, False), (5, 3, False), (3, 1, False)])
def test_every_dimension_gets_a_picture(tmp_path, d, max_dims, critic):
    rng = np.random.default_rng(d)
    real = rng.standard_normal((300, d)) * 5 + 100
    fake = rng.standard_normal((200, d)) * 5 + 100
    net = ToyCritic(width=8, in_dim=d) if critic else None
    path = plot_points(str(tmp_path / "p.png"), real, fake, net, lambda x: (x - 100) / 5,
                       names=[f"n{i}" for i in range(d)], title="t", max_dims=max_dims)
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_the_critic_sees_mapped_points():
    critic = ToyCritic(width=8, in_dim=2)
    points = np.array([[100.0, 100.0], [105.0, 95.0]])
    mapped = critic_scores(critic, points, lambda x: (x - 100) / 5)
    direct = critic_scores(critic, (points - 100) / 5)
    assert np.allclose(mapped, direct) and critic.training  # the critic's mode is left as it was


def test_axis_limits_of_a_constant_dimension():
    lo, hi = axis_limits(np.full(10, 7.0))
    assert lo < 7.0 < hi
