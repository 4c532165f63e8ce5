"""Milliseconds per generator iteration: this package (Paddle) against the identical model and loop in PyTorch.

For each experiment, two worker processes are started: one trains with the
package's own ``AdversarialSolver`` steps (the code a user runs), the other
with the same model and iteration written in PyTorch (``torch_models.py``).
Each builds its model, warms up, then the driver asks them in turn (never at
the same time) for a block of iterations, for several rounds, so that load on
the machine hits both alike. It prints the medians and the ratio
Paddle / PyTorch (below 1.0: Paddle is faster).

Settings (the paper's): toy MLP width 512, batch 256, n_critic 5, lambda 0.1;
MNIST dim 64, batch 50, n_critic 5, lambda 10; CIFAR-10 ResNet DIM 128,
critic batch 64, generator batch 128, n_critic 5, lambda 10. The PyTorch
CIFAR-10 model computes its resampling convolutions the package's way (one
4x4 stride-2 convolution each); ``cifar10_official`` times it against the
official order (conv then mean-pool, upsample then conv) instead.

The Paddle worker runs in the default environment of a user after ``pip
install`` (what ``import ppsci_ext`` sets for itself counts); the PyTorch
worker gets the caller's environment unchanged. PyTorch is needed only here:

    python benchmarks/vs_pytorch.py --torch-python /path/to/venv-with-torch/bin/python [--experiments toy mnist cifar10]

``--paddle-conv`` adds a third worker: the package with Paddle's own
convolution instead of the oneDNN one (``PPSCI_EXT_ONEDNN=0``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

SETTINGS = {
    "toy": dict(batch=256, generator_batch=256, n_critic=5, gp_lambda=0.1, lr=1e-4, betas=(0.5, 0.9), width=512),
    "mnist": dict(batch=50, generator_batch=50, n_critic=5, gp_lambda=10.0, lr=1e-4, betas=(0.5, 0.9), dim=64),
    "cifar10": dict(batch=64, generator_batch=128, n_critic=5, gp_lambda=10.0, lr=2e-4, betas=(0.0, 0.9), dim=128),
    # the same, but PyTorch's model resamples as the official code orders it (conv then mean-pool,
    # upsample then conv) instead of the package's fused 4x4 stride-2 convolutions
    "cifar10_official": dict(batch=64, generator_batch=128, n_critic=5, gp_lambda=10.0, lr=2e-4, betas=(0.0, 0.9),
                             dim=128),
    # one kernel, not a training loop: the MNIST critic's second convolution on a joint
    # real+fake batch (100 x 64 x 14 x 14 -> 128 x 7 x 7, 5x5 stride 2), forward + backward
    "conv": dict(batch=100, in_ch=64, out_ch=128, size=14),
}
DEFAULT_ITERS = {"toy": 10, "mnist": 2, "cifar10": 1, "cifar10_official": 1, "conv": 20}


# ------------------------------------------------------------------ workers
def paddle_worker(experiment: str):
    """Returns a function running one generator iteration with the package's solver."""
    import ppsci_ext  # noqa: F401  (first: the package's CPU settings before Paddle loads)

    import numpy as np
    import paddle
    import ppsci

    from ppsci_ext.arch import GAN, MNISTCritic, MNISTGenerator, ToyCritic, ToyGenerator
    from ppsci_ext.arch.cifar10 import CifarResNetCritic, CifarResNetGenerator
    from ppsci_ext.data import toy_arrays
    from ppsci_ext.data.cifar10 import DequantizedImages
    from ppsci_ext.loss import WGANGPLoss
    from ppsci_ext.solver import AdversarialSolver, builders

    s = SETTINGS[experiment]
    paddle.seed(0)
    rng = np.random.default_rng(0)
    if experiment == "conv":
        x = paddle.rand([s["batch"], s["in_ch"], s["size"], s["size"]])
        w = paddle.rand([s["out_ch"], s["in_ch"], 5, 5])
        x.stop_gradient = w.stop_gradient = False

        from ppsci_ext.ops import onednn

        def conv():  # the convolution the package's layers use
            y = onednn.conv2d(x, w, stride=2, padding=2)
            return paddle.grad(y.sum(), [x, w])[1]

        return conv, (lambda t: float(t[0, 0, 0, 0])), f"paddle {paddle.__version__}"
    if experiment == "toy":
        model = GAN(ToyGenerator(width=s["width"]), ToyCritic(width=s["width"]))
        arrays = toy_arrays("8gaussians", 100 * s["batch"], 0)
    elif experiment == "mnist":
        model = GAN(MNISTGenerator(dim=s["dim"]), MNISTCritic(dim=s["dim"]))
        arrays = {"img": rng.random((20 * s["batch"], 1, 28, 28), dtype=np.float32)}
    else:
        model = GAN(CifarResNetGenerator(s["dim"]), CifarResNetCritic(s["dim"]))
        arrays = {"img": DequantizedImages(rng.integers(0, 256, (20 * s["batch"], 3, 32, 32), dtype=np.uint8))}
    objective = WGANGPLoss(s["gp_lambda"])
    solver = AdversarialSolver(
        model, builders.real_data_constraint(arrays, s["batch"], objective),
        ppsci.loss.FunctionalLoss(objective.generator),
        builders.build_optimizer(model.generator.parameters(), s["lr"], *s["betas"]),
        builders.build_optimizer(model.critic.parameters(), s["lr"], *s["betas"]),
        output_dir=os.path.join("/tmp", f"ppsci_ext_vs_pytorch_{os.getpid()}"), epochs=1, iters_per_epoch=1,
        n_critic=s["n_critic"], generator_batch_size=s["generator_batch"],
    )

    def iteration():
        for _ in range(solver.n_critic):
            solver.critic_step(*solver.next_real_batch())
        return solver.generator_step(s["generator_batch"])["generator_loss"]

    iteration.solver = solver
    return iteration, (lambda loss: float(loss)), f"paddle {paddle.__version__}"


