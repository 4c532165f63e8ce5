"""Long steps show a progress bar (count, rate, ETA); short ones print nothing."""

import numpy as np

from ppsci_ext import progress as progress_module
from ppsci_ext.arch import GAN, ToyCritic, ToyGenerator


def test_a_step_longer_than_the_delay_shows_count_rate_and_eta(capsys, monkeypatch):
    monkeypatch.setattr(progress_module, "DELAY", 0.0)
    gan = GAN(ToyGenerator(width=8), ToyCritic(width=8))
    out = gan.generate({"z": np.zeros((30, 2), np.float32)}, batch_size=7)
    assert out.shape == (30, 2)
    err = capsys.readouterr().err
    assert "generating samples" in err and "30/30" in err and "img/s" in err


def test_a_short_step_prints_nothing(capsys):
    gan = GAN(ToyGenerator(width=8), ToyCritic(width=8))
    gan.generate({"z": np.zeros((30, 2), np.float32)}, batch_size=7)
    assert capsys.readouterr().err == ""
