"""ppsci-ext-score reads the image experiment's folder layouts, reports both inputs, and checks the data first (issue 23)."""

import json
import subprocess
import sys

import numpy as np
import paddle
import pytest
from PIL import Image

from ppsci_ext.cli import score as score_module
from ppsci_ext.errors import UserError


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory):
    """Inception weights of the right shapes (random values): the command runs end to end."""
    from ppsci_ext.metric.inception import InceptionV3FID

    paddle.seed(0)
    path = tmp_path_factory.mktemp("inception") / "random_inception.pdparams"
    paddle.save(InceptionV3FID(with_logits=False).state_dict(), str(path))
    return str(path)


def _pngs(folder, n, seed, size=8):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(folder / f"{i:02d}.png")


@pytest.fixture
def layouts(tmp_path):
    classes = tmp_path / "pngs"
    _pngs(classes / "animals", 4, 0)
    _pngs(classes / "plants", 3, 1)
    flat = tmp_path / "flat"
    _pngs(flat, 6, 2)
    return classes, flat


def test_class_sub_folders_are_read_recursively_in_path_order(layouts):
    classes, _ = layouts
    images = score_module.read_folder(str(classes))
    assert images.shape == (7, 8, 8, 3) and images.dtype == np.uint8
    first = np.asarray(Image.open(classes / "animals" / "00.png"))
    last = np.asarray(Image.open(classes / "plants" / "02.png"))
    np.testing.assert_array_equal(images[0], first)
    np.testing.assert_array_equal(images[-1], last)


def test_recursive_folders_of_two_sizes_are_refused(tmp_path):
    _pngs(tmp_path / "mixed" / "a", 2, 0, size=8)
    _pngs(tmp_path / "mixed" / "b", 2, 1, size=9)
    with pytest.raises(UserError, match=r"^a/00.png is 8x8 but b/00.png is 9x9 \(in '.*mixed'\); score images of "
                                        r"one size\.$"):
        score_module.read_folder(str(tmp_path / "mixed"))


def test_folders_without_images_keep_the_flat_message(tmp_path):
    (tmp_path / "only" / "sub").mkdir(parents=True)
    (tmp_path / "only" / "sub" / "notes.txt").write_text("x")
    with pytest.raises(UserError, match=r"has no .png/.jpg/.jpeg/.bmp images; it holds 1 other entries, e.g. 'sub'"):
        score_module.read_folder(str(tmp_path / "only"))


