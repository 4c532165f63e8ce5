"""Progress of long steps (features, matrix square roots, neighbour searches, KID subsets, ...) on stderr.

A bar appears only once its step has run for ``DELAY`` seconds, so short steps
and tests print nothing; a long one shows what it is doing, a count, a rate and
an ETA. A step that makes no progress for a while (one long matrix operation)
still shows up: the bar is redrawn every second after the delay, with its
elapsed time.
"""

from __future__ import annotations

import sys
import threading

# Seconds a step runs before its bar appears.
DELAY = 5.0
# Seconds between redraws: on a terminal, and in a file or pipe (where every redraw stays in the output).
TICK = 1.0
TICK_PLAIN = 30.0

_BAR_CLASS = None


def _bar_class():
    global _BAR_CLASS
    if _BAR_CLASS is None:
        from tqdm import tqdm  # ppsci depends on tqdm

        class Bar(tqdm):
            """A tqdm bar that is redrawn after ``delay`` even when no update comes."""

            def __init__(self, *args, **kwargs):
                self._stop = threading.Event()
                self._draw_lock = threading.Lock()
                super().__init__(*args, **kwargs)
                if self.delay > 0 and not self.disable:
                    threading.Thread(target=self._tick, daemon=True).start()

            def _tick(self) -> None:
                if self._stop.wait(self.delay):
                    return
                while self.show():
                    if self._stop.wait(self.mininterval):
                        return

            def show(self) -> bool:
                """Draw the bar now (as an update after the delay would); False once it is closed."""
                with self._draw_lock:
                    if self._stop.is_set() or self.disable:
                        return False
                    self.refresh()
                    self.last_print_t = max(self._time(), self.start_t + self.delay)  # so close() ends the line
                    return True

            def close(self) -> None:
                with self._draw_lock:
                    self._stop.set()
                super().close()

        _BAR_CLASS = Bar
    return _BAR_CLASS


def progress(total: int, what: str, unit: str = "img"):
    """A bar for ``total`` items of the step ``what`` (update it with ``bar.update(n)``; use as a context).

    Args:
        total (int): Items (images, steps, classes, subsets, points) of the step.
        what (str): What the step is doing, the bar's label.
        unit (str): Name of one item. Defaults to "img".
    """
    return _bar_class()(total=total, desc=what, unit=unit, delay=DELAY, file=sys.stderr, dynamic_ncols=True,
                        mininterval=redraw_interval(sys.stderr))


def redraw_interval(stream) -> float:
    """``TICK`` on a terminal, ``TICK_PLAIN`` otherwise (a log file keeps every redraw)."""
    try:
        return TICK if stream.isatty() else TICK_PLAIN
    except (AttributeError, ValueError):
        return TICK_PLAIN
