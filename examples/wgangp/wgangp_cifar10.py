"""WGAN-GP with the paper's ResNet on CIFAR-10, unconditional or AC-GAN.

    python wgangp_cifar10.py DATA.data_path=/data/cifar-10-python.tar.gz       # train, then evaluate
    python wgangp_cifar10.py MODEL.conditional=true                            # AC-GAN
    python wgangp_cifar10.py EVAL.inception_weights_path=inception_fid_is.pdparams   # with IS / FID / KID
    python wgangp_cifar10.py mode=eval EVAL.pretrained_gen_model_path=PATH_OR_URL EVAL.export_samples=50000
"""

import ppsci_ext  # noqa: F401  (first: sets CPU defaults before Paddle loads)

import hashlib
import os
from typing import Optional

import hydra
import numpy as np
import paddle
from omegaconf import DictConfig
from ppsci.utils import logger

from ppsci_ext import metric
from ppsci_ext.arch import GAN
from ppsci_ext.arch.cifar10 import NOISE_DIM, CifarResNetCritic, CifarResNetGenerator, check_variant
from ppsci_ext.data.cifar10 import CLASS_NAMES, NUM_CLASSES, cifar10_arrays
from ppsci_ext.errors import UserError, check_positive, exit_on_user_error
from ppsci_ext.loss import WGANGPLoss
from ppsci_ext.solver import checkpoint, setup
from ppsci_ext.visualize.export import export_samples
from ppsci_ext.visualize.grid import save_image_grid


def build_model(cfg: DictConfig) -> GAN:
    check_positive(cfg.MODEL.dim, "MODEL.dim")
    conditional = bool(cfg.MODEL.conditional)
    generator = CifarResNetGenerator(dim=cfg.MODEL.dim, conditional=conditional)
    critic = CifarResNetCritic(dim=cfg.MODEL.dim, acgan=conditional, norm=cfg.MODEL.critic_norm)
    return GAN(generator, critic, num_classes=NUM_CLASSES if conditional else 0)


def generator_inputs(cfg: DictConfig, n: int, seed: int, labels: Optional[np.ndarray] = None):
    """Fixed generator inputs: noise from ``seed`` and, when conditional, labels (random unless given)."""
    rng = np.random.default_rng(seed)
    inputs = {"z": rng.standard_normal((n, NOISE_DIM)).astype(np.float32)}
    if cfg.MODEL.conditional:
        inputs["y"] = labels if labels is not None else rng.integers(0, NUM_CLASSES, n).astype(np.int64)
    return inputs


def generate(model: GAN, inputs, batch_size: int) -> np.ndarray:
    """Generator outputs [N, 3, 32, 32] in [-1, 1], in batches (batch norm uses batch statistics)."""
    n = len(inputs["z"])
    out = []
    with paddle.no_grad():
        for start in range(0, n, batch_size):
            batch = {k: paddle.to_tensor(v[start:start + batch_size]) for k, v in inputs.items()}
            out.append(model.generator(batch)["img"].numpy())
    return np.concatenate(out)


def inception_metric(cfg: DictConfig, train_images: np.ndarray):
    """The IS/FID/KID metric against the training set's (cached) statistics, or None without weights."""
    weights = cfg.EVAL.inception_weights_path
    if not weights:
        logger.message("EVAL.inception_weights_path is null: Inception Score, FID and KID are skipped "
                       "(see docs/metrics.md to convert the weights).")
        return None
    wanted = tuple(cfg.EVAL.metrics)
    if "is" in wanted and metric.load_inception(weights).fc is None:
        logger.message(f"{weights} has no logits layer: Inception Score skipped (FID and KID only).")
        wanted = tuple(m for m in wanted if m != "is")
    if not wanted:
        return None
    stats = None
    if {"fid", "kid"} & set(wanted):
        # Named after the images' digest, so another archive never reuses these statistics.
        name = f"cifar10-train-{hashlib.sha256(train_images.tobytes()).hexdigest()[:12]}"
        stats = metric.dataset_statistics(train_images, name, weights, batch_size=cfg.EVAL.inception_batch_size)
    return metric.InceptionMetrics(
        weights, metrics=wanted, key="img", reference=stats, batch_size=cfg.EVAL.inception_batch_size,
        is_splits=cfg.EVAL.is_splits, kid_subsets=cfg.EVAL.kid_subsets, kid_subset_size=cfg.EVAL.kid_subset_size)


def build_validator(cfg: DictConfig, train_images: np.ndarray, num_samples: int):
    check_positive(num_samples, "EVAL.num_samples")
    scorer = inception_metric(cfg, train_images)
    if scorer is None:
        return None
    noise = generator_inputs(cfg, num_samples, cfg.seed + 1)
    # The label only names the output to collect; the real side is the training-set statistics.
    placeholder = {"img": np.zeros((num_samples, 1), np.float32)}
    return setup.sample_validator(noise, placeholder, cfg.EVAL.batch_size, {"inception": scorer})


