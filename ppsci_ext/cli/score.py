"""Score images with IS / FID / KID / precision-recall from the command line (in the manner of torch-fidelity's CLI).

::

    ppsci-ext-score --input1 samples/ --weights inception_fid_is.pdparams --isc
    ppsci-ext-score --input1 samples.npz --input2 cifar10_train.npz --weights inception_fid_is.pdparams --fid --kid --prc
    ppsci-ext-score --input1 cifar10_train_png/ --weights inception_fid.pdparams --save-stats cifar10_train.npz --json

The inputs may also be given by position (``ppsci-ext-score IMAGES [REFERENCE] ...``), and
``python -m ppsci_ext.cli.score`` is the same command.

An input is a folder of images (PNG, JPEG, BMP; read in name order; a folder
of class sub-folders, the layout ``wgangp_images.py`` trains on, is read
recursively) or an ``.npz`` holding one uint8 image array (``--key`` picks one
of several). The reference may also be a statistics ``.npz`` (``mu``,
``sigma`` and, for KID, ``features``) written by ``--save-stats``.

Every check that depends on the data (sizes against ``--kid-subset-size``,
``--prc``'s neighbours, FID's two images) runs after the inputs are read and
before the network is loaded; ``--is-splits`` is checked once the weights are
known to have the fc layer IS needs, before any feature is extracted.
"""

from __future__ import annotations

import ppsci_ext  # noqa: F401  (first: sets CPU defaults before Paddle loads)

import argparse
import errno
import json
import os
import sys
from typing import Dict, List, Optional

import numpy as np

from ppsci_ext.errors import UserError, about, as_user_error, check_number, exit_on_user_error
from ppsci_ext.metric.fid import feature_statistics, frechet_distance
from ppsci_ext.data.images import IMAGE_EXTENSIONS, read_image_files, read_image_folder, to_uint8_images
from ppsci_ext.metric.inception import (
    PROTOCOL,
    inception_outputs,
    load_inception,
    load_statistics,
    resolve_inception_weights,
    save_statistics,
    statistics_of,
    weights_digest,
)
from ppsci_ext.metric.inception.features import check_same_weights
from ppsci_ext.metric.isc import inception_score
from ppsci_ext.metric.kid import kernel_inception_distance
from ppsci_ext.metric.prdc import prdc

# Neighbours of density / coverage (precision / recall use 3): each side needs more points.
PRDC_K = 5


def read_folder(folder: str) -> np.ndarray:
    """The images of a folder as ``[N, H, W, 3]`` uint8: its own images, or those of its sub-folders (recursive).

    A folder that holds images is read as before (name order, not recursive); one that holds
    none but has sub-folders of images (``class/image.png``, the layout of ``wgangp_images.py``)
    is read recursively, in path order. Every image must be readable and of one size.
    """
    from ppsci_ext.data.image_sets import list_image_files

    try:
        direct = [n for n in os.listdir(folder) if n.lower().endswith(IMAGE_EXTENSIONS)]
        subfolders = [n for n in os.listdir(folder) if os.path.isdir(os.path.join(folder, n))]
    except OSError:
        direct, subfolders = [], []
    if direct or not subfolders:
        return read_image_folder(folder)  # flat (its messages for an empty or image-less folder)
    try:
        files, _, _ = list_image_files(folder, bad_images="stop")
    except UserError:
        return read_image_folder(folder)  # nothing below either: the flat reader's message
    files = [f for f in files if f.lower().endswith(IMAGE_EXTENSIONS)]
    if not files:
        return read_image_folder(folder)
    return read_image_files(folder, files)


