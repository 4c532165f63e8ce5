"""Decoding a folder of images with ``ppsci_ext.data`` (the images example's reader): speed, cache and memory.

Writes ``--count`` PNG images (``--size`` pixels square, RGB noise blurred a little so they compress like
photos) into a scratch folder, then reads them as the images example does, twice:

1. the first read decodes, centre-crops and resizes every file and writes the decoded-images cache;
2. the second read finds the cache (the folder is still hashed, byte for byte, to find it).

It prints the time of each step, images per second, the bytes of the decoded array and the peak resident
memory of the process (``ru_maxrss``), which is what "memory needed" means for a training run's data.

    python benchmarks/image_folder.py --count 100000 --size 80 --resolution 64
"""

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import ppsci_ext  # noqa: E402,F401  (CPU defaults before paddle)
from ppsci_ext.data import cached_image_set  # noqa: E402


def write_folder(folder: str, count: int, size: int, classes: int) -> None:
    from PIL import Image, ImageFilter

    rng = np.random.default_rng(0)
    for i in range(count):
        sub = os.path.join(folder, f"class{i % classes}")
        os.makedirs(sub, exist_ok=True)
        im = Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).filter(ImageFilter.BLUR)
        im.save(os.path.join(sub, f"{i:06d}.png"))


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kilobytes on Linux


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--size", type=int, default=80, help="side of the PNGs written")
    parser.add_argument("--resolution", type=int, default=64, choices=(32, 64))
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--scratch", default=None, help="folder for the images and the cache (default: a temp dir)")
    args = parser.parse_args()
    root = args.scratch or tempfile.mkdtemp(prefix="image_folder_bench_")
    folder, cache = os.path.join(root, "images"), os.path.join(root, "cache")
    try:
        start = time.perf_counter()
        write_folder(folder, args.count, args.size, args.classes)
        written = time.perf_counter() - start
        base = peak_mb()
        start = time.perf_counter()
        first, file = cached_image_set(folder, args.resolution, cache_dir=cache)
        decode = time.perf_counter() - start
        after_first = peak_mb()
        del first
        start = time.perf_counter()
        second, _ = cached_image_set(folder, args.resolution, cache_dir=cache)
        hit = time.perf_counter() - start
        n = len(second.images)
        print(f"{n} PNGs {args.size}x{args.size} RGB ({args.classes} class folders) -> {second.images.shape} uint8")
        print(f"write the folder      {written:8.1f} s")
        print(f"first read (decode)   {decode:8.1f} s   {n / decode:8.0f} img/s")
        print(f"second read (cache)   {hit:8.1f} s   {n / hit:8.0f} img/s   ({decode / hit:.1f}x faster)")
        print(f"decoded array         {second.images.nbytes / 1e6:8.1f} MB  (N * R * R * C bytes)")
        print(f"cache file            {os.path.getsize(file) / 1e6:8.1f} MB")
        print(f"peak RSS before read  {base:8.1f} MB")
        print(f"peak RSS after read   {after_first:8.1f} MB  (+{after_first - base:.1f} MB for the decode)")
        print(f"peak RSS at the end   {peak_mb():8.1f} MB")
    finally:
        if not args.scratch:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
