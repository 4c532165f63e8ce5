"""The door: a Hydra config or Python values become typed settings, then archs, data, objective, solver, results.

The example scripts build one experiment from their config and call ``train()``
or ``evaluate()``; ``fit`` builds the same settings from Python values. Every
key is checked (``config``, ``settings``) before anything is built. The example
scripts call ``install_hydra_hooks()`` (the ``--help`` resolver and the
one-line reporter of Hydra's own errors); importing the package changes nothing
of Hydra's.
"""

from ppsci_ext.experiment.base import Experiment
from ppsci_ext.experiment.cifar10 import CIFAR10Experiment
from ppsci_ext.experiment.config import Key, check_config, help_text, register_help_resolver
from ppsci_ext.experiment.hydra_errors import install as install_hydra_errors
from ppsci_ext.experiment.images import ImagesExperiment
from ppsci_ext.experiment.mnist import MNISTExperiment
from ppsci_ext.experiment.settings import Settings, from_hydra, from_values
from ppsci_ext.experiment.toy import ToyExperiment
from ppsci_ext.experiment.vae import VAEMNISTExperiment


def install_hydra_hooks() -> None:
    """For the example scripts, before ``@hydra.main`` runs: ``--help`` lists the keys, Hydra's errors are one line."""
    register_help_resolver()
    install_hydra_errors()


__all__ = ["CIFAR10Experiment", "Experiment", "ImagesExperiment", "Key", "MNISTExperiment", "Settings", "ToyExperiment",
           "VAEMNISTExperiment",
           "check_config", "from_hydra", "from_values", "help_text", "install_hydra_hooks", "register_help_resolver"]
