"""WGAN-GP experiments on PaddlePaddle and PaddleScience (``ppsci``).

Importing this package before ``paddle`` picks fast CPU defaults (see
``ppsci_ext._env``); the example scripts do so on their first line.
"""

from ppsci_ext._env import configure_cpu

CPU_ENV = configure_cpu()

from ppsci_ext import arch  # noqa: E402
from ppsci_ext import data  # noqa: E402
from ppsci_ext import experiment  # noqa: E402
from ppsci_ext import io  # noqa: E402
from ppsci_ext import loss  # noqa: E402
from ppsci_ext import metric  # noqa: E402
from ppsci_ext import ops  # noqa: E402
from ppsci_ext import pretrained  # noqa: E402
from ppsci_ext import solver  # noqa: E402
from ppsci_ext import visualize  # noqa: E402
from ppsci_ext.errors import UserError, exit_on_user_error  # noqa: E402
from ppsci_ext.experiment.fit import TrainedPair, fit  # noqa: E402
from ppsci_ext.experiment import (  # noqa: E402
    CIFAR10Experiment, ImagesExperiment, MNISTExperiment, ToyExperiment, VAEMNISTExperiment)

from ppsci_ext._version import __version__  # noqa: E402

__all__ = ["arch", "data", "experiment", "io", "loss", "metric", "ops", "pretrained", "solver", "visualize", "fit",
           "TrainedPair", "CIFAR10Experiment",
           "ImagesExperiment", "MNISTExperiment", "ToyExperiment", "VAEMNISTExperiment", "UserError", "exit_on_user_error", "CPU_ENV"]