def test_score_command_classes_against_flat_reports_both_counts(layouts, random_weights):
    classes, flat = layouts
    proc = subprocess.run([sys.executable, "-m", "ppsci_ext.cli.score", "--input1", str(classes), "--input2",
                           str(flat), "--weights", random_weights, "--kid", "--kid-subsets", "2",
                           "--kid-subset-size", "5", "--prc", "--json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    assert figures["num_images"] == 7 and figures["num_images_input2"] == 6
    assert set(figures) == {"num_images", "num_images_input2", "kid_mean", "kid_std", "precision", "recall",
                            "density", "coverage"}


def test_kid_subset_above_both_inputs_exits_2_before_any_feature(layouts, random_weights):
    classes, flat = layouts
    proc = subprocess.run([sys.executable, "-m", "ppsci_ext.cli.score", "--input1", str(classes), "--input2",
                           str(flat), "--weights", random_weights, "--kid", "--kid-subset-size", "50"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        f"ERROR: --kid-subset-size 50 exceeds the 6 images of input2 {str(flat)!r}, the smaller set KID draws its "
        "subsets from; give --kid-subset-size 6 or fewer (or more images).")


@pytest.fixture
def no_network(monkeypatch):
    """Loading the network or extracting a feature fails the test: the checks must come first."""
    def fail(*args, **kwargs):
        raise AssertionError("the network was used before the data checks")

    monkeypatch.setattr(score_module, "load_inception", fail)
    monkeypatch.setattr(score_module, "inception_outputs", fail)


def test_data_checks_come_before_the_network(layouts, random_weights, no_network, tmp_path):
    classes, flat = layouts
    with pytest.raises(UserError, match=r"^--kid-subset-size 7 exceeds the 6 images of input2 "):
        score_module.score(str(classes), str(flat), random_weights, kid=True, kid_subset_size=7)
    with pytest.raises(UserError, match=r"^--kid-subset-size 8 exceeds the 7 images of input1 "):
        score_module.score(str(classes), str(classes), random_weights, kid=True, kid_subset_size=8)
    small = tmp_path / "small"
    _pngs(small, 5, 3)
    with pytest.raises(UserError, match=r"^--prc compares each point with its 5 nearest neighbours, so each input "
                                        r"needs more than 5 images, but input2 '.*small' has 5; give more images, "
                                        r"or drop --prc\.$"):
        score_module.score(str(classes), str(small), random_weights, prc=True)
    with pytest.raises(UserError, match=r"but input1 '.*small' has 5"):
        score_module.score(str(small), str(classes), random_weights, prc=True)
    one = tmp_path / "one"
    _pngs(one, 1, 4)
    with pytest.raises(UserError, match=r"^--fid needs N >= 2 images in input1 '.*one' \(it has 1\) for a "
                                        r"covariance; give more images\.$"):
        score_module.score(str(one), str(flat), random_weights, fid=True)
    with pytest.raises(UserError, match=r"^--fid needs N >= 2 images in input2 '.*one' \(it has 1\); give more"):
        score_module.score(str(flat), str(one), random_weights, fid=True)
    stats = tmp_path / "stats.npz"
    np.savez(stats, mu=np.zeros(2048), sigma=np.eye(2048), num_images=np.asarray(9))
    with pytest.raises(UserError, match=r"has no features for --kid \(only mu and sigma\); recompute it with "
                                        r"--save-stats, or drop --kid\.$"):
        score_module.score(str(flat), str(stats), random_weights, kid=True)
    with pytest.raises(UserError, match=r"has no features for --prc \(only mu and sigma\)"):
        score_module.score(str(flat), str(stats), random_weights, prc=True)


def test_kid_subset_against_statistics_features(layouts, random_weights, no_network, tmp_path):
    classes, _ = layouts
    stats = tmp_path / "stats.npz"
    np.savez(stats, mu=np.zeros(4), sigma=np.eye(4), features=np.zeros((3, 4), np.float16), num_images=np.asarray(9))
    with pytest.raises(UserError, match=r"^--kid-subset-size 4 exceeds the 3 features of input2 "):
        score_module.score(str(classes), str(stats), random_weights, kid=True, kid_subset_size=4)


def test_input2_count():
    assert score_module.input2_count({"images": np.zeros((3, 2, 2, 3))}) == 3
    assert score_module.input2_count({"mu": 0, "num_images": np.asarray(50000)}) == 50000
    assert score_module.input2_count({"mu": 0}) is None


def test_is_splits_checked_before_features(layouts, monkeypatch):
    classes, _ = layouts
    assert score_module.check_is_splits("x", 7, 7) is None
    with pytest.raises(UserError, match=r"^--is-splits 10 exceeds the 7 images of input1 'x'; give --is-splits "
                                        r"7 or fewer \(10 is the protocol's, with 50,000 images\)\.$"):
        score_module.check_is_splits("x", 7, 10)

    class Net:
        def require_logits(self):
            pass

    def fail(*args, **kwargs):
        raise AssertionError("features extracted before the --is-splits check")

    monkeypatch.setattr(score_module, "resolve_inception_weights", lambda w: w)
    monkeypatch.setattr(score_module, "load_inception", lambda w: Net())
    monkeypatch.setattr(score_module, "inception_outputs", fail)
    with pytest.raises(UserError, match=r"^--is-splits 10 exceeds the 7 images of input1 '.*pngs'"):
        score_module.score(str(classes), None, "w.pdparams", isc=True)
