"""WGAN-GP on MNIST with the paper's DCGAN-like generator and critic.

    python wgangp_mnist.py                                 # train (CPU setting), then evaluate
    python wgangp_mnist.py DATA.data_path=/data/mnist.pkl.gz TRAIN.batch_size=64
    python wgangp_mnist.py mode=eval                       # evaluate the shipped generator
    python wgangp_mnist.py mode=eval EVAL.pretrained_gen_model_path=PATH_OR_URL   # MODEL.* is read from the file
    python wgangp_mnist.py --help                          # every key, with its meaning
"""

import ppsci_ext  # first: sets CPU defaults before Paddle loads

import hydra
from omegaconf import DictConfig

ppsci_ext.experiment.install_hydra_hooks()  # --help lists every key; Hydra's own errors in one line


def train(cfg: DictConfig):
    ppsci_ext.MNISTExperiment(cfg).train()


def evaluate(cfg: DictConfig):
    ppsci_ext.MNISTExperiment(cfg).evaluate()


def export(cfg: DictConfig):
    ppsci_ext.MNISTExperiment(cfg).export()


def inference(cfg: DictConfig):
    ppsci_ext.MNISTExperiment(cfg).infer()


@hydra.main(version_base=None, config_path="./conf", config_name="wgangp_mnist.yaml")
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