def read_input(path: str, key: Optional[str] = None) -> Dict[str, np.ndarray]:
    """Images (``{"images": ...}``) or statistics (``{"mu", "sigma", ...}``) from a folder or an ``.npz``."""
    if os.path.isdir(path):
        return {"images": read_folder(path)}
    if not os.path.isfile(path):
        raise UserError(f"{path!r} is neither a folder of images nor an .npz file.")
    if path.lower().endswith(IMAGE_EXTENSIONS):
        raise UserError(f"{path!r} is one image file; give the folder that holds the images, or an .npz of them.")
    with as_user_error(f"{path!r} is not a readable .npz ({{error}})."), np.load(path, allow_pickle=False) as data:
        names = list(data.files)
        if "mu" in names and ("sigma" in names or "sigma_triu" in names):
            return load_statistics(path)
        if key is None and len(names) != 1:
            raise UserError(f"{path!r} holds arrays {names}; choose the images with --key NAME.")
        name = key or names[0]
        if name not in names:
            raise UserError(f"{path!r} has no array {name!r}; it holds {names}.")
        images = data[name]
    if images.dtype != np.uint8:
        raise UserError(f"{path!r}: array {name!r} is {images.dtype}; store the images as uint8 in [0, 255].")
    with about(repr(path)):  # the array's shape is checked here: name the file
        return {"images": to_uint8_images(images)}


def score(
    input1: str,
    input2: Optional[str],
    weights: str,
    isc: bool = False,
    fid: bool = False,
    kid: bool = False,
    key: Optional[str] = None,
    batch_size: int = PROTOCOL["batch_size"],
    is_splits: int = PROTOCOL["is_splits"],
    kid_subsets: int = PROTOCOL["kid_subsets"],
    kid_subset_size: int = PROTOCOL["kid_subset_size"],
    save_stats: Optional[str] = None,
    prc: bool = False,
) -> Dict[str, float]:
    """Compute the requested metrics of ``input1`` (against ``input2`` for FID / KID).

    Args:
        input1 (str): Folder or ``.npz`` of the images to score.
        input2 (Optional[str]): Reference images or statistics (FID, KID).
        weights (str): Converted Inception weights, or ``auto`` (the standard ones, fetched once).
        isc (bool): Compute the Inception Score of input1.
        fid (bool): Compute FID between input1 and input2.
        kid (bool): Compute KID between input1 and input2.
        key (Optional[str]): Array name in image ``.npz`` files with several arrays.
        batch_size (int): Images per forward pass.
        is_splits (int): IS splits.
        kid_subsets (int): KID subsets.
        kid_subset_size (int): KID subset size.
        save_stats (Optional[str]): Write input1's statistics (with features) to this ``.npz``.
        prc (bool): Compute precision / recall (k=3) and density / coverage (k=5) of input1 against input2
            on the pool3 features.

    Returns:
        Dict[str, float]: ``num_images`` of input1, ``num_images_input2`` with a second input (its images, or
            the count its statistics record; None when they record none), and ``is_mean``/``is_std``, ``fid``, ``kid_mean``/``kid_std``,
            ``precision``/``recall``/``density``/``coverage`` as requested.
    """
    if not (isc or fid or kid or prc or save_stats):
        raise UserError("nothing to do: ask for --isc, --fid, --kid, --prc and/or --save-stats PATH.")
    if (fid or kid or prc) and not input2:
        raise UserError("FID, KID and precision/recall need a second input (--input2): reference images or a "
                        "statistics .npz.")
    first = read_input(input1, key)
    if "images" not in first:
        raise UserError(f"{input1!r} holds statistics, not images; the first input must be images.")
    second = read_input(input2, key) if (fid or kid or prc) else None
    weights = resolve_inception_weights(weights)  # a path is checked at once; the network loads only later
    check_sizes(input1, len(first["images"]), input2, second, fid, kid, prc, kid_subset_size)
    if second is not None and "images" not in second:
        check_same_weights(second, weights, repr(input2))
    net = load_inception(weights)
    if isc:  # IS needs the fc layer, which only the weights tell, then enough images for its splits
        net.require_logits()
        check_is_splits(input1, len(first["images"]), is_splits)
    out = inception_outputs(first["images"], net, batch_size, logits=isc)
    result: Dict[str, float] = {"num_images": len(out["pool3"])}
    if second is not None:
        result["num_images_input2"] = input2_count(second)
    if isc:
        result["is_mean"], result["is_std"] = inception_score(out["logits"], is_splits)
    if save_stats:
        save_statistics(save_stats, statistics_of(out["pool3"]), weights_digest=weights_digest(weights))
    if second is not None:
        if "images" in second:
            second = statistics_of(inception_outputs(second["images"], net, batch_size,
                                                     what="Inception features of input2")["pool3"])
        if fid:
            mu, sigma = feature_statistics(out["pool3"])
            result["fid"] = frechet_distance(mu, sigma, second["mu"], second["sigma"])
        if kid:
            result["kid_mean"], result["kid_std"] = kernel_inception_distance(
                out["pool3"], second["features"], kid_subsets, kid_subset_size
            )
        if prc:
            result.update(prdc(second["features"], out["pool3"]))
    return result


