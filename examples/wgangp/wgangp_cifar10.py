"""WGAN-GP with the paper's ResNet on CIFAR-10, unconditional or AC-GAN.

    python wgangp_cifar10.py DATA.data_path=/data/cifar-10-python.tar.gz       # train, then evaluate
    python wgangp_cifar10.py MODEL.conditional=true                            # AC-GAN
    python wgangp_cifar10.py EVAL.inception_weights_path=inception_fid_is.pdparams   # with IS / FID / KID
    python wgangp_cifar10.py mode=eval EVAL.pretrained_gen_model_path=PATH_OR_URL EVAL.export_samples=50000
    python wgangp_cifar10.py --help                                            # every key, with its meaning
"""

import ppsci_ext  # first: sets CPU defaults before Paddle loads

import hydra
from omegaconf import DictConfig

ppsci_ext.experiment.install_hydra_hooks()  # --help lists every key; Hydra's own errors in one line


def train(cfg: DictConfig):
    ppsci_ext.CIFAR10Experiment(cfg).train()


def evaluate(cfg: DictConfig):
    ppsci_ext.CIFAR10Experiment(cfg).evaluate()


def export(cfg: DictConfig):
    ppsci_ext.CIFAR10Experiment(cfg).export()


def inference(cfg: DictConfig):
    ppsci_ext.CIFAR10Experiment(cfg).infer()


@hydra.main(version_base=None, config_path="./conf", config_name="wgangp_cifar10.yaml")
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
