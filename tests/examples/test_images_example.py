"""wgangp_images.py end to end on small folders the tests write: 32x32 AC-GAN with KID / precision-recall
against the user's images, 64x64 grayscale, eval reading the architecture from the weights, export, and every
bad input named by the issue ending in one message."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from conftest import run_example
from test_hardening import one_error

TINY = ["TRAIN.batch_size=4", "TRAIN.generator_batch_size=8", "TRAIN.n_critic=2", "TRAIN.epochs=1",
        "TRAIN.iters_per_epoch=2", "log_freq=1", "EVAL.batch_size=8"]
SCORED = ["EVAL.metrics=[kid]", "TRAIN.monitor=kid_mean", "EVAL.num_samples_train=8", "EVAL.num_samples=8",
          "EVAL.kid_subset_size=4", "EVAL.kid_subsets=5", "EVAL.inception_batch_size=8"]


def write_classes(root, names=("circle", "square", "stripes"), per_class=4, mode="RGB", size=(40, 30)):
    rng = np.random.default_rng(0)
    for name in names:
        os.makedirs(os.path.join(root, name), exist_ok=True)
        for i in range(per_class):
            shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
            Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(
                os.path.join(root, name, f"{i}.png"))
    return str(root)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from cifar10_fixtures import _inception_weights

    root = tmp_path_factory.mktemp("images_e2e")
    weights, label = _inception_weights(tmp_path_factory)
    old = os.environ.get("PPSCI_EXT_CACHE")
    os.environ["PPSCI_EXT_CACHE"] = str(root / "cache")  # decoded images and statistics of this test only
    yield {"root": root, "data": write_classes(root / "data"), "weights": weights, "label": label,
           "cache": str(root / "cache")}
    if old is None:
        del os.environ["PPSCI_EXT_CACHE"]
    else:
        os.environ["PPSCI_EXT_CACHE"] = old


def _run(setup, out, *overrides):
    return run_example("wgangp_images.py", f"output_dir={out}", *TINY, *overrides, cwd=str(setup["root"]))


@pytest.fixture(scope="module")
def conditional(setup):
    out = setup["root"] / "cond"
    proc = _run(setup, out, f"DATA.data_path={setup['data']}", "MODEL.conditional=true", "MODEL.dim=8",
                f"EVAL.inception_weights_path={setup['weights']}", *SCORED, "TRAIN.eval_prdc=true")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out, proc


def test_conditional_training_on_class_folders(conditional, setup):
    out, proc = conditional
    print(f"Inception weights: {setup['label']}")
    assert "12 images 32x32x3, 3 classes" in proc.stderr + proc.stdout
    assert "Sample grid rows, top to bottom: circle, square, stripes" in proc.stderr + proc.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"inception.kid_mean", "inception.precision", "inception.recall"} <= set(metrics["metrics"])
    assert metrics["data_sets"][setup["data"]]["images"] == 12
    grid = Image.open(out / "samples_epoch_1.png")
    assert grid.height == 3 * (32 + 1) * 2 + 2  # one row per class (2x scale, 1-pixel padding)
    # the statistics of the user's images are cached under their digest
    digest = metrics["data_sets"][setup["data"]]["digest"][:16]
    assert [n for n in os.listdir(os.path.join(setup["cache"], "inception_stats"))
            if n.startswith(f"images-{digest}-r32c3-")]
    assert [n for n in os.listdir(os.path.join(setup["cache"], "images")) if n.startswith(digest)]


def test_eval_reads_the_architecture_from_the_weights_and_exports(conditional, setup):
    out, _ = conditional
    ev = setup["root"] / "cond_eval"
    proc = _run(setup, ev, "mode=eval", f"DATA.data_path={setup['data']}",
                f"EVAL.pretrained_gen_model_path={out / 'checkpoints' / 'latest_gen.pdparams'}",
                "EVAL.inception_weights_path=null", "EVAL.export_samples=6", "EVAL.export_format=npz")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads((ev / "metrics.json").read_text())
    assert result["model"]["num_classes"] == 3 and result["model"]["dim"] == 8 and result["model"]["conditional"]
    with np.load(result["exported"]) as z:
        assert z["images"].shape == (6, 32, 32, 3) and z["images"].dtype == np.uint8 and z["labels"].max() < 3
    assert (ev / "interpolation.png").is_file() and (ev / "samples_eval.png").is_file()
    # the same weights without the data: sampling needs no images, rows are named by number
    bare = setup["root"] / "cond_bare"
    proc = _run(setup, bare, "mode=eval", f"EVAL.pretrained_gen_model_path={out / 'checkpoints' / 'latest.pdckpt'}",
                "EVAL.inception_weights_path=null")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Sample grid rows, top to bottom: 0, 1, 2" in proc.stderr + proc.stdout


def test_64x64_grayscale_from_an_npz(setup):
    images = np.random.default_rng(0).integers(0, 256, (10, 70, 70), dtype=np.uint8)
    np.savez(setup["root"] / "gray.npz", images=images)
    out = setup["root"] / "r64"
    proc = _run(setup, out, f"DATA.data_path={setup['root'] / 'gray.npz'}", "DATA.resolution=64", "MODEL.dim=4",
                "EVAL.inception_weights_path=null")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "10 images 64x64x1" in proc.stderr + proc.stdout
    grid = Image.open(out / "samples_epoch_1.png")
    assert grid.mode == "L" and grid.width == 10 * (64 + 1) * 2 + 2
    ev = setup["root"] / "r64_eval"
    # without DATA.resolution=64: the weights say 64, and the reference images are read at that size
    proc = _run(setup, ev, "mode=eval", f"EVAL.pretrained_gen_model_path={out / 'checkpoints' / 'latest_gen.pdparams'}",
                f"DATA.data_path={setup['root'] / 'gray.npz'}", f"EVAL.inception_weights_path={setup['weights']}",
                *SCORED, "EVAL.export_samples=3")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = proc.stdout + proc.stderr
    assert "10 images 64x64x1" in text and "32x32" not in text
    model = json.loads((ev / "metrics.json").read_text())["model"]
    assert model["resolution"] == 64 and model["channels"] == 1 and model["critic_norm"] == "layer"
    assert len(os.listdir(ev / "samples")) == 3


def test_the_second_run_reads_the_decoded_cache(setup, conditional):
    out = setup["root"] / "again"
    proc = _run(setup, out, f"DATA.data_path={setup['data']}", "MODEL.dim=4", "EVAL.inception_weights_path=null")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = proc.stderr + proc.stdout
    assert f"(cache {os.path.join(setup['cache'], 'images')}" in text and "decoding the images" not in text


# ---------------------------------------------------------------------------------- bad input, one line each
def _bad_inputs(tmp_path):
    (tmp_path / "empty").mkdir()
    few = write_classes(tmp_path / "few", names=("a",), per_class=3)
    single = write_classes(tmp_path / "single", names=("a", "b"), per_class=5)
    for i in range(1, 5):
        os.remove(os.path.join(single, "b", f"{i}.png"))
    mixed = write_classes(tmp_path / "mixed", names=("a",), per_class=5)
    Image.fromarray(np.zeros((30, 40), np.uint8), "L").save(os.path.join(mixed, "a", "9.png"))
    broken = write_classes(tmp_path / "broken", names=("a",), per_class=5)
    with open(os.path.join(broken, "a", "0.png"), "r+b") as f:
        f.truncate(100)
    return [
        ("empty folder", [f"DATA.data_path={tmp_path / 'empty'}"], ["holds no images", "it is empty"]),
        ("fewer images than a batch", [f"DATA.data_path={few}"], ["TRAIN.batch_size=4 exceeds the 3 training"]),
        ("class with one image", [f"DATA.data_path={single}", "MODEL.conditional=true"],
         ["the class b has a single image", "MODEL.conditional=false"]),
        ("mixed channels", [f"DATA.data_path={mixed}"], ["mixes channel counts", "9.png is grayscale"]),
        ("unreadable, stop", [f"DATA.data_path={broken}", "DATA.bad_images=stop"], ["cannot read the image",
                                                                                   "0.png"]),
        ("no data path", [], ["DATA.data_path is not set"]),
        ("one class, conditional", [f"DATA.data_path={few}", "MODEL.conditional=true", "TRAIN.batch_size=2"],
         ["needs images of at least 2 classes", "has one class"]),
    ]


def test_bad_input_ends_in_one_message(tmp_path):
    for what, overrides, phrases in _bad_inputs(tmp_path):
        out = tmp_path / "out" / what.replace(" ", "_").replace(",", "")
        line = one_error(run_example("wgangp_images.py", f"output_dir={out}", f"DATA.cache_dir={tmp_path / 'c'}",
                                     *TINY, "MODEL.dim=4", "EVAL.inception_weights_path=null", *overrides,
                                     cwd=str(tmp_path)))
        assert all(p in line for p in phrases), (what, line)


def test_unreadable_images_are_skipped_and_counted(tmp_path):
    broken = write_classes(tmp_path / "broken", names=("a",), per_class=5)
    (tmp_path / "broken" / "a" / "0.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    out = tmp_path / "out"
    proc = run_example("wgangp_images.py", f"output_dir={out}", f"DATA.data_path={broken}", "DATA.cache_dir=null",
                       *TINY, "MODEL.dim=4", "EVAL.inception_weights_path=null", cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = proc.stderr + proc.stdout
    assert "skipped 1 unreadable of 5 files (DATA.bad_images=skip)" in text and "0.png" in text
    assert json.loads((out / "metrics.json").read_text())["data_sets"][broken]["skipped"] == 1


def test_a_missing_reference_is_named(setup, conditional, tmp_path):
    line = one_error(_run(setup, tmp_path / "out", "mode=eval", f"DATA.data_path={setup['data']}",
                          f"EVAL.reference_path={tmp_path / 'missing.npz'}",
                          f"EVAL.inception_weights_path={setup['weights']}", *SCORED,
                          f"EVAL.pretrained_gen_model_path={setup['root'] / 'cond' / 'checkpoints' / 'latest.pdckpt'}"))
    assert line.startswith(f"ERROR: EVAL.reference_path={tmp_path / 'missing.npz'}") and "does not exist" in line


def test_a_small_folder_is_checked_before_the_first_step(setup, tmp_path):
    """20 images: the default KID subset (1,000) is lowered to the smaller set and reported; a subset the user
    set is refused before any training step (the run used to die at its first evaluation)."""
    data = write_classes(tmp_path / "twenty", names=("a", "b"), per_class=10)
    common = [f"DATA.data_path={data}", "MODEL.dim=8", f"EVAL.inception_weights_path={setup['weights']}",
              "EVAL.metrics=[kid]", "TRAIN.monitor=kid_mean", "EVAL.num_samples_train=30", "EVAL.kid_subsets=3",
              "EVAL.inception_batch_size=16"]
    refused = tmp_path / "refused"
    line = one_error(_run(setup, refused, *common, "EVAL.kid_subset_size=1000"))
    assert "EVAL.kid_subset_size=1000 exceeds the 20 real images" in line and "EVAL.kid_subset_size=20" in line
    assert not (refused / "checkpoints").exists()
    fewer = tmp_path / "fewer"
    line = one_error(_run(setup, fewer, *common, "EVAL.num_samples_train=3", "TRAIN.eval_prdc=true"))
    assert "density/coverage" in line and "EVAL.num_samples_train=3" in line
    out = tmp_path / "clamped"
    proc = _run(setup, out, *common)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads((out / "metrics.json").read_text())["kid_subset_size"] == 20
    assert "KID subsets of 20 (not 1000)" in (out / "train.log").read_text()