def torch_worker(experiment: str):
    """Returns a function running one generator iteration of the PyTorch twin."""
    import torch

    sys.path.insert(0, HERE)
    import torch_models

    s = SETTINGS[experiment]
    torch.manual_seed(0)
    if experiment == "conv":
        x = torch.rand(s["batch"], s["in_ch"], s["size"], s["size"], requires_grad=True)
        w = torch.rand(s["out_ch"], s["in_ch"], 5, 5, requires_grad=True)

        def conv():
            y = torch.nn.functional.conv2d(x, w, stride=2, padding=2)
            return torch.autograd.grad(y.sum(), [x, w])[1]

        return conv, (lambda t: float(t[0, 0, 0, 0])), f"torch {torch.__version__} ({torch.get_num_threads()} threads)"
    if experiment == "toy":
        generator, critic, noise_dim = torch_models.toy_pair(s["width"])
        real = torch.randn(100 * s["batch"], 2)
    elif experiment == "mnist":
        generator, critic, noise_dim = torch_models.mnist_pair(s["dim"])
        real = torch.rand(20 * s["batch"], 1, 28, 28)
    else:
        generator, critic, noise_dim = torch_models.cifar10_pair(s["dim"], fused=experiment == "cifar10")
        real = torch.rand(20 * s["batch"], 3, 32, 32) * 2 - 1
    loop = torch_models.TorchWGANGP(generator, critic, noise_dim, real, s["batch"], s["generator_batch"],
                                    s["n_critic"], s["gp_lambda"], s["lr"], s["betas"])
    return loop.iteration, (lambda loss: float(loss)), f"torch {torch.__version__} ({torch.get_num_threads()} threads)"


def serve(framework: str, experiment: str, warmup: int) -> None:
    """Worker loop: build, warm up, then answer 'run K' with ms per iteration."""
    iteration, sync, version = (paddle_worker if framework == "paddle" else torch_worker)(experiment)
    for _ in range(warmup):
        sync(iteration())
    print(f"ready {version}", flush=True)
    for line in sys.stdin:
        k = int(line.split()[1])
        start = time.perf_counter()
        for _ in range(k):
            loss = iteration()
        sync(loss)  # wait for all queued work before stopping the clock
        print(f"ms {(time.perf_counter() - start) / k * 1000.0:.3f}", flush=True)


