"""Time the trace of the matrix square root FID needs: scipy's sqrtm against eigen-decomposition routes.

FID needs only tr sqrt(S1 S2). For symmetric positive semi-definite S1, S2 and
any F with F F^T = S1, the eigenvalues of S1 S2 are those of the symmetric
F^T S2 F, so

    tr sqrt(S1 S2) = sum_i sqrt(lambda_i(F^T S2 F)).

FID's route (``ppsci_ext.metric.fid.trace_sqrt_product``) takes F = the
Cholesky factor of S1 and one symmetric eigenvalue decomposition; for a
singular S1 it falls back to F = S1^(1/2) from an eigen-decomposition (timed
here too). The general eigenvalues of S1 S2 (one non-symmetric decomposition)
give the same sum. This script times all four on one pair of covariances in
the same run and prints the relative differences of the trace and of the FID
(equal means, so FID = tr S1 + tr S2 - 2 tr sqrt(S1 S2)).

Real pool3 statistics are not available on the machine this was written on, so
the covariances are built from random features with a decaying spectrum like
pool3's (eigenvalue i proportional to (i + 1)^-decay), two sets that differ in
their spectra and a small rotation, as a generator's statistics differ from
the real ones. The relative differences are therefore measured on these
pool3-like matrices, not on real Inception statistics.

    python benchmarks/sqrtm.py                   # 2048 features, 10,000 samples per set
    python benchmarks/sqrtm.py --dim 512 --samples 4000
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import scipy
import scipy.linalg

from ppsci_ext.metric.fid import trace_sqrt_product


def pool3_like(rng: np.random.Generator, dim: int, samples: int, decay: float, rotation: float) -> np.ndarray:
    """Covariance of ``samples`` random features with a spectrum decaying as (i + 1)^-decay, slightly rotated."""
    spectrum = (np.arange(dim) + 1.0) ** -decay
    basis, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    if rotation:
        skew = rng.standard_normal((dim, dim)) * rotation / np.sqrt(dim)
        turn, _ = np.linalg.qr(np.eye(dim) + skew - skew.T)
        basis = turn @ basis
    features = (rng.standard_normal((samples, dim)) * np.sqrt(spectrum)) @ basis.T
    # pool3 features are non-negative averages of ReLUs: a positive mean shift, as there
    features += np.abs(rng.standard_normal(dim)) * 0.1
    return np.cov(features, rowvar=False)


def scipy_route(s1: np.ndarray, s2: np.ndarray) -> float:
    return float(np.trace(scipy.linalg.sqrtm(s1 @ s2)).real)


def eigh_route(s1: np.ndarray, s2: np.ndarray) -> float:
    w, v = np.linalg.eigh(s1)
    root = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    lam = np.linalg.eigvalsh(root @ s2 @ root)
    return float(np.sqrt(np.clip(lam, 0.0, None)).sum())


def eigvals_route(s1: np.ndarray, s2: np.ndarray) -> float:
    w = np.linalg.eigvals(s1 @ s2)
    return float(np.sqrt(np.clip(w.real, 0.0, None)).sum())


def timed(fn, *args):
    start = time.perf_counter()
    value = fn(*args)
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dim", type=int, default=2048, help="features (pool3: 2048)")
    parser.add_argument("--samples", type=int, default=10000, help="samples per set")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    s1 = pool3_like(rng, args.dim, args.samples, decay=1.2, rotation=0.0)   # "real"
    s2 = pool3_like(np.random.default_rng(args.seed), args.dim, args.samples, decay=1.2, rotation=0.3)  # "generated"
    s2 = 0.5 * (s2 + pool3_like(rng, args.dim, args.samples, decay=1.0, rotation=0.0))
    threads = os.environ.get("OMP_NUM_THREADS", "default")
    print(f"tr sqrt(S1 S2), {args.dim}x{args.dim} pool3-like covariances from {args.samples} random features each "
          f"(decaying spectrum; not real Inception statistics); numpy {np.__version__}, scipy {scipy.__version__}, "
          f"OMP_NUM_THREADS={threads}")
    routes = [("scipy.linalg.sqrtm(S1 @ S2), trace", scipy_route),
              ("Cholesky + eigvalsh (FID's route)", trace_sqrt_product),
              ("eigh root + eigvalsh (singular S1)", eigh_route),
              ("eigvals(S1 @ S2)", eigvals_route)]
    results = [(name, *timed(fn, s1, s2)) for name, fn in routes]
    reference, reference_time = results[0][1], results[0][2]
    base = np.trace(s1) + np.trace(s2)
    print(f"{'route':40s} {'seconds':>8s} {'scipy / route':>13s} {'trace rel. diff':>16s} {'FID rel. diff':>14s}")
    for name, value, seconds in results:
        trace_diff = abs(value - reference) / abs(reference)
        fid_diff = abs((base - 2 * value) - (base - 2 * reference)) / abs(base - 2 * reference)
        print(f"{name:40s} {seconds:8.2f} {reference_time / seconds:12.1f}x {trace_diff:16.2e} {fid_diff:14.2e}")
    print(f"FID of the pair (scipy route): {base - 2 * reference:.10f}")

if __name__ == "__main__":
    main()
