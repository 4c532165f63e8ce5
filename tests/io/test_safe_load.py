"""Weights and checkpoints are unpickled by the restricted unpickler: a tampered file runs nothing."""

import os
import pickle

import paddle
import pytest

from ppsci_ext.arch import MNISTGenerator
from ppsci_ext.errors import UserError
from ppsci_ext.io.weights import load_file


class _Payload:
    """Unpickling this would create a file (a stand-in for any code a file could run)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.makedirs, (self.marker,))


def test_tampered_weights_file_is_refused_before_running_anything(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "gen.pdparams"
    state = {k: v.numpy() for k, v in MNISTGenerator(dim=4).state_dict().items()}
    state["fc.weight"] = (state["fc.weight"], _Payload(str(marker)))
    path.write_bytes(pickle.dumps(state, protocol=4))
    with pytest.raises(UserError, match="refusing to load .*os.makedirs"):
        load_file(str(path))
    assert not marker.exists()


def test_checkpoint_with_random_state_and_ordered_dicts_loads(tmp_path):
    path = str(tmp_path / "ok.pdckpt")
    net = MNISTGenerator(dim=4)
    paddle.save({"net": net.state_dict(), "rng": paddle.get_rng_state(), "step": 3}, path)
    loaded = load_file(path)
    assert loaded["step"] == 3 and len(loaded["rng"]) == len(paddle.get_rng_state())
    assert (loaded["net"]["fc.weight"].numpy() == net.state_dict()["fc.weight"].numpy()).all()
    paddle.set_rng_state(loaded["rng"])