def input2_count(second: Dict[str, np.ndarray]) -> Optional[int]:
    """Images behind the second input: its images, or the ``num_images`` a statistics file records (else None)."""
    if "images" in second:
        return int(len(second["images"]))
    return int(second["num_images"]) if "num_images" in second else None


def check_is_splits(input1: str, n1: int, is_splits: int) -> None:
    """--is-splits may not exceed input1's images (checked once the weights are known to have the fc layer)."""
    if is_splits > n1:
        raise UserError(f"--is-splits {is_splits} exceeds the {n1} images of input1 {input1!r}; give --is-splits "
                        f"{n1} or fewer (10 is the protocol's, with 50,000 images).")


def check_sizes(input1: str, n1: int, input2: Optional[str], second: Optional[Dict[str, np.ndarray]],
                fid: bool, kid: bool, prc: bool, kid_subset_size: int) -> None:
    """The options that depend on the data, checked before the network is loaded; messages name the flags.

    Raises:
        UserError: A statistics file without the features KID / --prc need, FID of a single image,
            --prc with too few images for its neighbours, or a --kid-subset-size above the smaller side.
    """
    if fid and n1 < 2:
        raise UserError(f"--fid needs N >= 2 images in input1 {input1!r} (it has {n1}) for a covariance; "
                        "give more images.")
    if second is None:
        return
    if "images" in second:
        n2, what2 = len(second["images"]), "images"
    else:
        for flag, wanted in (("--kid", kid), ("--prc", prc)):
            if wanted and "features" not in second:
                raise UserError(f"{input2!r} has no features for {flag} (only mu and sigma); recompute it with "
                                "--save-stats, or drop " + flag + ".")
        n2, what2 = (len(second["features"]) if "features" in second else None), "features"
    if fid and n2 is not None and n2 < 2:
        raise UserError(f"--fid needs N >= 2 images in input2 {input2!r} (it has {n2}); give more images.")
    if prc:
        for side, path, n in (("input1", input1, n1), ("input2", input2, n2)):
            if n is not None and n <= PRDC_K:
                raise UserError(f"--prc compares each point with its {PRDC_K} nearest neighbours, so each input "
                                f"needs more than {PRDC_K} images, but {side} {path!r} has {n}; give more images, "
                                "or drop --prc.")
    if kid and n2 is not None and kid_subset_size > min(n1, n2):
        side, path, n = ("input1", input1, n1) if n1 <= n2 else ("input2", input2, n2)
        noun = "images" if side == "input1" else what2
        raise UserError(f"--kid-subset-size {kid_subset_size} exceeds the {n} {noun} of {side} {path!r}, the smaller "
                        f"set KID draws its subsets from; give --kid-subset-size {n} or fewer (or more images).")


# The numeric flags: each a whole number >= 1 (their defaults are the standard protocol's).
NUMERIC_FLAGS = {"--batch-size": "batch_size", "--is-splits": "is_splits", "--kid-subsets": "kid_subsets",
                 "--kid-subset-size": "kid_subset_size"}


