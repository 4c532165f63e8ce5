"""The declared ranges of the MNIST and images keys are the documented ones.

Written out here from the YAML comments (ppsci_ext/conf/wgangp_mnist.yaml,
wgangp_images.yaml) and docs, independently of the declarations: a sweep that
derives its bad values from each key's own declaration cannot catch a wrong
declared range. Each key: values that must be accepted and values that must be
refused (the edges of its range, null, a wrong type).
"""

import math

import pytest

from ppsci_ext.experiment.images import ImagesExperiment
from ppsci_ext.experiment.mnist import MNISTExperiment

POSITIVE = ([1, 2, 1000], [0, -1, 1.5, "1", True, None])            # a whole number >= 1
POSITIVE_OR_NULL = ([1, 7, None], [0, -3, 2.5, False])
AT_LEAST_TWO = ([2, 3, 50000], [1, 0, -2, 2.0, None])                 # N >= 2 samples (a covariance, a KID pair)
NONNEGATIVE = ([0, 1, 100], [-1, 0.5, None, True])
PATH_OR_NULL = ([None, "x.pdparams", ""], [3, True, ["a"]])
FLAG = ([True, False], [0, 1, "true", None])
RATE = ([1e-9, 1e-4, 2, 10], [0, 0.0, -1e-4, math.inf, math.nan, None, "1e-4"])  # > 0
BETA = ([0, 0.0, 0.5, 0.999], [1, 1.0, -0.1, 1.5, None])                         # [0, 1)
WEIGHT = ([0, 0.0, 0.1, 1.0, 10], [-0.001, -1, math.inf, math.nan, None, True])   # >= 0

COMMON = {
    "mode": (["train", "eval", "export", "infer"], ["test", "Train", None]),
    "seed": ([0, 42, 2**32 - 1], [-1, 2**32, 1.0, None]),
    "log_freq": POSITIVE,
    "log_level": (["debug", "info", "warning", "error"], ["critical", "INFO", None]),
    "device": ([None, "cpu", "gpu", "xpu"], ["cuda", "npu", "", 0]),
    "use_vdl": FLAG, "use_tbd": FLAG, "use_wandb": FLAG,
    "TRAIN.epochs": POSITIVE, "TRAIN.iters_per_epoch": POSITIVE, "TRAIN.batch_size": POSITIVE,
    "TRAIN.n_critic": POSITIVE, "TRAIN.save_freq": POSITIVE, "TRAIN.eval_freq": POSITIVE,
    "TRAIN.lr_generator": RATE, "TRAIN.lr_critic": RATE,
    "TRAIN.lr_linear_decay": FLAG, "TRAIN.eval_during_train": FLAG, "TRAIN.allow_resume_changes": FLAG,
    "TRAIN.overwrite": FLAG, "TRAIN.ema.use_ema": FLAG,
    "TRAIN.beta1": BETA, "TRAIN.beta2": BETA,
    "TRAIN.ema.decay": ([0.5, 0.999, 0.9999, 1e-6], [0, 0.0, 1, 1.0, -0.5, None]),   # (0, 1)
    "TRAIN.ema.avg_freq": POSITIVE,
    "TRAIN.ema.start_step": NONNEGATIVE,
    "TRAIN.checkpoint_path": PATH_OR_NULL, "TRAIN.pretrained_model_path": PATH_OR_NULL,
    "TRAIN.monitor": ([None, "fid", "frechet"], [1]),
    "LOSS.gp_lambda": WEIGHT,
    "EVAL.pretrained_gen_model_path": PATH_OR_NULL, "EVAL.pretrained_model_path": PATH_OR_NULL,
    "EVAL.batch_size": POSITIVE,
    "INFER.device": (["cpu", "gpu", "npu", "xpu", "sdaa"], ["tpu", None]),
    "INFER.engine": (["native", "tensorrt", "onnx", "mkldnn"], ["openvino", None]),
    "INFER.precision": (["fp32", "fp16", "int8"], ["bf16", None]),
    "INFER.min_subgraph_size": POSITIVE, "INFER.gpu_mem": POSITIVE, "INFER.max_batch_size": POSITIVE,
    "INFER.gpu_id": NONNEGATIVE, "INFER.num_cpu_threads": POSITIVE_OR_NULL, "INFER.batch_size": POSITIVE_OR_NULL,
    "INFER.num_samples": POSITIVE,
}

