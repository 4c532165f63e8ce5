"""Milliseconds per generator iteration of the CIFAR-10 ResNet WGAN-GP, next to the toy figure.

Official setting: DIM 128, critic batch 64, generator batch 128, n_critic 5,
lambda 10 (one generator iteration = 5 critic updates with the gradient
penalty's double backward + 1 generator update). Times the solver's own
critic and generator steps on in-memory batches (random uint8 images with the
dequantisation of the training data), after one warm-up iteration, and prints
the toy setting (benchmarks/toy_step.py) measured in the same process, in
alternating rounds so that load on the machine hits both alike.

    python benchmarks/cifar10_step.py [--dim 128] [--batch 64] [--iters 2] [--repeats 2]
"""

import ppsci_ext  # noqa: F401  (first: CPU defaults before Paddle loads)

import argparse
import os
import statistics
import sys

import numpy as np
import paddle
import ppsci

from ppsci_ext.arch.cifar10 import CifarResNetCritic, CifarResNetGenerator, count_parameters
from ppsci_ext.arch.gan import GAN
from ppsci_ext.data.cifar10 import DequantizedImages
from ppsci_ext.loss import WGANGPLoss
from ppsci_ext.solver import AdversarialSolver, builders

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import toy_step  # noqa: E402  (the toy benchmark's builder and timer, reused)


def build(dim: int, batch: int, generator_batch: int, n_critic: int, conditional: bool, out: str) -> AdversarialSolver:
    paddle.seed(0)
    model = GAN(CifarResNetGenerator(dim, conditional), CifarResNetCritic(dim, acgan=conditional),
                num_classes=10 if conditional else 0)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (8 * batch, 3, 32, 32), dtype=np.uint8)
    labels = {"y": rng.integers(0, 10, 8 * batch).astype(np.int64)} if conditional else None
    objective = WGANGPLoss(10.0, 1.0 if conditional else 0.0, 0.1 if conditional else 0.0)
    constraint = builders.real_data_constraint({"img": DequantizedImages(images)}, batch, objective, labels=labels)
    return AdversarialSolver(
        model, constraint, ppsci.loss.FunctionalLoss(objective.generator),
        builders.build_optimizer(model.generator.parameters(), 2e-4, 0.0, 0.9),
        builders.build_optimizer(model.critic.parameters(), 2e-4, 0.0, 0.9),
        output_dir=out, epochs=1, iters_per_epoch=1, n_critic=n_critic, generator_batch_size=generator_batch,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--generator-batch", type=int, default=128)
    parser.add_argument("--n-critic", type=int, default=5)
    parser.add_argument("--conditional", action="store_true", help="AC-GAN variant")
    parser.add_argument("--iters", type=int, default=2, help="generator iterations per round")
    parser.add_argument("--repeats", type=int, default=2, help="rounds (median reported)")
    parser.add_argument("--toy-iters", type=int, default=20)
    args = parser.parse_args()

    cifar = build(args.dim, args.batch, args.generator_batch, args.n_critic, args.conditional, "/tmp/ppsci_ext_bench")
    toy = toy_step.build(256, 512, 5, "/tmp/ppsci_ext_bench")
    toy.model.critic.batch_coupled = False
    print(f"paddle {paddle.__version__}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, "
          f"MKL_DEBUG_CPU_TYPE={os.environ.get('MKL_DEBUG_CPU_TYPE')}, device {paddle.device.get_device()}")
    kind = "AC-GAN" if args.conditional else "unconditional"
    print(f"CIFAR-10 ResNet WGAN-GP ({kind}): DIM {args.dim}, critic batch {args.batch}, generator batch "
          f"{args.generator_batch}, n_critic {args.n_critic}; generator {count_parameters(cifar.model.generator):,} "
          f"and critic {count_parameters(cifar.model.critic):,} parameters")
    print("toy WGAN-GP (benchmarks/toy_step.py): width 512, batch 256, n_critic 5")
    toy_step.time_iterations(cifar, 1, args.generator_batch)  # warm-up
    toy_step.time_iterations(toy, 3, 256)
    samples = {"cifar": [], "toy": []}
    for r in range(args.repeats):  # alternate so both see the same machine state
        samples["cifar"].append(toy_step.time_iterations(cifar, args.iters, args.generator_batch))
        samples["toy"].append(toy_step.time_iterations(toy, args.toy_iters, 256))
        print(f"  round {r + 1}: CIFAR-10 {samples['cifar'][-1]:9.1f} ms, toy {samples['toy'][-1]:7.1f} ms "
              "per generator iteration", flush=True)
    c, t = statistics.median(samples["cifar"]), statistics.median(samples["toy"])
    print(f"CIFAR-10: {c:.1f} ms / generator iteration (median of {args.repeats} rounds of {args.iters}); "
          f"toy: {t:.1f} ms; ratio {c / t:.1f}")
    print(f"100,000 generator iterations (the official run) at this speed: {c * 1e5 / 3.6e6:.0f} hours")


if __name__ == "__main__":
    main()
