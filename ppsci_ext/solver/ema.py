"""Exponential moving average (EMA) of the generator's weights.

Configured in the examples by ppsci's TRAIN/ema config group (``use_ema``, ``decay``,
``avg_freq``) plus ``start_step``. Evaluation and pictures use the averaged
weights; training always updates the raw ones.
"""

from __future__ import annotations

import contextlib
import itertools
from typing import Dict, Iterator

import paddle
from paddle import nn
from ppsci.utils import ema

from ppsci_ext.errors import UserError, check_positive


class GeneratorEMA(ema.ExponentialMovingAverage):
    """EMA of a generator's parameters and floating-point buffers.

    After each update at generator iteration ``step`` (1-based):

    - ``step <= start_step``: the average is a copy of the weights;
    - afterwards, every ``every`` iterations:
      ``average = decay * average + (1 - decay) * weights``.

    Updates are in-place device operations (no host synchronisation). Unlike
    ppsci's ``ExponentialMovingAverage``, floating-point buffers (batch-norm
    statistics) are averaged too, so that ``apply_shadow`` never puts stale
    buffers into the generator.

    Args:
        generator (nn.Layer): The generator whose weights are averaged.
        decay (float): Weight of the old average, in (0, 1).
        start_step (int): Generator iterations during which the average only
            copies the weights. Defaults to 0.
        every (int): Update the average every this many generator iterations
            Defaults to 1.

    Examples:
        >>> from ppsci_ext.arch import ToyGenerator
        >>> from ppsci_ext.solver.ema import GeneratorEMA
        >>> average = GeneratorEMA(ToyGenerator(width=8), decay=0.999)
        >>> average.update(step=1)
        >>> with average.applied():
        ...     pass  # the generator holds the averaged weights here
    """

    def __init__(self, generator: nn.Layer, decay: float, start_step: int = 0, every: int = 1):
        if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0.0 < decay < 1.0:
            raise UserError(f"the EMA decay must be in (0, 1), got {decay!r} (0.999 is typical).")
        if isinstance(start_step, bool) or not isinstance(start_step, int) or start_step < 0:
            raise UserError(f"the EMA start step must be an integer >= 0, got {start_step!r}.")
        check_positive(every, "the EMA update interval", whole=True)
        super().__init__(generator, float(decay))
        self.start_step = start_step
        self.every = int(every)
        self._pairs = [
            (self.params_shadow[name], value)
            for name, value in itertools.chain(generator.named_parameters(), generator.named_buffers())
            if paddle.is_floating_point(value)
        ]
        self._applied = False

    def update(self, step: int) -> None:
        """Fold the generator's current weights into the average (``step``: iterations done)."""
        with paddle.no_grad():
            if step <= self.start_step:
                for shadow, value in self._pairs:
                    paddle.assign(value, output=shadow)
            elif step % self.every == 0:
                for shadow, value in self._pairs:
                    shadow.lerp_(value, 1.0 - self.decay)

    @contextlib.contextmanager
    def applied(self) -> Iterator[None]:
        """Put the averaged weights into the generator for the duration of the block.

        Re-entrant: a nested block does nothing. The raw weights come back on exit,
        also when the block raises.
        """
        if self._applied:
            yield
            return
        self.apply_shadow()
        self._applied = True
        try:
            yield
        finally:
            self.restore()
            self._applied = False

    @property
    def is_applied(self) -> bool:
        """Whether the generator currently holds the averaged weights."""
        return self._applied

    def state_dict(self) -> Dict[str, paddle.Tensor]:
        """The averaged weights, keyed like ``generator.state_dict()`` (loadable into a generator)."""
        return {key: self.params_shadow.get(key, value) for key, value in self.model.state_dict().items()}

    def set_state_dict(self, state: Dict[str, paddle.Tensor]) -> None:
        """Restore the averaged weights from ``state_dict()`` output (in place)."""
        for key, value in state.items():
            if key in self.params_shadow:
                self.params_shadow[key].set_value(value)
