"""The package's cache root and the digest that keys what is cached per weights file.

Decoded images, Inception and classifier statistics and downloaded weights live
under one root, shared by every run on the machine (they are keyed by the
digest of their source, so runs never mix them up).
"""

from __future__ import annotations

import os

from ppsci_ext.io.download import sha256_of


def default_cache_dir() -> str:
    """``$PPSCI_EXT_CACHE`` or ``~/.cache/ppsci_ext``."""
    return os.environ.get("PPSCI_EXT_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "ppsci_ext")


def weights_digest(path: str) -> str:
    """First 16 hex digits of the SHA-256 of a weights file: the cache key of statistics made with it."""
    return sha256_of(path)[:16]