# ------------------------------------------------------------------ driver
class Worker:
    def __init__(self, python: str, framework: str, experiment: str, warmup: int, env: dict, label: str = ""):
        self.framework = label or framework
        self.proc = subprocess.Popen(
            [python, os.path.abspath(__file__), "--worker", framework, "--experiments", experiment,
             "--warmup", str(warmup)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=HERE)
        self.version = self._read("ready")

    def _read(self, tag: str) -> str:
        for line in self.proc.stdout:
            if line.startswith(tag + " "):
                return line[len(tag) + 1:].strip()
        raise SystemExit(f"ERROR: the {self.framework} worker stopped (exit {self.proc.wait()}); "
                         f"run it alone to see why: python {__file__} --worker {self.framework}")

    def run(self, k: int) -> float:
        self.proc.stdin.write(f"run {k}\n")
        self.proc.stdin.flush()
        return float(self._read("ms"))

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def compare(experiment: str, torch_python: str, iters: int, rounds: int, warmup: int,
            paddle_conv: bool = False) -> float:
    env = dict(os.environ)
    workers = [Worker(sys.executable, "paddle", experiment, warmup, env),
               Worker(torch_python, "torch", experiment, warmup, env)]
    if paddle_conv and experiment != "toy":  # the package with Paddle's own convolution instead of oneDNN's
        workers.append(Worker(sys.executable, "paddle", experiment, warmup, dict(env, PPSCI_EXT_ONEDNN="0"),
                              label="paddle-conv"))
    times = {w.framework: [] for w in workers}
    for _ in range(rounds):
        for w in workers:  # one at a time: the idle worker waits on its stdin
            times[w.framework].append(w.run(iters))
    for w in workers:
        w.close()
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = med["paddle"] / med["torch"]
    unit = "call" if experiment == "conv" else "generator iteration"
    print(f"{experiment:8s} {SETTINGS[experiment]}")
    for w in workers:
        runs = ", ".join(f"{t:.1f}" for t in times[w.framework])
        print(f"  {w.framework:11s} {med[w.framework]:9.1f} ms / {unit}  (rounds: {runs})  [{w.version}]")
    print(f"  ratio paddle / torch: {ratio:.2f}", flush=True)
    if "paddle-conv" in med:
        print(f"  ratio paddle-conv / torch: {med['paddle-conv'] / med['torch']:.2f}; "
              f"paddle / paddle-conv: {med['paddle'] / med['paddle-conv']:.2f}", flush=True)
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", nargs="+", default=["toy", "mnist", "cifar10"], choices=sorted(SETTINGS),
                        help="toy, mnist, cifar10 (default: all three), cifar10_official, "
                             "or conv (one convolution kernel)")
    parser.add_argument("--torch-python", default=os.environ.get("TORCH_PYTHON", sys.executable),
                        help="a Python with torch installed (default: $TORCH_PYTHON or this Python)")
    parser.add_argument("--iters", type=int, default=None, help="generator iterations per round")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (median reported)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed iterations per worker")
    parser.add_argument("--paddle-conv", action="store_true",
                        help="also time the package with Paddle's own convolution (PPSCI_EXT_ONEDNN=0)")
    parser.add_argument("--worker", choices=["paddle", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        serve(args.worker, args.experiments[0], args.warmup)
        return
    check = subprocess.run([args.torch_python, "-c", "import torch"], capture_output=True)
    if check.returncode:
        raise SystemExit(f"ERROR: {args.torch_python} cannot import torch; install it in a separate venv "
                         "(pip install torch) and pass --torch-python /path/to/that/venv/bin/python.")
    print(f"cpu cores: {os.cpu_count()}; caller's OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, "
          f"MKL_DEBUG_CPU_TYPE={os.environ.get('MKL_DEBUG_CPU_TYPE')}")
    for experiment in args.experiments:
        compare(experiment, args.torch_python, args.iters or DEFAULT_ITERS[experiment], args.rounds, args.warmup,
                args.paddle_conv)


if __name__ == "__main__":
    main()
