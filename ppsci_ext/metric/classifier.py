"""MNIST score and Frechet distance from a small digit classifier: sample quality without ImageNet weights.

- MNIST score: the Inception-Score formula ``exp(E_x KL(p(y|x) || p(y)))`` with
  the 10-way softmax of ``ppsci_ext.arch.MNISTClassifier`` instead of
  Inception's, over 10 consecutive splits (``ppsci_ext.metric.inception_score``).
  It is 1 for samples the classifier cannot tell apart and 10 for confidently
  classified samples spread evenly over the digits.
- Classifier Frechet distance: ``frechet_distance`` between Gaussian fits of the
  classifier's penultimate features (128-d) of the samples and of the real
  test digits (lower is better, 0 for identical statistics).

The weights shipped in ``ppsci_ext/pretrained/mnist_classifier.pdparams`` come
from ``ppsci-ext-train-classifier`` (see docs/mnist.md).
"""

from __future__ import annotations

import os
from typing import Dict, Optional, Tuple

import numpy as np
import paddle
from scipy.special import log_softmax

from ppsci_ext.arch.mnist import MNISTClassifier, build_mnist_classifier
from ppsci_ext.errors import UserError, check_finite
from ppsci_ext.io.weights import cached_model, extract_network, load_checked, load_file
from ppsci_ext.metric import reference
from ppsci_ext.metric.fid import feature_statistics, frechet_distance
from ppsci_ext.metric.isc import inception_score
from ppsci_ext.metric.prdc import prdc
from ppsci_ext.progress import progress

SHIPPED_CLASSIFIER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pretrained",
                                  "mnist_classifier.pdparams")


def load_classifier(weights_path: Optional[str] = None) -> MNISTClassifier:
    """The classifier in eval mode, loaded once per file and process.

    Args:
        weights_path (Optional[str]): ``.pdparams`` written by ``ppsci-ext-train-classifier`` (its ``--arch``,
            ``MNISTClassifier`` or ``MNISTMLPClassifier``, is read off the weights); None = the shipped CNN.

    Returns:
        MNISTClassifier or MNISTMLPClassifier: The network.
    """
    path = weights_path or SHIPPED_CLASSIFIER
    if not os.path.isfile(path):
        raise UserError(f"MNIST classifier weights {path!r} not found; train them with `ppsci-ext-train-classifier "
                        "--out PATH` and give that path.")
    return cached_model("mnist classifier", path, _build_classifier)


def _build_classifier(path: str) -> MNISTClassifier:
    state = extract_network(load_file(path), "MNIST classifier", path)
    net = build_mnist_classifier(state, path)  # the CNN or the MLP, read off the weights
    load_checked(net, state, "MNIST classifier", path)
    net.eval()
    return net


def classifier_outputs(images, net: MNISTClassifier, batch_size: int = 500) -> Dict[str, np.ndarray]:
    """Softmax logits and penultimate features of images ``[N, 1, 28, 28]`` (or ``[N, 784]``) in [0, 1].

    Args:
        images: Array or tensor of N digits.
        net (MNISTClassifier): The classifier.
        batch_size (int): Images per forward pass. Defaults to 500.

    Returns:
        Dict[str, np.ndarray]: ``logits`` ``[N, 10]`` and ``features`` ``[N, D]``, float64.
    """
    x = images.numpy() if isinstance(images, paddle.Tensor) else np.asarray(images)
    if x.ndim < 2 or x.shape[0] == 0 or int(np.prod(x.shape[1:])) != 784:
        raise UserError(f"the MNIST classifier needs [N, 1, 28, 28] images, got shape {x.shape}.")
    check_finite(x, "the images")
    x = x.reshape(-1, 1, 28, 28).astype(np.float32)
    logits, features = [], []
    net.eval()
    with paddle.no_grad(), progress(len(x), "MNIST classifier features") as bar:
        for i in range(0, len(x), batch_size):
            out = net({net.input_keys[0]: paddle.to_tensor(x[i : i + batch_size])})
            logits.append(out[net.output_keys[0]].numpy())
            features.append(out[net.output_keys[1]].numpy())
            bar.update(min(batch_size, len(x) - i))
    return {"logits": np.concatenate(logits).astype(np.float64),
            "features": np.concatenate(features).astype(np.float64)}


def mnist_score(logits, splits: int = 10) -> Tuple[float, float]:
    """MNIST score (Inception-Score formula on the classifier's predictions): mean and std over splits.

    Args:
        logits: ``[N, 10]`` classifier logits.
        splits (int): Consecutive splits. Defaults to 10.

    Returns:
        Tuple[float, float]: Mean and standard deviation over the splits.

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.metric import mnist_score
        >>> [round(v, 6) for v in mnist_score(np.zeros((20, 10)), splits=2)]  # uniform predictions
        [1.0, 0.0]
    """
    return inception_score(logits, splits, kind="logits")


def top_probability(logits) -> np.ndarray:
    """``[N]`` probability of each sample's most likely class (``prediction_confidence`` compares it with its
    threshold)."""
    return np.exp(log_softmax(np.asarray(logits, dtype=np.float64), axis=1).max(axis=1))


