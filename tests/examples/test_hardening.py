"""Inputs a careless or hostile user can give, swept systematically: every config key with a value of the
wrong type, out of range and NaN/inf; every file slot with a missing, empty, truncated, random, malicious
file, a folder, or a path below a regular file; Hydra's own errors; reuse of a finished run's folder; a
generator that outputs NaN. Each ends in one message, never a traceback, and finished checkpoints stay
byte-identical."""

import hashlib
import os
import pickle

import numpy as np
import paddle
import pytest

from conftest import EXAMPLES, run_example
from ppsci_ext.errors import UserError
from ppsci_ext.experiment import CIFAR10Experiment, ImagesExperiment, MNISTExperiment, ToyExperiment
from ppsci_ext.experiment.base import COMMON_KEYS

EXPERIMENTS = {"toy": ToyExperiment, "mnist": MNISTExperiment, "cifar10": CIFAR10Experiment,
               "images": ImagesExperiment}
SMALL = ["MODEL.width=16", "DATA.num_train_samples=4000", "DATA.num_eval_samples=400", "VIS.num_points=200",
         "TRAIN.batch_size=64", "TRAIN.n_critic=2", "TRAIN.iters_per_epoch=3", "TRAIN.eval_freq=1", "log_freq=1",
         "EVAL.batch_size=200"]


def compose(name, tmp_path, *overrides):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    with initialize_config_dir(config_dir=os.path.join(EXAMPLES, "conf"), version_base=None):
        return hydra_compose(config_name=f"wgangp_{name}.yaml", overrides=[f"output_dir={tmp_path}", *overrides],
                             return_hydra_config=True)


def bad_values(key):
    """(value as typed on the command line, why it is bad) for one declared key."""
    if key.kind is bool:
        return [("maybe", "a string"), ("2", "a number")]
    if key.kind is list:
        return [("fid", "not a list"), ("[no_such_metric]", "an unknown item")]
    if key.kind is str:
        if key.choices:
            return [("no_such_choice", "not a choice"), ("5", "a number")]
        return [("5", "a number"), ("[a,b]", "a list")]
    values = [("abc", "a string"), ("[1,2]", "a list"), ("nan", "NaN"), ("inf", "infinity")]
    if key.kind is int:
        values.append(("1.5", "not whole"))
    if key.low is not None:
        values.append((str(key.low - 1 if key.kind is int else key.low - 0.5) if not key.low_open else str(key.low),
                       "below the range"))
    if key.high is not None:
        values.append((str(key.high + 1) if not key.high_open else str(key.high), "above the range"))
    return values


SWEEP = [(name, key.path, value, why) for name, cls in EXPERIMENTS.items() for key in COMMON_KEYS + list(cls.keys)
         if key.path != "output_dir" for value, why in bad_values(key)]


@pytest.mark.parametrize("name,path,value,why", SWEEP, ids=[f"{n}-{p}={v}" for n, p, v, _ in SWEEP])
def test_every_key_refuses_bad_values(tmp_path, name, path, value, why):
    cfg = compose(name, tmp_path, f"{path}={value}")
    with pytest.raises(UserError) as info:
        EXPERIMENTS[name](cfg)
    message = str(info.value)
    assert message.startswith(f"{path}=") and "is not allowed" in message and "\n" not in message, (why, message)


def test_the_sweep_covers_every_key_the_yaml_files_hold(tmp_path):
    from omegaconf import OmegaConf

    from ppsci_ext.solver.state import flatten

    for name, cls in EXPERIMENTS.items():
        # the images example has no default data: give it a folder (the defaults are checked before reading it)
        cfg = compose(name, tmp_path, *([f"DATA.data_path={tmp_path}"] if name == "images" else []))
        declared = {k.path for k in COMMON_KEYS + list(cls.keys)}
        own = OmegaConf.load(os.path.join(EXAMPLES, "conf", f"wgangp_{name}.yaml"))
        keys = flatten(OmegaConf.to_container(OmegaConf.masked_copy(own, [k for k in own if k not in
                                                                               ("defaults", "hydra")])))
        assert set(keys) <= declared, (name, sorted(set(keys) - declared))
        cls(cfg)  # and the defaults themselves pass


# ----------------------------------------------------------------- Hydra's own errors, in one line
def one_error(proc):
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip() and "OMP_NUM_THREADS" not in line
             and "USE OMP_NUM_THREADS WISELY" not in line]
    assert len(lines) == 1 and lines[0].startswith("ERROR: "), proc.stderr
    return lines[0]


