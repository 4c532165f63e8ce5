"""Milliseconds per generator iteration of the toy WGAN-GP setting.

Paper setting: MLP width 512, batch 256, n_critic 5, lambda 0.1. Times the
solver's own critic and generator steps on in-memory batches, after warm-up,
and prints the median over repeats of blocks of iterations. Also times the
critic with one joint pass over real and fake (the default for critics without
batch-coupled layers) against separate passes, in the same run.

    python benchmarks/toy_step.py [--iters 20] [--repeats 5]
"""

import ppsci_ext  # noqa: F401  (first: CPU defaults before Paddle loads)

import argparse
import os
import statistics
import time

import paddle
import ppsci

from ppsci_ext.arch import GAN, ToyCritic, ToyGenerator
from ppsci_ext.data import toy_arrays
from ppsci_ext.loss import WGANGPLoss
from ppsci_ext.solver import AdversarialSolver, builders


def build(batch: int, width: int, n_critic: int, out: str) -> AdversarialSolver:
    paddle.seed(0)
    model = GAN(ToyGenerator(width=width), ToyCritic(width=width))
    objective = WGANGPLoss(0.1)
    constraint = builders.real_data_constraint(toy_arrays("8gaussians", 100 * batch, 0), batch, objective)
    return AdversarialSolver(
        model, constraint, ppsci.loss.FunctionalLoss(objective.generator),
        builders.build_optimizer(model.generator.parameters(), 1e-4, 0.5, 0.9),
        builders.build_optimizer(model.critic.parameters(), 1e-4, 0.5, 0.9),
        output_dir=out, epochs=1, iters_per_epoch=1, n_critic=n_critic,
    )


def time_iterations(solver: AdversarialSolver, iters: int, batch: int) -> float:
    start = time.perf_counter()
    for _ in range(iters):
        for _ in range(solver.n_critic):
            solver.critic_step(*solver.next_real_batch())
        losses = solver.generator_step(batch)
    float(losses["generator_loss"])  # wait for the device
    return (time.perf_counter() - start) / iters * 1000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--n-critic", type=int, default=5)
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    solver = build(args.batch, args.width, args.n_critic, "/tmp/ppsci_ext_bench")
    print(f"paddle {paddle.__version__}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, "
          f"MKL_DEBUG_CPU_TYPE={os.environ.get('MKL_DEBUG_CPU_TYPE')} (set by ppsci_ext: {ppsci_ext.CPU_ENV})")
    print(f"toy WGAN-GP: batch {args.batch}, width {args.width}, n_critic {args.n_critic}")
    results = {}
    for joint in (True, False):
        solver.model.critic.batch_coupled = not joint
        time_iterations(solver, 3, args.batch)  # warm-up
    samples = {True: [], False: []}
    for _ in range(args.repeats):
        for joint in (True, False):  # alternate so both see the same machine state
            solver.model.critic.batch_coupled = not joint
            samples[joint].append(time_iterations(solver, args.iters, args.batch))
    for joint, label in ((True, "joint real+fake critic pass (default)"), (False, "separate critic passes")):
        results[joint] = statistics.median(samples[joint])
        print(f"  {label:40s} {results[joint]:8.1f} ms / generator iteration (median of {args.repeats})")
    print(f"  ratio joint / separate: {results[True] / results[False]:.3f}")


if __name__ == "__main__":
    main()
