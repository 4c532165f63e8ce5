"""Critic update with the WGAN-GP loss run eagerly against the same loss compiled by ``paddle.jit.to_static``.

The compiled function is the critic objective of one update (interpolation,
joint critic pass over real and fake, critic pass over the interpolates, the
penalty's ``paddle.grad(create_graph=True)``); ``backward()`` and the Adam step
run outside, as the solver does. Checks that both give the same loss and
critic gradients on the same inputs, then times both in alternating rounds
(ms per critic update) and prints the ratio (below 1.0: to_static is faster).

    python benchmarks/to_static_critic.py [--experiment toy|mnist] [--rounds 5] [--iters 10]
"""

import ppsci_ext  # noqa: F401  (first: CPU defaults before Paddle loads)

import argparse
import statistics
import time

import numpy as np
import paddle

from ppsci_ext.arch import MNISTCritic, MNISTGenerator, ToyCritic, ToyGenerator
from ppsci_ext.loss import WGANGPLoss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", choices=["toy", "mnist"], default="toy")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--iters", type=int, default=10)
    args = parser.parse_args()

    paddle.seed(0)
    if args.experiment == "toy":
        critic, generator, batch, objective, key = ToyCritic(), ToyGenerator(), 256, WGANGPLoss(0.1), "x"
        shape, noise = [batch, 2], [batch, 2]
    else:
        critic, generator, batch, objective, key = MNISTCritic(), MNISTGenerator(), 50, WGANGPLoss(10.0), "img"
        shape, noise = [batch, 1, 28, 28], [batch, 128]
    optimizer = paddle.optimizer.Adam(1e-4, beta1=0.5, beta2=0.9, parameters=critic.parameters())

    def critic_loss(real, fake, eps):
        x_interp = eps * real + (1.0 - eps) * fake
        x_interp.stop_gradient = False
        joint = critic({key: paddle.concat([real, fake])})["score"]
        out = {"score_real": joint[:batch], "score_fake": joint[batch:], "x_interp": x_interp,
               "score_interp": critic({key: x_interp})["score"]}
        return objective.critic(out, {})["critic_loss"]

    compiled = paddle.jit.to_static(critic_loss, full_graph=True)

    def inputs():
        real = paddle.rand(shape)
        with paddle.no_grad():
            fake = generator({"z": paddle.randn(noise)})[key]
        return real, fake, paddle.rand([batch] + [1] * (len(shape) - 1))

    def update(fn):
        loss = fn(*inputs())
        loss.backward()
        optimizer.step()
        optimizer.clear_grad()
        return loss

    same = inputs()
    results = []
    for fn in (critic_loss, compiled):
        loss = fn(*same)
        loss.backward()
        results.append((float(loss), [p.grad.numpy().copy() for p in critic.parameters()]))
        optimizer.clear_grad()
    grad_diff = max(float(np.abs(a - b).max()) for a, b in zip(results[0][1], results[1][1]))
    print(f"{args.experiment} critic update, batch {batch}: loss eager {results[0][0]:.6f}, "
          f"to_static {results[1][0]:.6f}; max |grad difference| {grad_diff:.2e}")

    times = {"eager": [], "to_static": []}
    for fn in (critic_loss, compiled):
        float(update(fn))  # warm-up (and compilation)
    for _ in range(args.rounds):
        for name, fn in (("eager", critic_loss), ("to_static", compiled)):
            start = time.perf_counter()
            for _ in range(args.iters):
                loss = update(fn)
            float(loss)
            times[name].append((time.perf_counter() - start) / args.iters * 1000.0)
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in med.items():
        print(f"  {k:10s} {v:8.1f} ms / critic update (rounds: {', '.join(f'{t:.0f}' for t in times[k])})")
    print(f"  ratio to_static / eager: {med['to_static'] / med['eager']:.2f}")


if __name__ == "__main__":
    main()
