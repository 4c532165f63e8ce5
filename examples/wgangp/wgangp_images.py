"""WGAN-GP with the paper's ResNets on your own images: a folder (class sub-folders = AC-GAN labels), .npz / .npy or idx.

    python wgangp_images.py DATA.data_path=my_pngs/                       # train at 32x32, then evaluate
    python wgangp_images.py DATA.data_path=faces.npz DATA.resolution=64    # the 64x64 ResNet of gan_64x64.py
    python wgangp_images.py DATA.data_path=my_pngs/ MODEL.conditional=true # AC-GAN on the sub-folders' classes
    python wgangp_images.py mode=eval DATA.data_path=my_pngs/ EVAL.pretrained_gen_model_path=PATH EVAL.export_samples=10000
    python wgangp_images.py --help                                        # every key, with its meaning
"""

import ppsci_ext  # first: sets CPU defaults before Paddle loads

import hydra
from omegaconf import DictConfig

ppsci_ext.experiment.install_hydra_hooks()  # --help lists every key; Hydra's own errors in one line


def train(cfg: DictConfig):
    ppsci_ext.ImagesExperiment(cfg).train()


def evaluate(cfg: DictConfig):
    ppsci_ext.ImagesExperiment(cfg).evaluate()


def export(cfg: DictConfig):
    ppsci_ext.ImagesExperiment(cfg).export()


def inference(cfg: DictConfig):
    ppsci_ext.ImagesExperiment(cfg).infer()


@hydra.main(version_base=None, config_path="./conf", config_name="wgangp_images.yaml")
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
