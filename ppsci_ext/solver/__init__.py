"""Adversarial training on top of ppsci.solver.Solver, checkpoints and the generator average."""

from ppsci_ext.solver.adversarial import AdversarialSolver, TrainingDiverged, adversarial_epoch
from ppsci_ext.solver.checkpoint import atomic_save, load_checkpoint, load_network
from ppsci_ext.solver.ema import GeneratorEMA

__all__ = ["AdversarialSolver", "GeneratorEMA", "TrainingDiverged", "adversarial_epoch", "atomic_save",
           "load_checkpoint", "load_network"]
