import numpy as np
import pytest

from ppsci_ext.data.sampler import ArrayBatchSampler


def _batches(sampler, n):
    return [sampler.next()[0]["x"].numpy()[:, 0].tolist() for _ in range(n)]


def test_each_epoch_is_a_permutation_without_partial_batches():
    sampler = ArrayBatchSampler({"x": np.arange(10, dtype="float32")[:, None]}, batch_size=3, seed=1)
    first = sum(_batches(sampler, 3), [])
    assert len(set(first)) == 9  # 3 full batches, the 10th sample waits for the next permutation
    second = sum(_batches(sampler, 3), [])
    assert len(set(second)) == 9 and first != second


def test_labels_follow_their_samples():
    x = np.arange(20, dtype="float32")[:, None]
    sampler = ArrayBatchSampler({"x": x}, {"y": np.arange(20, dtype="int64") * 10}, batch_size=5)
    inputs, labels = sampler.next()
    np.testing.assert_array_equal(labels["y"].numpy(), inputs["x"].numpy()[:, 0].astype("int64") * 10)


def test_state_round_trip_gives_the_same_batches():
    data = {"x": np.random.default_rng(0).standard_normal((50, 2)).astype("float32")}
    a = ArrayBatchSampler(data, batch_size=8, seed=3)
    _batches(a, 9)  # cross a permutation boundary
    state = a.state_dict()
    expected = _batches(a, 12)
    b = ArrayBatchSampler(data, batch_size=8, seed=99)
    b.set_state_dict(state)
    assert _batches(b, 12) == expected
    with pytest.raises(ValueError, match="for 50 samples"):
        ArrayBatchSampler({"x": data["x"][:10]}, batch_size=2).set_state_dict(state)
    with pytest.raises(ValueError):
        ArrayBatchSampler(data, batch_size=51)


def test_ranks_split_the_global_batches_of_one_process():
    """K ranks with batch B see together exactly the batches of one process with batch K*B."""
    data = {"x": np.arange(40, dtype="float32")[:, None]}
    single = _batches(ArrayBatchSampler(data, batch_size=6, seed=5), 14)  # crosses permutation boundaries
    ranks = [_batches(ArrayBatchSampler(data, batch_size=3, seed=5, rank=r, world_size=2), 14) for r in (0, 1)]
    assert [a + b for a, b in zip(*ranks)] == single
    with pytest.raises(ValueError, match="processes"):
        ArrayBatchSampler(data, batch_size=30, rank=0, world_size=2)
