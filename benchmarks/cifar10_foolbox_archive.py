"""Write a small archive in the exact ``cifar-10-python.tar.gz`` format from real CIFAR-10 pixels.

No copy of CIFAR-10 can be downloaded on the machines this package is built
on; the PyPI package foolbox 3.3.4 ships 20 real CIFAR-10 test images
(``foolbox/data/cifar10_<index>_<label>.png``). This script reads them from
the wheel (no install, nothing extracted) and writes them as
``data_batch_1..5`` (4 images each) and ``test_batch`` (all 20), pickled at
protocol 2 with bytes keys, for smoke runs of ``examples/wgangp/wgangp_cifar10.py``.

    pip download --no-deps foolbox==3.3.4 -d wheels/
    python benchmarks/cifar10_foolbox_archive.py wheels/foolbox-3.3.4-py3-none-any.whl foolbox_cifar10.tar.gz
"""

import argparse
import io
import pickle
import re
import tarfile
import zipfile

import numpy as np
from PIL import Image


def read_foolbox_images(wheel: str):
    """uint8 images [20, 3, 32, 32] and int64 labels of the CIFAR-10 PNGs in a foolbox wheel."""
    images, labels = [], []
    with zipfile.ZipFile(wheel) as z:
        for name in sorted(z.namelist()):
            match = re.fullmatch(r"foolbox/data/cifar10_(\d+)_(\d)\.png", name)
            if match:
                img = np.asarray(Image.open(io.BytesIO(z.read(name))).convert("RGB"), dtype=np.uint8)
                images.append(img.transpose(2, 0, 1))
                labels.append(int(match.group(2)))
    return np.stack(images), np.asarray(labels, np.int64)


def write_archive(path: str, images: np.ndarray, labels: np.ndarray) -> None:
    """Write the CIFAR-10 python archive layout: five training batches and a test batch."""
    def batch(name, idx):
        return {b"batch_label": name.encode(), b"labels": [int(v) for v in labels[idx]],
                b"data": images[idx].reshape(len(idx), -1), b"filenames": [f"{i}.png".encode() for i in idx]}

    parts = np.array_split(np.arange(len(images)), 5)
    members = {f"data_batch_{i + 1}": batch(f"training batch {i + 1} of 5", p) for i, p in enumerate(parts)}
    members["test_batch"] = batch("testing batch 1 of 1", np.arange(len(images)))
    members["batches.meta"] = {b"label_names": [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog",
                                                b"frog", b"horse", b"ship", b"truck"],
                               b"num_cases_per_batch": len(parts[0]), b"num_vis": 3072}
    with tarfile.open(path, "w:gz") as tar:
        for name, obj in members.items():
            raw = pickle.dumps(obj, protocol=2)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", help="foolbox-3.3.4-py3-none-any.whl")
    parser.add_argument("out", help="archive to write, e.g. foolbox_cifar10.tar.gz")
    args = parser.parse_args()
    images, labels = read_foolbox_images(args.wheel)
    write_archive(args.out, images, labels)
    print(f"wrote {args.out}: {len(images)} real CIFAR-10 images, labels {labels.tolist()}")


if __name__ == "__main__":
    main()
