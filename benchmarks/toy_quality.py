"""Quality of toy generators: modes covered, high-quality fraction, sliced Wasserstein.

For each toy dataset, scores 10,000 samples of (a) the weights shipped with the
package (or those in --weights-dir), (b) an untrained generator of the same
architecture, and (c) fresh real samples, each against 10,000 other real
samples, and prints a Markdown table.

    python benchmarks/toy_quality.py [--weights-dir DIR] [--num-samples 10000]

--weights-dir expects wgangp_toy_{mode}_gen.pdparams files, as the package ships.
"""

import ppsci_ext  # noqa: F401  (first: CPU defaults before Paddle loads)

import argparse
import os

import numpy as np
import paddle

from ppsci_ext.arch import ToyGenerator
from ppsci_ext.data import TOY_MODES, sample_toy
from ppsci_ext.metric import ToyMetric
from ppsci_ext.pretrained import shipped_weights
from ppsci_ext.io import load_network


@paddle.no_grad()
def generate(generator: ToyGenerator, n: int, seed: int) -> np.ndarray:
    z = np.random.default_rng(seed).standard_normal((n, generator.noise_dim)).astype(np.float32)
    generator.eval()
    return generator({"z": paddle.to_tensor(z)})["x"].numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights-dir", default=None)
    parser.add_argument("--num-samples", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=1234)
    args = parser.parse_args()
    n = args.num_samples
    print(f"| data | generator | modes | high-quality | SWD |")
    print(f"|---|---|---|---|---|")
    for mode in TOY_MODES:
        rng = np.random.default_rng(args.seed)
        real = sample_toy(mode, n, rng)
        metric = ToyMetric(mode)
        paddle.seed(0)
        untrained = ToyGenerator()
        trained = ToyGenerator()
        if args.weights_dir:
            path = os.path.join(args.weights_dir, f"wgangp_toy_{mode}_gen.pdparams")
        else:
            path = shipped_weights("toy", mode)[0]
        load_network(trained, path, "generator")
        rows = [
            ("trained (" + os.path.basename(path) + ")", generate(trained, n, args.seed + 1)),
            ("untrained", generate(untrained, n, args.seed + 1)),
            ("real data", sample_toy(mode, n, rng)),
        ]
        for name, samples in rows:
            m = metric({"x": samples}, {"x": real})
            modes = f"{m['modes']:.0f}" if "modes" in m else "-"
            hq = f"{100 * m['high_quality']:.1f}%" if "high_quality" in m else "-"
            print(f"| {mode} | {name} | {modes} | {hq} | {m['swd']:.4f} |")


if __name__ == "__main__":
    main()
