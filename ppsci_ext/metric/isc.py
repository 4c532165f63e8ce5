"""Inception Score (Salimans et al. 2016) of class predictions.

IS = exp(E_x KL(p(y|x) || p(y))), computed, as in the original code, on
consecutive splits of the samples (10 splits of 50,000 by default in the
literature; no shuffling), with p(y) the mean prediction of the split; the
result is the mean and the standard deviation (``ddof=0``) over the splits.
The predictions are the 1008-way softmax of the 2015-12-05 Inception network
(see ``ppsci_ext.arch.InceptionV3FID``).
"""

from __future__ import annotations

from typing import Tuple

import numpy as np
from scipy.special import log_softmax, rel_entr

from ppsci_ext.errors import UserError


def _check_splits(splits, n: int) -> int:
    if isinstance(splits, bool) or not isinstance(splits, (int, np.integer)) or not 1 <= splits <= n:
        raise UserError(f"IS splits must be an integer in [1, {n}] (the number of samples), got {splits!r}.")
    return int(splits)


def inception_score(predictions, splits: int = 10, kind: str = "logits") -> Tuple[float, float]:
    """Inception Score: mean and standard deviation over ``splits`` consecutive splits.

    Args:
        predictions: ``[N, C]`` logits (``kind="logits"``) or probabilities
            (``kind="probs"``, rows summing to 1) of N samples.
        splits (int): Number of splits. Defaults to 10, the published protocol.
        kind (str): "logits" or "probs". Defaults to "logits".

    Returns:
        Tuple[float, float]: Mean and standard deviation of the score over the splits.

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.metric import inception_score
        >>> inception_score(np.tile(np.eye(4), (3, 1)), splits=3, kind="probs")
        (4.0, 0.0)
    """
    p = np.asarray(predictions, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] == 0:
        raise UserError(f"inception_score needs [N, C] predictions, got shape {p.shape}.")
    if not np.all(np.isfinite(p)):
        raise UserError("inception_score got non-finite predictions; check the generator's outputs.")
    if kind == "logits":
        p = np.exp(log_softmax(p, axis=1))
    elif kind == "probs":
        if np.any(p < 0) or not np.allclose(p.sum(axis=1), 1.0, atol=1e-4):
            raise UserError("inception_score(kind='probs') needs rows of non-negative numbers summing to 1.")
    else:
        raise UserError(f"inception_score kind must be 'logits' or 'probs', got {kind!r}.")
    n = p.shape[0]
    splits = _check_splits(splits, n)
    scores = []
    for i in range(splits):
        part = p[i * n // splits : (i + 1) * n // splits]
        # rel_entr is p * log(p / q) with 0 * log 0 = 0, so one-hot predictions are exact.
        kl = rel_entr(part, part.mean(axis=0, keepdims=True)).sum(axis=1).mean()
        scores.append(np.exp(kl))
    return float(np.mean(scores)), float(np.std(scores))
