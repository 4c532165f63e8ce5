"""The config boundary: a Hydra config becomes archs, data, objective, solver and results here, and only here.

The example scripts build one experiment from their config and call ``train()``
or ``evaluate()``; every key is checked (``config``) before anything is built.
"""

from ppsci_ext.experiment.base import Experiment
from ppsci_ext.experiment.cifar10 import CIFAR10Experiment
from ppsci_ext.experiment.config import Key, check_config, help_text, register_help_resolver
from ppsci_ext.experiment.hydra_errors import install as install_hydra_errors
from ppsci_ext.experiment.images import ImagesExperiment
from ppsci_ext.experiment.mnist import MNISTExperiment
from ppsci_ext.experiment.toy import ToyExperiment

register_help_resolver()
install_hydra_errors()

__all__ = ["CIFAR10Experiment", "Experiment", "ImagesExperiment", "Key", "MNISTExperiment", "ToyExperiment", "check_config", "help_text",
           "register_help_resolver"]
