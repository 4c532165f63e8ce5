"""WGAN-GP on MNIST with the paper's DCGAN-like generator and critic.

    python wgangp_mnist.py                                 # train (paper setting), then evaluate
    python wgangp_mnist.py DATA.data_path=/data/mnist.pkl.gz TRAIN.batch_size=64
    python wgangp_mnist.py mode=eval                       # evaluate the shipped generator
    python wgangp_mnist.py mode=eval EVAL.pretrained_gen_model_path=PATH_OR_URL MODEL.dim=64
"""

import ppsci_ext  # noqa: F401  (first: sets CPU defaults before Paddle loads)

import hashlib
import os

import hydra
import numpy as np
from omegaconf import DictConfig

from ppsci_ext import arch, data, metric, visualize
from ppsci_ext.errors import UserError, check_positive, exit_on_user_error
from ppsci_ext.loss import WGANGPLoss
from ppsci_ext.pretrained import shipped_weights
from ppsci_ext.solver import load_network, setup
from ppsci_ext.solver.checkpoint import load_file


def build_model(cfg: DictConfig) -> arch.GAN:
    critic_key = "dim" if cfg.MODEL.critic_dim is None else "critic_dim"
    for key in ("noise_dim", "dim", critic_key):
        check_positive(cfg.MODEL[key], f"MODEL.{key}", whole=True)
    generator = arch.MNISTGenerator(noise_dim=cfg.MODEL.noise_dim, dim=cfg.MODEL.dim)
    critic = arch.MNISTCritic(dim=cfg.MODEL[critic_key])
    return arch.GAN(generator, critic)


def build_validator(cfg: DictConfig, real_test: np.ndarray):
    rng = np.random.default_rng(cfg.seed + 1)
    noise = {"z": rng.standard_normal((cfg.EVAL.num_samples, cfg.MODEL.noise_dim)).astype(np.float32)}
    metrics = {"mnist": metric.MNISTClassifierMetric(cfg.EVAL.classifier_path, reference_images=real_test,
                                                     batch_size=cfg.EVAL.batch_size)}
    if cfg.EVAL.inception_weights_path:
        metrics["inception"] = metric.InceptionMetrics(
            cfg.EVAL.inception_weights_path, metrics=tuple(cfg.EVAL.inception_metrics), value_range=(0.0, 1.0),
            reference=metric.to_uint8_images(real_test, (0.0, 1.0)),
            dataset_name=f"mnist-test-{hashlib.sha256(real_test.tobytes()).hexdigest()[:12]}")  # per data file
    return setup.sample_validator(noise, {}, cfg.EVAL.batch_size, metrics)


def grid_fn(cfg: DictConfig):
    """Draws a 10x10 grid of digits from fixed noise: at evaluations and every VIS.every iterations."""
    rows = cfg.VIS.rows
    noise = np.random.default_rng(cfg.seed + 2).standard_normal((rows * rows, cfg.MODEL.noise_dim)).astype(np.float32)

    def draw(solver, tag: str) -> None:
        import paddle

        with paddle.no_grad():
            solver.model.eval()
            digits = solver.model({"z": paddle.to_tensor(noise)})["img"].numpy()
            solver.model.train()
        visualize.save_image_grid(os.path.join(cfg.output_dir, f"samples_{tag}.png"), digits, rows, rows)

    def every(solver) -> None:
        if solver.global_step % cfg.VIS.every == 0:
            solver.visualize(f"{solver.global_step:06d}")  # calls draw, with the generator average when EMA is on

    return draw, every


def make_solver(cfg: DictConfig, model):
    path = data.resolve_mnist_path(cfg.DATA.data_path)
    train_images, _ = data.read_mnist(path, "train")
    test_images, _ = data.read_mnist(path, "test")
    constraint = setup.real_data_constraint({"img": train_images}, cfg.TRAIN.batch_size, WGANGPLoss(cfg.LOSS.gp_lambda))
    # No evaluation, no classifier: training with TRAIN.eval_during_train=false needs no score weights.
    scored = cfg.mode == "eval" or cfg.TRAIN.eval_during_train
    validator = build_validator(cfg, test_images) if scored else None
    draw, every = grid_fn(cfg)
    return setup.build_solver(cfg, model, constraint, validator, draw, "mnist", step_fn=every if cfg.VIS.every else None)


def train(cfg: DictConfig):
    model = build_model(cfg)
    solver = make_solver(cfg, model)
    solver.train()
    setup.write_training_results(solver, data="mnist")


def evaluate(cfg: DictConfig):
    gen_path = cfg.EVAL.pretrained_gen_model_path
    if gen_path is None:
        gen_path, _ = shipped_weights("mnist", "cpu")
        # The shipped generator was trained at the CPU setting's width; read it from its first layer.
        cfg.MODEL.dim = int(load_file(gen_path)["fc.weight"].shape[1]) // 64
    model = build_model(cfg)
    load_network(model.generator, gen_path, "generator")
    cfg.TRAIN.checkpoint_path = None
    solver = make_solver(cfg, model)
    metrics = solver.evaluate("eval")
    setup.write_metrics(cfg.output_dir, metrics, data="mnist", generator=str(gen_path),
                        num_samples=cfg.EVAL.num_samples)


@hydra.main(version_base=None, config_path="./conf", config_name="wgangp_mnist.yaml")
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
