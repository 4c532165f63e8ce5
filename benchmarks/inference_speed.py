"""Samples per second: eager generation vs the exported model under Paddle Inference, side by side in one run.

    OMP_NUM_THREADS=2 python benchmarks/inference_speed.py [--repeats 5] [--threads 2]

For each generator (the toy MLP of width 512, the MNIST DCGAN of dim 64, the
32x32 ResNet of dim 128 with and without classes, the 64x64 ResNet of dim 64)
it exports the generator with ``experiment.deploy.export_generator`` (random
weights: the speed does not depend on them), opens it with the predictor of
``mode=infer`` (engine native, ir_optim on, the given CPU threads), checks
that both give the same samples, then times ``--repeats`` rounds of
generating the same batches, alternating eager and inference within each
round so that both see the same machine load. Prints the median samples/s of
each and their ratio.
"""

import ppsci_ext  # first: sets CPU defaults before Paddle loads

import argparse
import os
import statistics
import tempfile
import time
import types

import numpy as np
import paddle

from ppsci_ext.arch import CifarResNetGenerator, MNISTGenerator, ResNet64Generator, ToyGenerator
from ppsci_ext.experiment import deploy

# name: (builder, samples per round, batch)
CASES = {
    "toy (MLP 512)": (lambda: ToyGenerator(width=512), 20000, 2000),
    "mnist (dim 64)": (lambda: MNISTGenerator(dim=64), 1000, 100),
    "resnet32 (dim 128)": (lambda: CifarResNetGenerator(dim=128), 200, 100),
    "resnet32 AC-GAN (dim 128)": (lambda: CifarResNetGenerator(dim=128, conditional=True), 200, 100),
    "resnet64 (dim 64)": (lambda: ResNet64Generator(dim=64), 100, 50),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS") or 1))
    parser.add_argument("--only", default=None, help="run only the cases whose name contains this")
    args = parser.parse_args()
    infer = types.SimpleNamespace(device="cpu", engine="native", precision="fp32", ir_optim=True,
                                  min_subgraph_size=30, gpu_mem=2000, gpu_id=0, max_batch_size=1024,
                                  num_cpu_threads=args.threads, pdiparams_path=None)
    print(f"paddle {paddle.__version__}, {args.threads} CPU thread(s), median of {args.repeats} rounds")
    print(f"{'generator':28s} {'eager /s':>10s} {'inference /s':>13s} {'ratio':>7s} {'max |diff|':>11s}")
    folder = tempfile.mkdtemp(prefix="inference_speed_")
    for name, (build, n, batch) in CASES.items():
        if args.only and args.only not in name:
            continue
        paddle.seed(0)
        generator = build()
        rng = np.random.default_rng(0)
        inputs = {"z": rng.standard_normal((n, generator.noise_dim)).astype(np.float32)}
        if "y" in generator.input_keys:
            inputs["y"] = (np.arange(n) % 10).astype(np.int64)
        prefix = os.path.join(folder, name.split()[0] + ("_c" if "AC" in name else ""))
        predictor = deploy.open_predictor(*deploy.export_generator(generator, prefix), infer)

        def run_eager():
            out = []
            with paddle.no_grad():
                for s in range(0, n, batch):
                    b = {k: paddle.to_tensor(v[s:s + batch]) for k, v in inputs.items()}
                    out.append(generator(b)[generator.output_keys[0]].numpy())
            return np.concatenate(out)

        def run_inference():
            return predictor.predict(inputs, batch)

        diff = float(np.abs(run_eager() - run_inference()).max())  # also the warm-up of both
        eager_t, infer_t = [], []
        for _ in range(args.repeats):
            t = time.perf_counter()
            run_eager()
            eager_t.append(time.perf_counter() - t)
            t = time.perf_counter()
            run_inference()
            infer_t.append(time.perf_counter() - t)
        e, i = n / statistics.median(eager_t), n / statistics.median(infer_t)
        print(f"{name:28s} {e:10.0f} {i:13.0f} {i / e:6.2f}x {diff:11.1e}", flush=True)


if __name__ == "__main__":
    main()