MNIST = {
    "DATA.data_path": PATH_OR_NULL,
    "MODEL.noise_dim": POSITIVE,
    "MODEL.dim": POSITIVE,
    "MODEL.critic_dim": POSITIVE_OR_NULL,                       # null = dim
    "EVAL.num_samples": AT_LEAST_TWO,
    "EVAL.classifier_path": PATH_OR_NULL,
    "EVAL.inception_weights_path": ([None, "auto", "w.pdparams"], [1]),
    "EVAL.inception_metrics": ([[], ["fid"], ["fid", "is", "kid"], ["kid", "is"]],
                               [["prdc"], ["fid", "FID"], "fid", None]),
    "TRAIN.eval_prdc": FLAG,
    "VIS.rows": POSITIVE,
    "VIS.every": NONNEGATIVE,                                     # 0 = only at evaluations
}

IMAGES = {
    "MODEL.conditional": FLAG,
    "LOSS.acgan_critic_scale": WEIGHT,
    "LOSS.acgan_generator_scale": WEIGHT,
    "TRAIN.generator_batch_size": POSITIVE_OR_NULL,
    "TRAIN.eval_prdc": FLAG,
    "EVAL.inception_weights_path": ([None, "auto", "w.pdparams"], [1]),
    "EVAL.metrics": ([[], ["is"], ["is", "fid", "kid"]], [["prdc"], ["fid", "swd"], "fid", None]),
    "EVAL.num_samples": AT_LEAST_TWO,
    "EVAL.num_samples_train": AT_LEAST_TWO,
    "EVAL.inception_batch_size": POSITIVE,
    "EVAL.is_splits": POSITIVE,
    "EVAL.kid_subsets": POSITIVE,
    "EVAL.kid_subset_size": AT_LEAST_TWO,
    "EVAL.export_samples": NONNEGATIVE,                           # 0 = none
    "EVAL.export_format": (["png", "npz"], ["jpg", "npy", None]),
    "DATA.data_path": PATH_OR_NULL,
    "DATA.resolution": ([32, 64], [28, 128, 16, 0, None, 32.0]),
    "DATA.channels": ([None, 1, 3], [2, 4, 0]),                   # null = as found
    "DATA.bad_images": (["skip", "stop"], ["ignore", None]),
    "DATA.cache_dir": ([None, "auto", "/tmp/c"], [1]),
    "MODEL.dim": POSITIVE_OR_NULL,                                # null = the official width
    "MODEL.critic_norm": ([None, "auto", "layer"], ["batch", "none", 1]),
    "EVAL.reference_path": PATH_OR_NULL,
}


def _check(keys, table):
    by_path = {k.path: k for k in keys}
    for path, (good, bad) in table.items():
        assert path in by_path, path
        for value in good:
            assert by_path[path].problem(value) is None, (path, value)
        for value in bad:
            assert by_path[path].problem(value) is not None, (path, value)


def test_mnist_key_ranges_are_the_documented_ones():
    _check(MNISTExperiment.all_keys(), {**COMMON, **MNIST})
    assert {k.path for k in MNISTExperiment.keys} == set(MNIST)


def test_images_key_ranges_are_the_documented_ones():
    _check(ImagesExperiment.all_keys(), {**COMMON, **IMAGES})
    assert {k.path for k in ImagesExperiment.keys} == set(IMAGES)


@pytest.mark.parametrize("cls", [MNISTExperiment, ImagesExperiment])
def test_every_key_is_declared_once(cls):
    paths = [k.path for k in cls.all_keys()]
    assert len(paths) == len(set(paths)), sorted(p for p in paths if paths.count(p) > 1)
