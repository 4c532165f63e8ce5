"""An output folder belongs to one run: the lock, the finished-run guard, eval beside a run, and clean refusals.

- ``lock_folder``: an exclusive ``fcntl.flock`` on ``output_dir/.ppsci_ext.lock``
  for the process's lifetime. The OS drops it when the process ends, however it
  ends, so a killed run never leaves a stale lock; a run of another process
  into a locked folder is refused naming the holder's pid (within one process,
  e.g. a notebook, the folder stays this process's).
- ``check_run_folder``: a new training run never replaces a finished one
  (any ``.pdckpt`` or ``.pdparams`` under ``checkpoints/``) unless
  ``TRAIN.overwrite=true``; a resume into the run's own folder continues only
  from its ``latest.pdckpt`` (an older checkpoint would write its older epochs
  over the newer files).
- ``eval_folder``: mode=eval into a training run's folder writes into its
  ``eval/`` sub-folder, never over the run's metrics.json or pictures.
- ``discard_if_refused``: a run refused before it wrote anything of its own leaves
  no folder behind, when the folder was made for it (Hydra's default dated
  folder, or one ``lock_folder`` created): only Hydra's ``.hydra/``, the logs and
  the lock were there. A folder the user named that existed is never removed.
  A run refused later keeps its folder, and the ``ERROR:`` line is also
  appended to its log (``log_errors_to``).
"""

from __future__ import annotations

import os
import shutil
import time
from typing import Dict, List, Optional, Set

from ppsci_ext import errors
from ppsci_ext.errors import UserError

LOCK_NAME = ".ppsci_ext.lock"
RUN_FILES = (".pdckpt", ".pdparams")
PROCESS_START = time.time()
_LOCKS: Dict[str, object] = {}  # folder -> open lock file: the lock lives as long as the process (or released)
_MADE: Set[str] = set()  # folders made for this process's runs (which a refusal may remove again)


def check_folder(output_dir: str) -> None:
    """Refuse an ``output_dir`` that is a file (or below one)."""
    head = os.path.abspath(output_dir)
    while head and not os.path.exists(head):
        head = os.path.dirname(head) if os.path.dirname(head) != head else ""
    if head and not os.path.isdir(head):
        raise UserError(f"output_dir={output_dir} is not a folder ({head} is a file); choose a folder for the "
                        "run's files, e.g. output_dir=runs/mine.")


def run_files(output_dir: str) -> List[str]:
    """Checkpoint and weights files of a run in ``output_dir/checkpoints`` (sorted names)."""
    folder = os.path.join(output_dir, "checkpoints")
    if not os.path.isdir(folder):
        return []
    return sorted(n for n in os.listdir(folder) if n.endswith(RUN_FILES))


def holds_run(output_dir: str) -> bool:
    """Whether ``output_dir`` holds a training run's files (checkpoints, weights or its history)."""
    return bool(run_files(output_dir)) or os.path.isfile(os.path.join(output_dir, "train_history.json"))


def eval_folder(output_dir: str) -> str:
    """Where mode=eval writes when ``output_dir`` is a training run's folder: its ``eval/`` sub-folder."""
    from ppsci.utils import logger

    folder = os.path.join(output_dir, "eval")
    logger.message(f"output_dir={output_dir} holds a training run: the evaluation writes into {folder}, so the "
                   "run's own metrics.json and pictures are kept.")
    return folder


def _rank() -> int:
    return int(os.environ.get("PADDLE_TRAINER_ID", "0") or 0)


def lock_folder(output_dir: str) -> Optional[object]:
    """Take the exclusive lock of ``output_dir`` for this process (rank 0 of a data-parallel run).

    Returns:
        The open lock file (kept open for the process's lifetime), or None on other ranks.

    Raises:
        UserError: Another live process holds the folder.
    """
    if _rank() != 0:
        return None
    import fcntl

    key = os.path.realpath(output_dir)
    if key in _LOCKS:
        return _LOCKS[key]  # this process holds it already
    if not os.path.exists(output_dir):
        _MADE.add(key)
    os.makedirs(output_dir, exist_ok=True)
    path = os.path.join(output_dir, LOCK_NAME)
    handle = open(path, "a+", encoding="utf-8")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise UserError(f"output_dir={output_dir} is in use by another run (pid {holder}); wait for it to end, or "
                        "choose another output_dir=....") from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    _LOCKS[key] = handle
    return handle


