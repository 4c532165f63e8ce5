"""The package's bias-by-matmul layers against Paddle's own, in the WGAN-GP iteration of each experiment.

Builds two identical solvers (same seed) for an experiment; in one, the
package's ``Linear`` / ``Conv2D`` / ``Conv2DTranspose`` (``ppsci_ext.ops.layers``)
are turned back into Paddle's ``nn`` classes. Times both in alternating
rounds and prints the medians and the ratio (below 1.0: the package's layers
are faster).

    python benchmarks/layer_bias.py [--experiments toy mnist cifar10] [--rounds 5]
"""

import ppsci_ext  # noqa: F401  (first: CPU defaults before Paddle loads)

import argparse
import os
import statistics
import sys
import time

from paddle import nn

from ppsci_ext.ops import layers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vs_pytorch import DEFAULT_ITERS, paddle_worker  # noqa: E402  (the same solvers as the PyTorch comparison)

PADDLE_CLASS = {layers.Linear: nn.Linear, layers.Conv2D: nn.Conv2D, layers.Conv2DTranspose: nn.Conv2DTranspose}


def to_paddle_layers(model) -> int:
    """Turn the package's layers of ``model`` into Paddle's classes in place; returns how many."""
    count = 0
    for layer in model.sublayers():
        if type(layer) in PADDLE_CLASS:
            layer.__class__ = PADDLE_CLASS[type(layer)]
            count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", nargs="+", default=["toy", "mnist", "cifar10"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--iters", type=int, default=None)
    args = parser.parse_args()
    for experiment in args.experiments:
        ours, sync, _ = paddle_worker(experiment)
        plain, _, _ = paddle_worker(experiment)
        n = to_paddle_layers(plain.solver.model)
        iters = args.iters or DEFAULT_ITERS[experiment]
        times = {"package layers": [], "paddle layers": []}
        for fn in (ours, plain):
            sync(fn())  # warm-up
        for _ in range(args.rounds):
            for name, fn in (("package layers", ours), ("paddle layers", plain)):
                start = time.perf_counter()
                for _ in range(iters):
                    loss = fn()
                sync(loss)
                times[name].append((time.perf_counter() - start) / iters * 1000.0)
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"{experiment}: {n} layers swapped")
        for k, v in med.items():
            print(f"  {k:15s} {v:9.1f} ms / generator iteration (rounds: {', '.join(f'{t:.0f}' for t in times[k])})")
        print(f"  ratio package / paddle layers: {med['package layers'] / med['paddle layers']:.2f}", flush=True)


if __name__ == "__main__":
    main()
