"""WGAN-GP on 2-D toy data (8gaussians, 25gaussians, swissroll).

    python wgangp_toy.py                                 # train, then evaluate
    python wgangp_toy.py DATA.mode=25gaussians
    python wgangp_toy.py mode=eval                       # evaluate the shipped weights
    python wgangp_toy.py mode=eval EVAL.pretrained_gen_model_path=PATH_OR_URL
"""

import ppsci_ext  # noqa: F401  (first: sets CPU defaults before Paddle loads)

import os

import hydra
import numpy as np
from omegaconf import DictConfig

from ppsci_ext import arch, data, metric, visualize
from ppsci_ext.errors import UserError, exit_on_user_error
from ppsci_ext.loss import WGANGPLoss
from ppsci_ext.pretrained import shipped_weights
from ppsci_ext.solver import load_network, setup


def build_model(cfg: DictConfig) -> arch.GAN:
    generator = arch.ToyGenerator(noise_dim=cfg.MODEL.noise_dim, width=cfg.MODEL.width,
                                  hidden_layers=cfg.MODEL.hidden_layers)
    critic = arch.ToyCritic(width=cfg.MODEL.width, hidden_layers=cfg.MODEL.hidden_layers)
    return arch.GAN(generator, critic)


def build_validator(cfg: DictConfig):
    n = cfg.DATA.num_eval_samples
    rng = np.random.default_rng(cfg.seed + 1)
    noise = {"z": rng.standard_normal((n, cfg.MODEL.noise_dim)).astype(np.float32)}
    real = {"x": data.sample_toy(cfg.DATA.mode, n, rng)}
    return setup.sample_validator(noise, real, cfg.EVAL.batch_size, {"toy": metric.ToyMetric(cfg.DATA.mode)})


def picture_fn(cfg: DictConfig, with_critic: bool = True):
    rng = np.random.default_rng(cfg.seed + 2)
    real = data.sample_toy(cfg.DATA.mode, cfg.VIS.num_points, rng)
    noise = rng.standard_normal((cfg.VIS.num_points, cfg.MODEL.noise_dim)).astype(np.float32)

    def draw(solver, tag: str) -> None:
        import paddle

        with paddle.no_grad():
            solver.model.eval()
            fake = solver.model({"z": paddle.to_tensor(noise)})["x"].numpy()
            solver.model.train()
        path = os.path.join(cfg.output_dir, f"toy_{tag}.png")
        title = f"WGAN-GP {cfg.DATA.mode}, generator iteration {solver.global_step}"
        visualize.plot_toy(path, real, fake, solver.model.critic if with_critic else None, title)

    return draw


def make_solver(cfg: DictConfig, model, with_critic: bool = True):
    data.toy.check_toy_mode(cfg.DATA.mode)
    arrays = data.toy_arrays(cfg.DATA.mode, cfg.DATA.num_train_samples, cfg.seed)
    constraint = setup.real_data_constraint(arrays, cfg.TRAIN.batch_size, WGANGPLoss(cfg.LOSS.gp_lambda))
    return setup.build_solver(cfg, model, constraint, build_validator(cfg), picture_fn(cfg, with_critic), "toy")


def train(cfg: DictConfig):
    model = build_model(cfg)
    solver = make_solver(cfg, model)
    solver.train()
    setup.write_training_results(solver, data=cfg.DATA.mode)


def evaluate(cfg: DictConfig):
    model = build_model(cfg)
    gen_path = cfg.EVAL.pretrained_gen_model_path
    dis_path = cfg.EVAL.pretrained_dis_model_path
    if gen_path is None:
        gen_path, shipped_dis = shipped_weights("toy", cfg.DATA.mode)
        dis_path = dis_path or shipped_dis
    load_network(model.generator, gen_path, "generator")
    if dis_path:
        load_network(model.critic, dis_path, "critic")
    cfg.TRAIN.checkpoint_path = None
    solver = make_solver(cfg, model, with_critic=bool(dis_path))
    metrics = solver.evaluate("eval")
    setup.write_metrics(cfg.output_dir, metrics, data=cfg.DATA.mode, generator=str(gen_path),
                        critic=str(dis_path) if dis_path else None, num_samples=cfg.DATA.num_eval_samples)


@hydra.main(version_base=None, config_path="./conf", config_name="wgangp_toy.yaml")
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
