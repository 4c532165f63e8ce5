"""Download a file whose SHA-256 is known, so the destination never holds a partial or wrong file.

The file is streamed into a temporary file next to the destination (the
``<name>.tmp<pid>`` of ``ppsci_ext.io.atomic``, so ``remove_stale_temporaries``
clears what a killed download left), hashed as it arrives, and renamed onto the
destination only when its SHA-256 and size are the expected ones. Any failure
removes the temporary file and raises one ``UserError`` line saying what went
wrong and what to do.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import socket
import urllib.error
import urllib.request
from typing import Optional

from ppsci_ext.errors import UserError
from ppsci_ext.io.atomic import atomic_write, remove_stale_temporaries
from ppsci_ext.progress import progress

BLOCK = 1 << 20  # bytes read, hashed and written at a time


def sha256_of(path: str) -> str:
    """SHA-256 (lowercase hex) of a file, read in blocks of 1 MiB.

    Args:
        path (str): The file.

    Returns:
        str: The 64 hex digits.
    """
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(BLOCK), b""):
            h.update(block)
    return h.hexdigest()


def _reason(e: BaseException) -> str:
    """A short text for a network error: the HTTP status, or the socket error without its errno."""
    if isinstance(e, urllib.error.HTTPError):
        return f"HTTP {e.code} {e.reason}".strip()
    if isinstance(e, urllib.error.URLError):
        return _reason(e.reason) if isinstance(e.reason, BaseException) else str(e.reason)
    if isinstance(e, http.client.IncompleteRead):
        return "the connection closed early"
    if isinstance(e, (TimeoutError, socket.timeout)):  # the same class from Python 3.10
        return "timed out"
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    return str(e) or type(e).__name__


def _open(url: str, what: str, offline_advice: str, timeout: float):
    try:
        return urllib.request.urlopen(url, timeout=timeout)  # noqa: S310 - the URL is the caller's choice
    except ValueError as e:  # not a URL ("unknown url type")
        raise UserError(f"could not download {what} from {url!r} (not a valid URL: {e}). {offline_advice}") from None
    except (OSError, http.client.HTTPException) as e:  # URLError, HTTPError, refused, DNS, timeout, bad status
        raise UserError(f"could not download {what} from {url} ({_reason(e)}). {offline_advice}") from None


def download(url: str, dest: str, sha256: str, what: str, offline_advice: str, size: Optional[int] = None,
             timeout: float = 60) -> str:
    """Download ``url`` to ``dest``, keeping it only if its SHA-256 (and size) are the expected ones.

    The file is written as ``<dest>.tmp<pid>`` in the folder of ``dest`` (created
    if needed) and renamed onto ``dest`` only once complete and checked, so
    ``dest`` never holds a partial or wrong file. A progress bar (in bytes)
    appears when the download takes a while.

    Args:
        url (str): http(s) URL of the file.
        dest (str): Path to write.
        sha256 (str): Expected SHA-256 of the file, hex.
        what (str): What the file is, for messages and the progress bar (e.g. "the Inception weights").
        offline_advice (str): What to do without network access; ends every network-related message.
        size (Optional[int]): Expected size in bytes, checked when given (and the progress total when
            the server sends no Content-Length).
        timeout (float): Seconds to wait for the connection and for each block. Defaults to 60.

    Returns:
        str: ``dest``.

    Raises:
        UserError: If the server cannot be reached or answers with an error, the connection is cut,
            the file is not the expected one, or it cannot be written; nothing is left behind.

    Examples:
        >>> from ppsci_ext.io.download import download
        >>> download("https://example.org/w.pth", "cache/w.pth", "6726825d...", "the weights",
        ...          "Put w.pth in cache/ by hand.")  # doctest: +SKIP
        'cache/w.pth'
    """
    expected = sha256.strip().lower()
    folder = os.path.dirname(os.path.abspath(dest))
    remove_stale_temporaries(folder)  # left by a killed download
    written = []

    def stream(response, tmp: str) -> None:
        written.append(tmp)
        length = response.headers.get("Content-Length")
        length = int(length) if length and length.strip().isdigit() else None
        total = length if length is not None else size
        h = hashlib.sha256()
        received = 0
        try:
            f = open(tmp, "wb")
        except OSError as e:
            raise _disk_error(e, what, folder) from None
        with f, progress(total, f"Downloading {what}", unit="B") as bar:
            bar.unit_scale, bar.unit_divisor = True, 1024  # 91.2MB, not 95628359B
            while True:
                try:
                    block = response.read(BLOCK)
                except (OSError, http.client.HTTPException) as e:  # reset, timeout, IncompleteRead
                    raise _cut(url, what, offline_advice, received, total, _reason(e)) from None
                if not block:
                    break
                try:
                    f.write(block)
                except OSError as e:
                    raise _disk_error(e, what, folder) from None
                h.update(block)
                received += len(block)
                bar.update(len(block))
            try:
                f.flush()
            except OSError as e:
                raise _disk_error(e, what, folder) from None
        if length is not None and received < length:
            raise _cut(url, what, offline_advice, received, length, "the connection closed early")
        digest = h.hexdigest()
        if digest != expected or (size is not None and received != size):
            sizes = (f" ({received:,} bytes)", f" ({size:,} bytes)") if size is not None and received != size \
                else ("", "")
            raise UserError(
                f"downloaded {what} from {url}, but the file has SHA-256 {digest}{sizes[0]}, not the expected "
                f"{expected}{sizes[1]}, so it was not kept: the server or a proxy served another file. "
                f"{offline_advice}"
            )

    response = _open(url, what, offline_advice, timeout)
    try:
        with contextlib.closing(response):
            atomic_write(dest, lambda tmp: stream(response, tmp))
    except BaseException:
        for tmp in written:
            with contextlib.suppress(OSError):
                os.remove(tmp)
        raise
    return dest


def _cut(url: str, what: str, offline_advice: str, received: int, total: Optional[int], reason: str) -> UserError:
    of = f" of {total:,}" if total else ""
    return UserError(f"the download of {what} from {url} was cut after {received:,}{of} bytes ({reason}); "
                     f"nothing was kept, running again retries it. {offline_advice}")


def _disk_error(e: OSError, what: str, folder: str) -> UserError:
    return UserError(f"could not save {what} in {folder} ({e.strerror or e}); free disk space there or make the "
                     "folder writable, then run again. Nothing was kept.")