def prediction_confidence(logits, threshold: float = 0.9) -> Dict[str, float]:
    """How sure the classifier is of each sample: what the MNIST score loses to ambiguous digits.

    The score is ``exp(H(y) - E_x H(y|x))`` per split; with the digits evenly spread (``H(y)``
    near ``log 10``) the mean conditional entropy ``E_x H(y|x)`` is what keeps it below 10.

    Args:
        logits: ``[N, 10]`` classifier logits.
        threshold (float): A sample is low-confidence when its top class probability is below
            this. Defaults to 0.9.

    Returns:
        Dict[str, float]: ``entropy`` (mean H(y|x) in nats), ``low_confidence`` (share of samples
        whose top probability is below ``threshold``) and ``low_confidence_entropy`` (their share of
        the summed H(y|x); 0 when the total is 0).

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.metric.classifier import prediction_confidence
        >>> r = prediction_confidence(np.array([[0.0, 0.0], [20.0, 0.0]]))  # one 50/50, one sure
        >>> round(r["entropy"], 4), r["low_confidence"], round(r["low_confidence_entropy"], 4)
        (0.3466, 0.5, 1.0)
    """
    log_p = log_softmax(np.asarray(logits, dtype=np.float64), axis=1)
    p = np.exp(log_p)
    h = -(p * log_p).sum(axis=1)
    low = p.max(axis=1) < threshold
    total = h.sum()
    return {"entropy": float(h.mean()), "low_confidence": float(low.mean()),
            "low_confidence_entropy": float(h[low].sum() / total) if total > 0 else 0.0}


def classifier_frechet_distance(features, reference: Dict[str, np.ndarray]) -> float:
    """Frechet distance between the Gaussian fit of ``features`` and ``reference`` (``mu``, ``sigma``).

    Args:
        features: ``[N, D]`` penultimate features of the samples.
        reference (Dict[str, np.ndarray]): ``mu`` ``[D]`` and ``sigma`` ``[D, D]`` of the real digits.

    Returns:
        float: The distance.
    """
    mu, sigma = feature_statistics(features)
    return frechet_distance(mu, sigma, reference["mu"], reference["sigma"])


class MNISTClassifierMetric:
    """FunctionalMetric-compatible MNIST score and classifier Frechet distance of generated digits.

    ``output_dict[key]`` holds generated digits in [0, 1]. The real side of the
    distance is ``reference_images`` when given, else ``label_dict[key]``.

    Args:
        weights_path (Optional[str]): Classifier weights; None = the shipped ones.
        key (str): Name of the images in both dicts. Defaults to "img".
        reference_images (Optional[np.ndarray]): Real digits (e.g. the test split),
            whose statistics are computed once. Defaults to None.
        splits (int): Splits of the score. Defaults to 10.
        batch_size (int): Images per forward pass. Defaults to 500.
        cache_name (Optional[str]): Cache the statistics of ``reference_images``
            as ``<cache>/classifier_stats/<cache_name>-<weights digest>.npz``; the
            name must carry a digest of the images. Defaults to None (no cache).
        prdc (bool): Also precision / recall (k=3) and density / coverage (k=5)
            on the classifier's features. Defaults to False.

    Returns (of a call):
        Dict[str, float]: ``score``, ``score_std``, ``frechet`` and, with ``prdc``,
        ``precision``, ``recall``, ``density``, ``coverage``.

    Examples:
        >>> import ppsci
        >>> from ppsci_ext.metric import MNISTClassifierMetric
        >>> metric = ppsci.metric.FunctionalMetric(MNISTClassifierMetric())  # doctest: +SKIP
    """

    def __init__(self, weights_path: Optional[str] = None, key: str = "img",
                 reference_images: Optional[np.ndarray] = None, splits: int = 10, batch_size: int = 500,
                 cache_name: Optional[str] = None, prdc: bool = False):
        self.net = load_classifier(weights_path)
        self.key = key
        self.splits = splits
        self.batch_size = batch_size
        self.prdc = prdc
        self._reference = None
        if reference_images is not None:
            if cache_name:
                from ppsci_ext.io.cache import default_cache_dir, weights_digest

                path = weights_path or SHIPPED_CLASSIFIER
                cache = os.path.join(default_cache_dir(), "classifier_stats",
                                     f"{cache_name}-{weights_digest(path)}.npz")
                self._reference = reference.cached(cache, lambda: self._features(reference_images),
                                                   len(reference_images))
            else:
                self._reference = self._statistics(reference_images)

    def _features(self, images) -> np.ndarray:
        return classifier_outputs(images, self.net, self.batch_size)["features"]

    def _statistics(self, images) -> Dict[str, np.ndarray]:
        return reference.compact_stored(self._features(images))  # as the cache would give them

    def __call__(self, output_dict: Dict, label_dict: Optional[Dict] = None) -> Dict[str, float]:
        if self.key not in output_dict:
            raise UserError(f"no generated images under {self.key!r}; the outputs are {sorted(output_dict)}.")
        out = classifier_outputs(output_dict[self.key], self.net, self.batch_size)
        result = dict(zip(("score", "score_std"), mnist_score(out["logits"], self.splits)))
        reference = self._reference
        if reference is None and label_dict and self.key in label_dict:
            reference = self._statistics(label_dict[self.key])
        if reference is not None:
            result["frechet"] = classifier_frechet_distance(out["features"], reference)
            if self.prdc:
                result.update(prdc(reference["features"], out["features"]))
        return result
