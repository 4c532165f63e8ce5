"""Scatter plots of real against generated points draw as many of each (issue 23)."""

import matplotlib.axes
import numpy as np
import pytest

from ppsci_ext.visualize.points import equal_counts, plot_points


def test_equal_counts_takes_the_first_of_each():
    real, fake = np.arange(10).reshape(5, 2), np.arange(40).reshape(20, 2)
    r, f = equal_counts(real, fake)
    np.testing.assert_array_equal(r, real)
    np.testing.assert_array_equal(f, fake[:5])
    r, f = equal_counts(fake, real)
    assert len(r) == len(f) == 5


@pytest.mark.parametrize("d", [2, 3])
def test_scatters_draw_equal_numbers(tmp_path, monkeypatch, d):
    drawn = []
    scatter = matplotlib.axes.Axes.scatter

    def spy(self, x, y, *args, **kwargs):
        drawn.append((kwargs.get("label"), len(x)))
        return scatter(self, x, y, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "scatter", spy)
    rng = np.random.default_rng(0)
    plot_points(str(tmp_path / "p.png"), rng.standard_normal((50, d)), rng.standard_normal((200, d)))
    assert drawn and {n for _, n in drawn} == {50}
    assert {label for label, _ in drawn} == {"real", "generated"}
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
