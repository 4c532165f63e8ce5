"""The reader of the user's own points (ppsci_ext/data/points.py), the standardisation, and the generator's buffers."""

import numpy as np
import pytest

from conftest import write_bad_point_files
from ppsci_ext.data import point_statistics, read_points, read_points_with_names, standardize, unstandardize
from ppsci_ext.errors import UserError


def _write(path, content):
    path.write_text(content, encoding="utf-8")
    return str(path)


# --------------------------------------------------------------------------------------------- good files
def test_csv_with_header_comments_quotes_blank_lines_and_crlf(tmp_path):
    path = _write(tmp_path / "p.csv", '# measured\r\n"height", weight # kg\r\n\r\n1.5, 2\r\n"3",4e1 # note\r\n-5,6\r\n')
    points, names = read_points_with_names(path)
    assert names == ["height", "weight"]
    assert points.dtype == np.float32 and points.tolist() == [[1.5, 2.0], [3.0, 40.0], [-5.0, 6.0]]


def test_csv_without_header_and_of_one_column(tmp_path):
    points, names = read_points_with_names(_write(tmp_path / "p.csv", "1\n2\n3\n"))
    assert names is None and points.shape == (3, 1)
    assert read_points(_write(tmp_path / "q.csv", "v\n1\n2\n")).tolist() == [[1.0], [2.0]]


def test_both_csv_parsers_agree(tmp_path):
    # a well-formed file goes through NumPy's parser; one with a problem through the careful one: same rules
    from ppsci_ext.data.points import _slow_csv

    text = "a,b\n1,2\n\n 3 , 4 # c\n\"5\",6\n"
    fast = read_points(_write(tmp_path / "p.csv", text))
    slow, names, _ = _slow_csv(text, "p.csv")
    assert names == ["a", "b"] and np.array_equal(fast, slow.astype(np.float32))
    with pytest.raises(UserError, match="'1_000', not a number"):
        read_points(_write(tmp_path / "u.csv", "1_000,2\n3,4\n"))


def test_npy_and_npz(tmp_path):
    x = np.random.default_rng(0).standard_normal((20, 3))
    np.save(tmp_path / "a.npy", x)
    np.save(tmp_path / "one_d.npy", np.arange(5))
    np.savez(tmp_path / "one.npz", anything=x)
    np.savez_compressed(tmp_path / "named.npz", points=x, labels=np.arange(20))
    np.savez(tmp_path / "x.npz", x=x, other=np.ones(3))
    assert np.array_equal(read_points(tmp_path / "a.npy"), x.astype(np.float32))
    assert read_points(tmp_path / "one_d.npy").shape == (5, 1)  # N points of D = 1
    for name in ("one.npz", "named.npz", "x.npz"):
        assert np.array_equal(read_points(str(tmp_path / name)), x.astype(np.float32)), name


def test_extension_case_and_home_are_accepted(tmp_path, monkeypatch):
    np.save(tmp_path / "p.npy", np.ones((3, 2)))
    (tmp_path / "p.npy").rename(tmp_path / "P.NPY")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert read_points("~/P.NPY").shape == (3, 2)


# ---------------------------------------------------------------------------------------------- bad files
def _bad_files(tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    return write_bad_point_files(folder)


def test_every_bad_file_ends_in_one_line_naming_the_problem(tmp_path):
    cases = _bad_files(tmp_path)
    assert len(cases) >= 25
    for kind, path, phrases in cases:
        with pytest.raises(UserError) as info:
            read_points(path)
        message = str(info.value)
        assert "\n" not in message and str(path) in message, (kind, message)
        for phrase in phrases:
            assert phrase in message, (kind, phrase, message)


def test_too_large_for_float32(tmp_path):
    np.save(tmp_path / "big.npy", np.array([[1e39, 1.0], [1.0, 1.0]]))
    with pytest.raises(UserError, match="1 value beyond the float32 range"):
        read_points(tmp_path / "big.npy")


def test_a_pickled_file_runs_nothing(tmp_path):
    import os
    import pickle

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'ran'}",))

    for name in ("evil.npy", "evil.npz", "evil.csv"):
        (tmp_path / name).write_bytes(pickle.dumps(Payload()))
        with pytest.raises(UserError):
            read_points(tmp_path / name)
    assert not (tmp_path / "ran").exists()


# ---------------------------------------------------------------------------------------------- statistics
def test_statistics_and_the_exact_round_trip():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((1000, 3)) * [5.0, 0.01, 1e4] + [100.0, -3.0, 0.0]).astype(np.float32)
    x[:, 1] = 2.5  # a constant dimension
    mean, std, constant = point_statistics(x)
    assert constant == [1] and std[1] == 1.0 and mean[1] == 2.5
    assert mean.dtype == std.dtype == np.float32
    z = standardize(x, mean, std)
    assert np.allclose(z.mean(0), 0, atol=1e-5) and np.allclose(z.std(0), [1, 0, 1], atol=1e-5)
    np.testing.assert_allclose(unstandardize(z, mean, std), x, rtol=1e-6, atol=1e-6 * np.abs(x).max())


def test_generator_carries_the_statistics_and_maps_back():
    import paddle

    from ppsci_ext.arch import ToyCritic, ToyGenerator

    mean, std = np.array([100.0, -2.0, 7.0], np.float32), np.array([5.0, 0.5, 1.0], np.float32)
    gen = ToyGenerator(width=8, out_dim=3, data_mean=mean, data_std=std)
    state = gen.state_dict()
    assert np.array_equal(state["data_mean"].numpy(), mean) and np.array_equal(state["data_std"].numpy(), std)
    assert not any(p.name == state["data_mean"].name for p in gen.parameters())  # a buffer, not trained
    assert [k for k in state if k.startswith("net.")] == list(ToyGenerator(width=8).state_dict())  # same keys as before
    x = np.random.default_rng(0).standard_normal((50, 3)).astype(np.float32) * std + mean
    np.testing.assert_allclose(gen.to_data(gen.from_data(x)), x, rtol=1e-6)
    np.testing.assert_allclose(gen.to_data(np.zeros((1, 3), np.float32)), mean[None])
    out = gen({"z": paddle.randn([4, 2])})["x"]
    assert out.shape == [4, 3] and gen.to_data(out).shape == (4, 3)
    assert ToyCritic(width=8, in_dim=3)({"x": paddle.randn([4, 3])})["score"].shape == [4, 1]
    plain = ToyGenerator(width=8)
    assert not plain.standardized and plain.statistics() is None
    assert np.array_equal(plain.to_data(x[:, :2]), x[:, :2])  # the identity without statistics


def test_shipped_toy_weights_still_load():
    from ppsci_ext.arch import ToyCritic, ToyGenerator
    from ppsci_ext.experiment.toy import ToyExperiment
    from ppsci_ext.io.weights import load_checked, load_file
    from ppsci_ext.pretrained import shipped_weights

    for mode in ("8gaussians", "25gaussians", "swissroll"):
        gen_path, dis_path = shipped_weights("toy", mode)
        state = load_file(gen_path)
        load_checked(ToyGenerator(), state, "generator", gen_path)
        load_checked(ToyCritic(), load_file(dis_path), "critic", dis_path)
        found = ToyExperiment.infer_model(None, state)
        assert found == {"noise_dim": 2, "width": 512, "hidden_layers": 3, "data_dim": 2, "standardized": False}