@pytest.mark.parametrize("override,phrase", [
    ("TRAIN.nonexistent=1", "Could not override 'TRAIN.nonexistent'"),
    ("+TRAIN.foo=1", "TRAIN.foo is not a key of this run"),
    ("TRAIN.batch_size=[", "cannot parse the override 'TRAIN.batch_size=['"),
    ("VIS.rows=3", "Could not override 'VIS.rows'"),
])
def test_hydra_errors_end_in_one_line(tmp_path, override, phrase):
    line = one_error(run_example("wgangp_toy.py", f"output_dir={tmp_path / 'out'}", override, cwd=str(tmp_path)))
    assert phrase in line, line


def test_output_dir_below_a_regular_file(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    line = one_error(run_example("wgangp_toy.py", f"output_dir={tmp_path / 'file' / 'out'}", *SMALL,
                                 cwd=str(tmp_path)))
    assert "could not create the output folder" in line and "Not a directory" in line


# --------------------------------------------------------------------- reuse of an output folder
def _digests(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_a_new_run_never_replaces_a_finished_one(tmp_path):
    out = tmp_path / "run"
    assert run_example("wgangp_toy.py", f"output_dir={out}", "TRAIN.epochs=1", *SMALL, cwd=str(tmp_path)).returncode == 0
    before = _digests(out / "checkpoints")
    line = one_error(run_example("wgangp_toy.py", f"output_dir={out}", "TRAIN.epochs=1", *SMALL, cwd=str(tmp_path)))
    for phrase in ["holds the files of another run", f"TRAIN.checkpoint_path={out / 'checkpoints' / 'latest.pdckpt'}",
                   "TRAIN.overwrite=true"]:
        assert phrase in line, line
    assert _digests(out / "checkpoints") == before
    # continuing that run in its own folder is allowed, and so is replacing it when asked for
    proc = run_example("wgangp_toy.py", f"output_dir={out}", "TRAIN.epochs=2", *SMALL,
                       f"TRAIN.checkpoint_path={out / 'checkpoints' / 'latest.pdckpt'}", cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    proc = run_example("wgangp_toy.py", f"output_dir={out}", "TRAIN.epochs=1", "TRAIN.overwrite=true", *SMALL,
                       cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]


# ------------------------------------------------------------------------------ every file slot
def _files(tmp_path):
    """Bad files of every kind a user can give, by name."""
    (tmp_path / "empty.pdparams").write_bytes(b"")
    (tmp_path / "random.pdparams").write_bytes(os.urandom(4096))
    (tmp_path / "folder").mkdir()
    (tmp_path / "a_file").write_text("x")

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'ran'}",))

    (tmp_path / "malicious.pdparams").write_bytes(pickle.dumps({"net.0.weight": Payload()}))
    good = tmp_path / "good.pdparams"
    paddle.save({"w": paddle.zeros([64, 64])}, str(good))
    (tmp_path / "truncated.pdparams").write_bytes(good.read_bytes()[:300])
    return {
        "missing": tmp_path / "missing.pdparams",
        "a folder": tmp_path / "folder",
        "empty": tmp_path / "empty.pdparams",
        "truncated": tmp_path / "truncated.pdparams",
        "random bytes": tmp_path / "random.pdparams",
        "malicious pickle": tmp_path / "malicious.pdparams",
        "below a regular file": tmp_path / "a_file" / "w.pdparams",
    }


FILE_SLOTS = [
    ("images", "mode=train", "DATA.data_path"),
    ("images", "mode=eval", "EVAL.pretrained_gen_model_path"),
    ("toy", "mode=train", "DATA.data_path"),
    ("toy", "mode=eval", "EVAL.pretrained_gen_model_path"),
    ("toy", "mode=eval", "EVAL.pretrained_dis_model_path"),
    ("toy", "mode=train", "TRAIN.checkpoint_path"),
    ("mnist", "mode=eval", "EVAL.pretrained_gen_model_path"),
    ("mnist", "mode=eval", "EVAL.classifier_path"),
    ("mnist", "mode=eval", "DATA.data_path"),
    ("mnist", "mode=eval", "EVAL.inception_weights_path"),
    ("cifar10", "mode=train", "DATA.data_path"),
    ("cifar10", "mode=train", "EVAL.inception_weights_path"),
    ("cifar10", "mode=train", "TRAIN.checkpoint_path"),
    ("cifar10", "mode=eval", "EVAL.pretrained_gen_model_path"),
]


@pytest.mark.parametrize("name,mode,slot", FILE_SLOTS, ids=[f"{n}-{s}" for n, _, s in FILE_SLOTS])
def test_every_file_slot_refuses_bad_files(tmp_path, name, mode, slot):
    files = _files(tmp_path)
    extra = []
    if name == "cifar10" and slot == "EVAL.inception_weights_path":  # read after the data: give real data
        from cifar10_fixtures import make_members, write_archive

        extra = [f"DATA.data_path={write_archive(tmp_path / 'cifar.tar.gz', make_members())}", "TRAIN.batch_size=8",
                 "MODEL.dim=8"]
    if name == "toy" and slot == "DATA.data_path":
        extra = ["DATA.mode=file"]
    if name == "images":  # no Inception metrics: the slot under test is read first
        extra = ["EVAL.inception_weights_path=null", f"DATA.cache_dir={tmp_path / 'cache'}"]
    for kind, path in files.items():
        cfg = compose(name, tmp_path / "out", mode, f"{slot}={path}", "TRAIN.epochs=1", "TRAIN.iters_per_epoch=1",
                      *extra)
        with pytest.raises(UserError) as info:
            experiment = EXPERIMENTS[name](cfg)
            experiment.evaluate() if mode == "mode=eval" else experiment.train()
        message = str(info.value)
        assert "\n" not in message and str(path) in message, (kind, message)
    assert not (tmp_path / "ran").exists()


def test_every_bad_point_file_ends_in_one_message(tmp_path):
    """DATA.mode=file: each problem of tests/conftest.py's point files, in train and eval, prefixed by the key."""
    from conftest import write_bad_point_files
    from ppsci_ext.arch import ToyGenerator

    folder = tmp_path / "files"
    folder.mkdir()
    gen = tmp_path / "gen.pdparams"  # a generator of a file run (D = 2), for mode=eval
    paddle.save(ToyGenerator(width=4, data_mean=np.zeros(2), data_std=np.ones(2)).state_dict(), str(gen))
    for kind, path, phrases in write_bad_point_files(folder):
        for mode in ("mode=train", "mode=eval"):
            cfg = compose("toy", tmp_path / "out", mode, "DATA.mode=file", f"DATA.data_path={path}", "MODEL.width=4",
                          f"EVAL.pretrained_gen_model_path={gen}", "TRAIN.epochs=1", "TRAIN.iters_per_epoch=1")
            with pytest.raises(UserError) as info:
                experiment = ToyExperiment(cfg)
                experiment.evaluate() if mode == "mode=eval" else experiment.train()
            message = str(info.value)
            assert message.startswith(f"DATA.data_path={path}: ") and "\n" not in message, (kind, mode, message)
            assert all(phrase in message for phrase in phrases), (kind, mode, phrases, message)
    assert not (tmp_path / "out" / "checkpoints").exists()


@pytest.mark.parametrize("tool", ["score --input1", "score --input2", "score --weights", "convert source"])
def test_the_command_line_tools_refuse_bad_files(tmp_path, tool):
    from ppsci_ext.cli.score import score
    from ppsci_ext.metric.inception.convert import convert

    images = tmp_path / "images.npz"
    np.savez(images, images=np.zeros((4, 8, 8, 3), np.uint8))
    for kind, path in _files(tmp_path).items():
        with pytest.raises(UserError) as info:
            if tool == "score --input1":
                score(str(path), None, str(path), isc=True)
            elif tool == "score --input2":
                score(str(images), str(path), str(path), fid=True)
            elif tool == "score --weights":
                score(str(images), None, str(path), isc=True)
            else:
                convert(str(path), str(tmp_path / "out.pdparams"))
        message = str(info.value)
        assert "\n" not in message and str(path) in message, (kind, message)
    assert not (tmp_path / "ran").exists() and not (tmp_path / "out.pdparams").exists()


# ------------------------------------------------------------------------- a diverged generator
@pytest.mark.parametrize("value,expected", [
    # NaN in the file: refused as the weights are loaded, naming the first bad tensor
    (float("nan"), "nan_gen.pdparams: its generator weights hold NaN or Inf (in net.0.weight and 7 more): the run had "
                   "diverged when they were written. Give an earlier checkpoint of that run."),
    # finite weights whose points overflow float32: refused when the points are drawn
    (1e30, "the generated points: 200 of 200 values are NaN or infinite"),
])
def test_a_diverged_generator_is_a_clear_error(tmp_path, value, expected):
    from ppsci_ext.arch import ToyGenerator

    gen = ToyGenerator(width=8)
    path = tmp_path / "nan_gen.pdparams"
    paddle.save({k: paddle.full(v.shape, value) for k, v in gen.state_dict().items()}, str(path))
    line = one_error(run_example("wgangp_toy.py", "mode=eval", f"output_dir={tmp_path / 'eval'}",
                                 f"EVAL.pretrained_gen_model_path={path}", "DATA.num_eval_samples=100",
                                 "VIS.num_points=100", cwd=str(tmp_path)))
    assert expected in line, line
    assert not (tmp_path / "eval" / "metrics.json").exists()


def test_tampered_checkpoints_for_eval_are_clear_errors(tmp_path):
    from ppsci_ext.io import atomic_save, load_file

    out = tmp_path / "run"
    assert run_example("wgangp_toy.py", f"output_dir={out}", "TRAIN.epochs=1", *SMALL, cwd=str(tmp_path)).returncode == 0
    good = load_file(str(out / "checkpoints" / "latest.pdckpt"))
    tampered = {
        "no generator": {k: v for k, v in good.items() if k not in ("generator", "generator_ema")},
        "config not YAML": {**good, "config": "a: [b"},
        "NaN generator": {**good, "generator": {k: paddle.full(v.shape, float("nan")) for k, v in good["generator"].items()}},
    }
    for kind, state in tampered.items():
        path = tmp_path / f"{kind.replace(' ', '_')}.pdckpt"
        atomic_save(state, str(path))
        cfg = compose("toy", tmp_path / "eval", "mode=eval", f"EVAL.pretrained_gen_model_path={path}",
                      "DATA.num_eval_samples=100", "VIS.num_points=100")
        with pytest.raises(UserError) as info:
            ToyExperiment(cfg).evaluate()
        assert "\n" not in str(info.value) and (str(path) in str(info.value) or "NaN" in str(info.value)), str(info.value)


def test_a_cifar10_checkpoint_without_networks_is_a_user_error(tmp_path):
    from ppsci_ext.io import atomic_save
    from ppsci_ext.io.weights import CHECKPOINT_FORMAT

    path = tmp_path / "hollow.pdckpt"
    atomic_save({"format": CHECKPOINT_FORMAT, "experiment": "cifar10"}, str(path))
    cfg = compose("cifar10", tmp_path / "out", f"TRAIN.checkpoint_path={path}")
    with pytest.raises(UserError) as info:  # the variant check reads no missing field
        CIFAR10Experiment(cfg).train()
    assert "\n" not in str(info.value)


# ------------------------------------------------------------------------- bad images for the score command
@pytest.fixture(scope="module")
def random_inception(tmp_path_factory):
    from ppsci_ext.metric.inception import InceptionV3FID

    paddle.seed(0)
    path = tmp_path_factory.mktemp("inception") / "RANDOM_inception.pdparams"
    paddle.save(InceptionV3FID(with_logits=True).state_dict(), str(path))
    return str(path)


def _bad_image_inputs(root):
    from PIL import Image

    cases = {}
    (root / "text_only").mkdir()
    (root / "text_only" / "notes.txt").write_text("not an image")
    cases["text_only"] = (root / "text_only", "has no .png/.jpg/.jpeg/.bmp images; it holds 1 other entries")
    (root / "empty").mkdir()
    cases["empty"] = (root / "empty", "it is empty")
    (root / "corrupt").mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(root / "corrupt" / "a.png")
    (root / "corrupt" / "b.png").write_bytes(b"\x89PNG\r\n\x1a\nthis is no PNG")
    cases["corrupt"] = (root / "corrupt", "b.png' (not an image: Pillow cannot identify its format)")
    cases["one image"] = (root / "corrupt" / "a.png", "is one image file; give the folder")
    (root / "mixed").mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(root / "mixed" / "a.png")
    Image.fromarray(np.zeros((9, 8, 3), np.uint8)).save(root / "mixed" / "b.png")
    cases["mixed"] = (root / "mixed", "a.png is 8x8 but b.png is 8x9")
    np.savez(root / "float.npz", images=np.zeros((4, 8, 8, 3), np.float32))
    cases["float"] = (root / "float.npz", "is float32; store the images as uint8")
    np.savez(root / "shape.npz", images=np.zeros((4, 8), np.uint8))
    cases["shape"] = (root / "shape.npz", "expected images [N, H, W, 3]")
    np.savez(root / "two.npz", a=np.zeros((4, 8, 8, 3), np.uint8), b=np.zeros((4, 8, 8, 3), np.uint8))
    cases["two arrays"] = (root / "two.npz", "choose the images with --key NAME")
    return cases


@pytest.mark.parametrize("side", ["input1", "input2"])
def test_bad_images_for_the_score_command_are_one_line(tmp_path, random_inception, side):
    from ppsci_ext.cli.score import score

    good = tmp_path / "good.npz"
    np.savez(good, images=np.random.default_rng(0).integers(0, 256, (6, 8, 8, 3), dtype=np.uint8))
    for kind, (path, phrase) in _bad_image_inputs(tmp_path).items():
        with pytest.raises(UserError) as info:
            if side == "input1":
                score(str(path), None, random_inception, isc=True, is_splits=1)
            else:
                score(str(good), str(path), random_inception, kid=True, kid_subsets=2, kid_subset_size=3)
        message = str(info.value)
        assert "\n" not in message and phrase in message and str(path) in message, (kind, message)
    with pytest.raises(UserError, match="N >= 2"):  # FID of a single image
        one = tmp_path / "one.npz"
        np.savez(one, images=np.zeros((1, 8, 8, 3), np.uint8))
        score(str(one), str(good), random_inception, fid=True)
