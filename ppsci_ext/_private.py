"""Every use of a private API of ppsci, Paddle or Hydra, in one place.

Written for paddlesci 1.4.0, paddlepaddle 3.3.1 and hydra-core 1.3.8 (the
versions pyproject.toml pins). Each function checks that the private piece it
relies on is still there and, if another version moved it, stops with one
message naming the version this package was written for, instead of failing
somewhere deep inside a training run.

- ``stop_loader_thread``: Paddle's single-process ``DataLoader`` iterator
  (``_thread``, ``_thread_done_event``, ``_blocking_queue``), stopped so that it
  does not draw from NumPy's global random state behind the solver's back.
- ``clear_grad_clip``: ``OptimizerList._grad_clip``, read by ppsci when it wraps
  the optimizer for data-parallel training.
- ``eval_printer``: ppsci's ``printer.log_eval_info``, swapped for the duration
  of one evaluation.
- ``hydra_reporter`` / ``set_hydra_reporter``: ``hydra._internal.utils.run_and_report``.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

WRITTEN_FOR = "paddlesci 1.4.0, paddlepaddle 3.3.1 and hydra-core 1.3.8"


class PrivateAPIChanged(RuntimeError):
    """A private piece this package relies on is not where the versions it was written for keep it."""


def _missing(what: str) -> PrivateAPIChanged:
    from importlib import metadata

    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    found = ", ".join(f"{n} {version(n)}" for n in ("paddlesci", "paddlepaddle", "hydra-core"))
    return PrivateAPIChanged(f"{what} is missing: ppsci_ext was written for {WRITTEN_FOR}, and this machine has "
                             f"{found}; install the pinned versions (pip install -e . reinstalls them).")


def stop_loader_thread(loader_iter: Any) -> None:
    """Stop the prefetch thread of a Paddle ``DataLoader`` iterator (its single-process form).

    An iterator of another form (multi-process workers, or none at all) is left alone.
    """
    if loader_iter is None or not hasattr(loader_iter, "_thread"):
        return
    parts = [getattr(loader_iter, name, None) for name in ("_thread", "_thread_done_event", "_blocking_queue")]
    if any(part is None for part in parts):
        raise _missing("the prefetch thread of Paddle's DataLoader iterator (_thread_done_event, _blocking_queue)")
    thread, done, queue = parts
    done.set()
    queue.close()  # unblocks the thread if it waits for room in the queue
    thread.join()


def clear_grad_clip(optimizers: Any) -> None:
    """Give ppsci's ``OptimizerList`` the ``_grad_clip`` attribute its data-parallel wrapper reads (none)."""
    import ppsci

    if not isinstance(optimizers, ppsci.optimizer.OptimizerList):
        raise _missing("ppsci.optimizer.OptimizerList")
    optimizers._grad_clip = None


@contextlib.contextmanager
def eval_printer(replacement: Callable[..., None]) -> Iterator[None]:
    """Within the block, ppsci's evaluation loop prints its per-batch line with ``replacement``."""
    from ppsci.solver import printer

    if not callable(getattr(printer, "log_eval_info", None)):
        raise _missing("ppsci.solver.printer.log_eval_info")
    original, printer.log_eval_info = printer.log_eval_info, replacement
    try:
        yield
    finally:
        printer.log_eval_info = original


def hydra_reporter() -> Callable[[Callable[[], Any]], Any]:
    """Hydra's ``run_and_report``, which reports errors met before and around the task function."""
    from hydra._internal import utils

    if not callable(getattr(utils, "run_and_report", None)):
        raise _missing("hydra._internal.utils.run_and_report")
    return utils.run_and_report


def set_hydra_reporter(reporter: Callable[[Callable[[], Any]], Any]) -> None:
    """Make ``reporter`` Hydra's ``run_and_report`` (looked up at call time by ``_run_hydra``)."""
    from hydra._internal import utils

    hydra_reporter()  # checks that it is there
    utils.run_and_report = reporter
