"""Progress of long steps (Inception features, reference statistics, sampling, export) on stderr.

A bar appears only once its step has run for a few seconds, so short steps and
tests print nothing; a long one shows what it is doing, a count, a rate and an ETA.
"""

from __future__ import annotations

import sys

# Seconds a step runs before its bar appears.
DELAY = 5.0


def progress(total: int, what: str, unit: str = "img"):
    """A tqdm bar for ``total`` items of the step ``what`` (update it with ``bar.update(n)``; use as a context)."""
    from tqdm import tqdm  # ppsci depends on tqdm

    return tqdm(total=total, desc=what, unit=unit, delay=DELAY, file=sys.stderr, dynamic_ncols=True,
                mininterval=1.0)
