"""The two reference points for an FID of the images example: real-vs-real and an untrained generator.

For a training set and a test set read as the images example reads them (``--resolution``, channels as found):

1. **train vs test**: FID and KID of ``--num`` training images (drawn without replacement, seed 0) against
   the whole test set. No generator can be expected to do much better at this sample size.
2. **untrained generator**: the generator of the run's settings (``--dim``, unconditional) freshly initialised
   with ``--seed``; its weights are written to ``OUT/untrained_gen.pdparams`` so that the example's own eval
   scores it exactly as it scores a trained one (the command is printed).

The test set's statistics are cached under the same name the example uses, so the evaluations share them.

    python benchmarks/images_baselines.py --data /usr/share/datasets/fashion-mnist \\
        --reference /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz \\
        --weights inception_fid.pdparams --num 5000 --dim 32 --out baselines/
"""

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import ppsci_ext  # noqa: E402  (CPU defaults before paddle)
from ppsci_ext import data, metric  # noqa: E402
from ppsci_ext.arch.images import build_image_gan  # noqa: E402
from ppsci_ext.io.cache import default_cache_dir  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="training images (any DATA.data_path the example reads)")
    parser.add_argument("--reference", required=True, help="test images (EVAL.reference_path)")
    parser.add_argument("--weights", required=True, help="converted Inception weights (pool3)")
    parser.add_argument("--num", type=int, default=5000, help="training images scored against the test set")
    parser.add_argument("--resolution", type=int, default=32, choices=(32, 64))
    parser.add_argument("--dim", type=int, default=32, help="MODEL.dim of the untrained generator")
    parser.add_argument("--seed", type=int, default=42, help="its initialisation seed (the example's seed)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    import paddle

    from ppsci_ext.experiment.images import ImagesExperiment

    os.makedirs(args.out, exist_ok=True)
    cache = os.path.join(default_cache_dir(), "images")
    train, _ = data.cached_image_set(args.data, args.resolution, cache_dir=cache)
    test, _ = data.cached_image_set(args.reference, args.resolution, train.channels, cache_dir=cache)
    name = ImagesExperiment.reference_name(test)  # the example's statistics cache name
    stats = metric.dataset_statistics(test.images, name, args.weights)
    pick = np.random.default_rng(0).choice(len(train.images), args.num, replace=False)
    net = metric.load_inception(args.weights)
    features = metric.inception_outputs(train.images[pick], net, what="training images")["pool3"]
    mu, sigma = metric.feature_statistics(features)
    fid = metric.frechet_distance(mu, sigma, stats["mu"], stats["sigma"])
    kid_mean, kid_std = metric.kernel_inception_distance(features, stats["features"].astype(np.float64))
    paddle.seed(args.seed)
    settings = {"resolution": args.resolution, "dim": args.dim, "channels": train.channels, "conditional": False,
                "num_classes": 0, "critic_norm": None}
    untrained = os.path.join(args.out, "untrained_gen.pdparams")
    paddle.save(build_image_gan(settings).generator.state_dict(), untrained)
    result = {"train_images": int(len(train.images)), "test_images": int(len(test.images)), "num": args.num,
              "train_vs_test_fid": float(fid), "train_vs_test_kid": [float(kid_mean), float(kid_std)],
              "untrained_generator": untrained}
    with open(os.path.join(args.out, "baselines.json"), "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps(result, indent=1))
    print(f"Score the untrained generator with the example's eval:\n  python examples/wgangp/wgangp_images.py "
          f"mode=eval DATA.data_path={args.data} EVAL.reference_path={args.reference} "
          f"EVAL.pretrained_gen_model_path={untrained} EVAL.inception_weights_path={args.weights} "
          f"EVAL.metrics=[fid,kid] EVAL.num_samples={args.num}")


if __name__ == "__main__":
    main()