def check_flags(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Raise ``UserError`` for the first numeric flag that is not a whole number >= 1 (its default is named)."""
    for flag, attribute in NUMERIC_FLAGS.items():
        check_number(getattr(args, attribute), flag, low=1, whole=True, default=parser.get_default(attribute))


def write_stdout(text: str) -> None:
    """Write ``text`` and a newline to stdout, now: a full disk or a closed pipe becomes a ``UserError``.

    After a failed write, stdout is pointed at the null device, so that Python's
    own flush at exit does not fail again with a traceback of its own.
    """
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except OSError as e:
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass  # no file descriptor to redirect (stdout replaced by an object): nothing is left to flush
        if e.errno == errno.EPIPE:
            reason, advice = "the program reading it closed it", "let it read everything, or write to a file"
        else:
            reason = "the disk is full" if e.errno in (errno.ENOSPC, errno.EDQUOT) else (e.strerror or str(e))
            advice = "free space where the output goes, or send it elsewhere"
        raise UserError(f"could not write the results to standard output ({reason}); the scores were computed "
                        f"but not written: {advice}.") from None


def main(argv: Optional[List[str]] = None) -> None:
    """Console entry point of ``ppsci-ext-score``."""
    parser = argparse.ArgumentParser(
        prog="ppsci-ext-score",
        description="Inception Score, FID and KID with the 2015-12-05 Inception network (see docs/metrics.md).",
    )
    parser.add_argument("input1", nargs="?", help="images to score (same as --input1)")
    parser.add_argument("input2", nargs="?", help="reference (same as --input2)")
    parser.add_argument("--input1", dest="input1_flag", metavar="DIR_OR_NPZ",
                        help="images to score: a folder of PNG/JPEG files or an .npz of uint8 images")
    parser.add_argument("--input2", dest="input2_flag", metavar="DIR_OR_NPZ_OR_STATS",
                        help="reference for FID/KID/PRC: images (folder or .npz) or a statistics .npz")
    parser.add_argument("--weights", default="auto",
                        help="converted Inception weights (.pdparams); auto (default) = the standard weights, "
                             "fetched and converted once into the cache")
    parser.add_argument("--isc", "--is", dest="isc", action="store_true",
                        help="Inception Score of input1 (needs weights with the fc layer)")
    parser.add_argument("--fid", action="store_true", help="FID between input1 and input2")
    parser.add_argument("--kid", action="store_true", help="KID between input1 and input2")
    parser.add_argument("--prc", action="store_true",
                        help="precision/recall (k=3) and density/coverage (k=5) of input1 against input2")
    parser.add_argument("--key", help="array name in .npz inputs with several arrays")
    parser.add_argument("--batch-size", type=int, default=PROTOCOL["batch_size"])
    parser.add_argument("--is-splits", type=int, default=PROTOCOL["is_splits"])
    parser.add_argument("--kid-subsets", type=int, default=PROTOCOL["kid_subsets"])
    parser.add_argument("--kid-subset-size", type=int, default=PROTOCOL["kid_subset_size"])
    parser.add_argument("--save-stats", metavar="FILE", help="write input1's mu, sigma and features to this .npz")
    parser.add_argument("--json", action="store_true", help="print every figure computed as one JSON object")
    args = parser.parse_args(argv)
    input1, input2 = args.input1_flag or args.input1, args.input2_flag or args.input2
    if not input1:
        parser.error("give the images to score: --input1 DIR_OR_NPZ")

    def run() -> Dict[str, float]:
        check_flags(args, parser)
        return score(input1, input2, args.weights, args.isc, args.fid, args.kid, args.key, args.batch_size,
                     args.is_splits, args.kid_subsets, args.kid_subset_size, args.save_stats, args.prc)

    result = exit_on_user_error(run)()
    if args.json:
        exit_on_user_error(write_stdout)(
            json.dumps({**result, **({"saved_stats": args.save_stats} if args.save_stats else {})}))
        return
    lines = []
    if "is_mean" in result:
        lines.append(f"Inception Score: {result['is_mean']:.4f} +- {result['is_std']:.4f}")
    if "fid" in result:
        lines.append(f"FID: {result['fid']:.4f}")
    if "kid_mean" in result:
        lines.append(f"KID: {result['kid_mean']:.6f} +- {result['kid_std']:.6f}")
    if "precision" in result:
        lines.append(f"precision {result['precision']:.4f}, recall {result['recall']:.4f}, "
                     f"density {result['density']:.4f}, coverage {result['coverage']:.4f}")
    if args.save_stats:
        lines.append(f"statistics written to {args.save_stats}")
    if lines:
        exit_on_user_error(write_stdout)("\n".join(lines))


if __name__ == "__main__":
    main()
