"""Adversarial training on ppsci.solver.Solver: steps, loop, evaluation; checkpoint state; EMA; data parallel."""

from ppsci_ext.solver.adversarial import AdversarialSolver, TrainingDiverged, adversarial_epoch
from ppsci_ext.solver.builders import build_optimizer, real_data_constraint, sample_validator
from ppsci_ext.solver.ema import GeneratorEMA
from ppsci_ext.solver.state import load_checkpoint

__all__ = ["AdversarialSolver", "GeneratorEMA", "TrainingDiverged", "adversarial_epoch", "build_optimizer",
           "load_checkpoint", "real_data_constraint", "sample_validator"]