def discard_on_refusal(output_dir: str, made_for_the_run: bool) -> None:
    """Should the run be refused, remove ``output_dir`` if it was made for this run (Hydra's default, dated
    folder, which the command line did not name) and nothing of the run was written to it."""
    if made_for_the_run:
        _MADE.add(os.path.realpath(output_dir))
    errors.on_user_error(lambda: discard_if_refused(output_dir))


def release(handle: Optional[object]) -> None:
    """Give the lock up before the process ends (after a ``fit`` in a longer program)."""
    for key, held in list(_LOCKS.items()):
        if held is handle:
            del _LOCKS[key]
            handle.close()


def check_run_folder(output_dir: str, checkpoint_path: Optional[str], overwrite: bool) -> None:
    """A new run never replaces a finished one; a resume in place continues only from ``latest.pdckpt``.

    Raises:
        UserError: Naming the files found and the three ways on.
    """
    found = run_files(output_dir)
    if not found or overwrite:
        return
    folder = os.path.join(output_dir, "checkpoints")
    latest = os.path.join(folder, "latest.pdckpt")
    if checkpoint_path and os.path.dirname(os.path.abspath(checkpoint_path)) == os.path.abspath(folder):
        if os.path.exists(latest) and not os.path.samefile(checkpoint_path, latest):
            raise UserError(f"TRAIN.checkpoint_path={checkpoint_path} is not the newest checkpoint of "
                            f"output_dir={output_dir}: continuing it there would write its older epochs over "
                            f"checkpoints/latest.*; resume it into another output_dir=..., or continue from "
                            f"TRAIN.checkpoint_path={latest}.")
        return  # continuing the run that wrote them, from its newest checkpoint
    shown = ", ".join(found[:4]) + (", ..." if len(found) > 4 else "")
    how = f"continue it with TRAIN.checkpoint_path={latest}, " if os.path.exists(latest) else ""
    raise UserError(f"output_dir={output_dir} holds the files of another run ({shown}); {how}choose another "
                    "output_dir=..., or set TRAIN.overwrite=true to replace them.")


def log_errors_to(log_file: str) -> None:
    """Also append the one-line ``ERROR:`` of a refused run to ``log_file``."""
    errors.ERROR_LOGS[:] = [log_file]


def discard_if_refused(output_dir: str) -> bool:
    """Remove ``output_dir`` if it was made for this run and holds nothing but what this process wrote first.

    That is Hydra's ``.hydra/`` files, log files and the lock, all written since the
    process started. Anything else (or anything older) keeps the folder, and so does
    a folder that existed before the run.

    Returns:
        bool: Whether the folder was removed.
    """
    if not os.path.isdir(output_dir) or os.path.realpath(output_dir) not in _MADE:
        return False
    for root, dirs, files in os.walk(output_dir):
        rel = os.path.relpath(root, output_dir)
        if rel != "." and rel.split(os.sep)[0] != ".hydra":
            return False
        for name in files:
            path = os.path.join(root, name)
            ours = rel != "." or name == LOCK_NAME or name.endswith(".log")
            if not ours or os.path.getmtime(path) < PROCESS_START - 1:
                return False
    shutil.rmtree(output_dir, ignore_errors=True)
    errors.ERROR_LOGS[:] = []
    parent = os.path.dirname(os.path.abspath(output_dir))
    while parent != os.getcwd() and os.path.isdir(parent) and not os.listdir(parent) \
            and os.path.getmtime(parent) >= PROCESS_START - 1:  # the dated folders above it, made for this run
        os.rmdir(parent)
        parent = os.path.dirname(parent)
    return not os.path.exists(output_dir)
