"""WGAN-GP experiments on PaddlePaddle and PaddleScience (``ppsci``).

Importing this package before ``paddle`` picks fast CPU defaults (see
``ppsci_ext._env``); the example scripts do so on their first line.
"""

from ppsci_ext._env import configure_cpu

CPU_ENV = configure_cpu()

from ppsci_ext import arch  # noqa: E402
from ppsci_ext import data  # noqa: E402
from ppsci_ext import loss  # noqa: E402
from ppsci_ext import metric  # noqa: E402
from ppsci_ext import solver  # noqa: E402
from ppsci_ext import visualize  # noqa: E402
from ppsci_ext.errors import UserError  # noqa: E402

__version__ = "0.1.0"

__all__ = ["arch", "data", "loss", "metric", "solver", "visualize", "UserError", "CPU_ENV"]
