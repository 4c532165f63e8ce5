"""The image experiment's messages name their key and explain their counts (issue 23)."""

import types

import numpy as np
import pytest
from PIL import Image

from ppsci_ext.errors import UserError
from ppsci_ext.experiment.images import ImagesExperiment, name_channels_key


def _found(labels, names):
    return types.SimpleNamespace(labels=np.asarray(labels), class_names=tuple(names), num_classes=len(names),
                                 source="pngs")


def test_a_class_with_a_single_image_is_explained():
    with pytest.raises(UserError) as info:
        ImagesExperiment.check_classes(None, _found([0, 0, 1], ["a", "b"]), True, "DATA.data_path")
    assert str(info.value) == ("DATA.data_path=pngs: the class b has a single image; an AC-GAN needs at least 2 "
                               "images of every class (per-class FID needs their covariance). Add images, remove the "
                               "class, or set MODEL.conditional=false.")


def test_several_small_classes_are_listed_with_their_counts():
    with pytest.raises(UserError) as info:
        ImagesExperiment.check_classes(None, _found([0, 0, 1, 3, 3], ["a", "b", "c", "d"]), True, "EVAL.reference_path")
    assert str(info.value).startswith("EVAL.reference_path=pngs: the classes b (a single image), c (no image) have "
                                      "fewer than 2 images; an AC-GAN needs")
    ImagesExperiment.check_classes(None, _found([0, 0, 1, 1], ["a", "b"]), True, "DATA.data_path")  # fine
    ImagesExperiment.check_classes(None, _found([0], ["a"]), False, "DATA.data_path")  # unconditional: no check


def test_mixed_channels_name_data_channels(tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "a.png")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(folder / "b.png")
    fake = types.SimpleNamespace(
        config=types.SimpleNamespace(DATA=types.SimpleNamespace(channels=None, resolution=32, bad_images="skip")),
        _sets={}, _cache_dir=lambda: str(tmp_path / "cache"))
    with pytest.raises(UserError) as info:
        ImagesExperiment.read_set(fake, str(folder), "DATA.data_path")
    message = str(info.value)
    assert message.endswith("mixes channel counts: a.png is colour but b.png is grayscale; set DATA.channels=3 "
                            "(convert every image to RGB) or DATA.channels=1 (grayscale)."), message
    assert message.startswith(f"DATA.data_path={folder}: ")


def test_name_channels_key_leaves_other_messages_alone():
    assert name_channels_key("other message") == "other message"
    assert name_channels_key("x; set the channels to 3 (convert every image to RGB) or 1 (grayscale).") == (
        "x; set DATA.channels=3 (convert every image to RGB) or DATA.channels=1 (grayscale).")
