"""Trains a tiny toy WGAN-GP for the data-parallel test; run alone or under paddle.distributed.launch.

    python data_parallel_worker.py OUT_DIR BATCH_PER_PROCESS

Real batches come from the solver's sampler (ranks share one permutation and
take their slice of each global batch). Noise and interpolation weights are
drawn here for the global batch from one seeded generator shared by all ranks,
and each rank takes its slice, so K processes with batch B see exactly the
samples of one process with batch K*B. Rank 0 writes the checkpoint.

Float64, so that the comparison is not blurred by Adam turning float32
rounding differences of near-zero gradients into steps of size ~lr.
"""

import sys

import numpy as np
import paddle
import paddle.distributed as dist
import ppsci

from ppsci_ext.arch import GAN, ToyCritic, ToyGenerator
from ppsci_ext.data import toy_arrays
from ppsci_ext.loss import WGANGPLoss
from ppsci_ext.solver import AdversarialSolver, builders


class SharedNoiseSolver(AdversarialSolver):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.noise_rng = np.random.default_rng(7)

    def _slice(self, draw, n):
        full = draw(n * self.world_size)
        return paddle.to_tensor(full[self.rank * n:(self.rank + 1) * n])

    def sample_noise(self, n, labels=None):
        return {"z": self._slice(lambda m: self.noise_rng.standard_normal((m, 2)).astype("float64"), n)}

    def sample_eps(self, shape, dtype):
        return self._slice(lambda m: self.noise_rng.random((m, 1)).astype("float64"), shape[0])


def main(out_dir: str, batch: int) -> None:
    if dist.get_world_size() > 1:
        dist.init_parallel_env()
    paddle.set_default_dtype("float64")
    paddle.seed(0)
    model = GAN(ToyGenerator(width=16), ToyCritic(width=16))
    objective = WGANGPLoss(0.1)
    constraint = builders.real_data_constraint({k: v.astype("float64") for k, v in toy_arrays("8gaussians", 96, 0).items()}, batch, objective)
    solver = SharedNoiseSolver(
        model, constraint, ppsci.loss.FunctionalLoss(objective.generator),
        builders.build_optimizer(model.generator.parameters(), 1e-3, 0.5, 0.9),
        builders.build_optimizer(model.critic.parameters(), 1e-3, 0.5, 0.9),
        output_dir=out_dir, epochs=2, iters_per_epoch=3, n_critic=2, log_freq=2, seed=0,
    )
    solver.train()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
