"""A generator and a critic held together as one ppsci model."""

from __future__ import annotations

from typing import Dict, Optional

import numpy as np
import paddle
from ppsci.arch import base

from ppsci_ext.progress import progress


class GAN(base.Arch):
    """Pair of a generator and a critic, trained adversarially.

    Calling the pair runs the generator, so ppsci validators and ``Solver.eval``
    see a model that maps noise to samples. The critic is reached as
    ``model.critic``. Noise is an explicit input: ``sample_inputs`` draws it.

    Args:
        generator (base.Arch): Maps ``{"z": noise}`` (and ``{"y": labels}`` when
            conditional) to samples. Must expose ``noise_dim``.
        critic (base.Arch): Maps samples to ``{"score": [N, 1]}`` (and
            ``{"logits": [N, C]}`` for AC-GAN).
        num_classes (int): Number of classes for a conditional generator, 0 for
            an unconditional one. Defaults to 0.
    """

    weights_tag = "dis"  # checkpoints/*_dis.pdparams holds the critic

    def __init__(self, generator: base.Arch, critic: base.Arch, num_classes: int = 0):
        super().__init__()
        self.generator = generator
        self.critic = critic
        self.num_classes = num_classes
        self.input_keys = generator.input_keys
        self.output_keys = generator.output_keys

    @property
    def sample_key(self) -> str:
        """Name of the generated samples, which is also the critic's input."""
        return self.generator.output_keys[0]

    def sample_inputs(self, n: int, labels: Optional[paddle.Tensor] = None) -> Dict[str, paddle.Tensor]:
        """Draw generator inputs for ``n`` samples from Paddle's global RNG."""
        inputs = {"z": paddle.randn([n, self.generator.noise_dim])}
        if self.num_classes:
            if labels is None:
                labels = paddle.randint(0, self.num_classes, [n])
            inputs["y"] = labels
        return inputs

    def generate(self, inputs: Dict[str, np.ndarray], batch_size: Optional[int] = None,
                 what: str = "generating samples") -> np.ndarray:
        """Samples for fixed generator inputs (numpy), in batches of ``batch_size``, without gradients.

        The layers keep their mode: the CIFAR-10 generator's batch norm uses batch
        statistics, as the official code samples.
        """
        n = len(inputs["z"])
        step = batch_size or max(n, 1)
        out = []
        with paddle.no_grad(), progress(n, what) as bar:
            for start in range(0, n, step):
                batch = {k: paddle.to_tensor(v[start:start + step]) for k, v in inputs.items()}
                out.append(self.generator(batch)[self.sample_key].numpy())
                bar.update(len(out[-1]))
        return np.concatenate(out)

    def forward(self, x: Dict[str, paddle.Tensor]) -> Dict[str, paddle.Tensor]:
        return self.generator(x)
