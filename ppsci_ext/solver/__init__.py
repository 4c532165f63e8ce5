"""Adversarial training on top of ppsci.solver.Solver, and checkpoints."""

from ppsci_ext.solver.adversarial import AdversarialSolver, TrainingDiverged, adversarial_epoch
from ppsci_ext.solver.checkpoint import atomic_save, load_checkpoint, load_network

__all__ = ["AdversarialSolver", "TrainingDiverged", "adversarial_epoch", "atomic_save", "load_checkpoint", "load_network"]
