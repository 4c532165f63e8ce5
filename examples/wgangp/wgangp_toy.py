"""WGAN-GP on 2-D toy data (8gaussians, 25gaussians, swissroll) or on your own N x D points.

    python wgangp_toy.py                                 # train, then evaluate
    python wgangp_toy.py DATA.mode=25gaussians
    python wgangp_toy.py DATA.mode=file DATA.data_path=points.npy   # or .npz, .csv: N points of D >= 1 numbers
    python wgangp_toy.py mode=eval                       # evaluate the shipped weights
    python wgangp_toy.py mode=eval EVAL.pretrained_gen_model_path=PATH_OR_URL   # a .pdparams or .pdckpt
    python wgangp_toy.py --help                          # every key, with its meaning
"""

import ppsci_ext  # first: sets CPU defaults before Paddle loads

import hydra
from omegaconf import DictConfig

ppsci_ext.experiment.install_hydra_hooks()  # --help lists every key; Hydra's own errors in one line


def train(cfg: DictConfig):
    ppsci_ext.ToyExperiment(cfg).train()


def evaluate(cfg: DictConfig):
    ppsci_ext.ToyExperiment(cfg).evaluate()


def export(cfg: DictConfig):
    ppsci_ext.ToyExperiment(cfg).export()


def inference(cfg: DictConfig):
    ppsci_ext.ToyExperiment(cfg).infer()


@hydra.main(version_base=None, config_path="./conf", config_name="wgangp_toy.yaml")
@ppsci_ext.exit_on_user_error
def main(cfg: DictConfig):
    if cfg.mode == "eval":
        evaluate(cfg)
    elif cfg.mode == "export":
        export(cfg)
    elif cfg.mode == "infer":
        inference(cfg)
    else:  # mode is checked against train / eval / export / infer by the experiment
        train(cfg)


if __name__ == "__main__":
    main()
