"""The Bernoulli VAE baseline of the MNIST experiment, scored with the same metrics as wgangp_mnist.py.

    python vae_mnist.py                                   # train (numpy-ml's defaults, 20 epochs), then evaluate
    python vae_mnist.py TRAIN.epochs=2 output_dir=runs/vae  # a short run
    python vae_mnist.py mode=eval                         # evaluate the shipped VAE (10,000 digits and the test ELBO)
    python vae_mnist.py mode=eval EVAL.pretrained_gen_model_path=RUN/checkpoints/latest.pdckpt
    python vae_mnist.py --help                            # every key, with its meaning
"""

import ppsci_ext  # first: sets CPU defaults before Paddle loads

import hydra
from omegaconf import DictConfig

ppsci_ext.experiment.install_hydra_hooks()  # --help lists every key; Hydra's own errors in one line


def train(cfg: DictConfig):
    ppsci_ext.VAEMNISTExperiment(cfg).train()


def evaluate(cfg: DictConfig):
    ppsci_ext.VAEMNISTExperiment(cfg).evaluate()


def export(cfg: DictConfig):
    ppsci_ext.VAEMNISTExperiment(cfg).export()


def inference(cfg: DictConfig):
    ppsci_ext.VAEMNISTExperiment(cfg).infer()


@hydra.main(version_base=None, config_path="./conf", config_name="vae_mnist.yaml")
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
