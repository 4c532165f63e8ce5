"""Hydra's own errors (unknown key, override syntax, an output folder that cannot be made) in one line.

Hydra reports them in several lines, or with a stack trace, and exit status 1.
``install()`` swaps Hydra's reporter (``hydra._internal.utils.run_and_report``,
looked up at call time by ``_run_hydra``; through ``ppsci_ext._private``) for one that prints them as
``ERROR: ...`` and exits with status 2, like every other user error of this
package. Exceptions raised inside the example's task function are left to
Hydra's own reporter, so a bug still shows its stack trace, and
``HYDRA_FULL_ERROR=1`` still gives Hydra's full output.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable, Optional

_ERRORS_FILE = os.path.join("ppsci_ext", "errors.py")


def _from_task(ex: BaseException) -> bool:
    """Whether ``ex`` was raised inside the task function (which ``exit_on_user_error`` wraps)."""
    tb = ex.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith(_ERRORS_FILE):
            return True
        tb = tb.tb_next
    return False


def _first_line(ex: Optional[BaseException]) -> str:
    text = str(ex).strip() if ex is not None else ""
    return text.splitlines()[0].strip().rstrip(".") if text else ""


def one_line(ex: BaseException) -> Optional[str]:
    """The one-line message for an error Hydra met before the task ran, or None when it is not one of those."""
    from hydra.errors import HydraException, OverrideParseException
    from omegaconf.errors import OmegaConfBaseException

    if _from_task(ex):
        return None  # the example's own code: a UserError was already reported, anything else is a bug
    script = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "the script"
    if isinstance(ex, OverrideParseException):
        return (f"cannot parse the override {ex.override!r} ({_first_line(ex)}); write KEY=VALUE, quoting values "
                "with spaces or brackets (https://hydra.cc/docs/advanced/override_grammar/basic).")
    if isinstance(ex, (HydraException, OmegaConfBaseException)):
        parts = [p for p in (_first_line(ex), _first_line(ex.__cause__)) if p]
        return f"{': '.join(parts)}. Check the spelling of the override; `python {script} --help` lists every key."
    if isinstance(ex, OSError):
        return (f"could not create the output folder {ex.filename}: {ex.strerror or ex}; choose another "
                "output_dir=... (a writable folder, not below a file).")
    return None


def install() -> None:
    """Route Hydra's configuration and start-up errors through ``one_line`` (idempotent)."""
    from ppsci_ext import _private

    hydra_report = _private.hydra_reporter()
    if getattr(hydra_report, "_ppsci_ext", False):
        return

    def run_and_report(func: Callable[[], Any]) -> Any:
        try:
            return func()
        except Exception as ex:  # noqa: BLE001 - sorted below; anything else goes to Hydra's reporter
            message = None if os.environ.get("HYDRA_FULL_ERROR") == "1" else one_line(ex)
            if message is None:
                error = ex
                return hydra_report(lambda: _reraise(error))
            print(f"ERROR: {message}", file=sys.stderr, flush=True)
            sys.exit(2)

    run_and_report._ppsci_ext = True
    _private.set_hydra_reporter(run_and_report)


def _reraise(ex: BaseException) -> Any:
    raise ex