def picture_fn(cfg: DictConfig):
    """Draws a 10x10 grid from fixed noise; when conditional, row i shows class i (CLASS_NAMES order)."""
    labels = np.repeat(np.arange(NUM_CLASSES), 10).astype(np.int64) if cfg.MODEL.conditional else None
    inputs = generator_inputs(cfg, 100, cfg.seed + 2, labels)
    if cfg.MODEL.conditional:
        logger.message(f"Sample grid rows, top to bottom: {', '.join(CLASS_NAMES)}")

    def draw(solver, tag: str) -> None:
        images = generate(solver.model, inputs, 100)  # one batch of 100, as the official sample grid
        save_image_grid(os.path.join(cfg.output_dir, f"samples_{tag}.png"), images, 10, 10, value_range=(-1.0, 1.0))

    return draw


def make_solver(cfg: DictConfig, model: GAN, num_samples: int):
    arrays, labels = cifar10_arrays(cfg.DATA.data_path, bool(cfg.MODEL.conditional))
    objective = WGANGPLoss(cfg.LOSS.gp_lambda, cfg.LOSS.acgan_critic_scale, cfg.LOSS.acgan_generator_scale)
    constraint = setup.real_data_constraint(arrays, cfg.TRAIN.batch_size, objective, labels=labels)
    validator = build_validator(cfg, arrays["img"].images, num_samples)
    monitor = cfg.TRAIN.monitor
    if validator is not None and monitor:
        scorer = validator["samples"].metric["inception"].metric_expr
        # The solver keeps the lowest value, so only lower-is-better metrics can be monitored (not IS).
        available = [{"fid": "fid", "kid": "kid_mean"}[m] for m in scorer.metrics if m != "is"]
        if monitor not in available:
            raise UserError(f"TRAIN.monitor={monitor!r} is not among the lower-is-better metrics computed "
                            f"{available}; set TRAIN.monitor to one of them, or null.")
    return setup.build_solver(cfg, model, constraint, validator, picture_fn(cfg), "cifar10")


def train(cfg: DictConfig):
    model = build_model(cfg)
    path = cfg.TRAIN.checkpoint_path
    if path:  # a clear message for a checkpoint of another DIM or variant, before any data is read
        state = checkpoint.load_checkpoint(path)
        for which in ("generator", "critic"):
            check_variant(state[which], which, cfg.MODEL.dim, bool(cfg.MODEL.conditional), path)
    solver = make_solver(cfg, model, cfg.EVAL.num_samples_train)
    solver.train()
    setup.write_training_results(solver, data=str(cfg.DATA.data_path), num_samples=cfg.EVAL.num_samples_train,
                                 inception_weights=cfg.EVAL.inception_weights_path)


def evaluate(cfg: DictConfig):
    gen_path = cfg.EVAL.pretrained_gen_model_path
    if not gen_path:
        raise UserError("mode=eval needs generator weights: set EVAL.pretrained_gen_model_path=PATH_OR_URL "
                        "(e.g. checkpoints/best_gen.pdparams of a training run).")
    model = build_model(cfg)
    state = checkpoint.extract_network(checkpoint.load_file(gen_path), "generator", gen_path)
    check_variant(state, "generator", cfg.MODEL.dim, bool(cfg.MODEL.conditional), gen_path)
    checkpoint.load_checked(model.generator, state, "generator", gen_path)
    cfg.TRAIN.checkpoint_path = None
    solver = make_solver(cfg, model, cfg.EVAL.num_samples)
    metrics = solver.evaluate("eval")
    exported = None
    if cfg.EVAL.export_samples:
        check_positive(cfg.EVAL.export_samples, "EVAL.export_samples")
        inputs = generator_inputs(cfg, int(cfg.EVAL.export_samples), cfg.seed + 3)
        exported = export_samples(os.path.join(cfg.output_dir, "samples"), generate(model, inputs, cfg.EVAL.batch_size),
                                  cfg.EVAL.export_format, inputs.get("y"))
        logger.message(f"Wrote {cfg.EVAL.export_samples} samples to {exported}")
    setup.write_metrics(cfg.output_dir, metrics, data=str(cfg.DATA.data_path), generator=str(gen_path),
                        num_samples=cfg.EVAL.num_samples, inception_weights=cfg.EVAL.inception_weights_path,
                        exported=exported)


@hydra.main(version_base=None, config_path="./conf", config_name="wgangp_cifar10.yaml")
@exit_on_user_error
def main(cfg: DictConfig):
    if cfg.mode == "train":
        train(cfg)
    elif cfg.mode == "eval":
        evaluate(cfg)
    else:
        raise UserError(f"mode={cfg.mode!r} is not supported; use mode=train or mode=eval.")


if __name__ == "__main__":
    main()
