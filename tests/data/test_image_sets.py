"""The reader of a user's own images: folders (recursive, class sub-folders), .npz / .npy, idx; crop, resize,
channels; bad input; the decoded-images cache."""

import gzip
import os
import pickle

import numpy as np
import pytest
from PIL import Image

from ppsci_ext.data import image_sets
from ppsci_ext.data.image_sets import cached_image_set, read_image_set
from ppsci_ext.errors import UserError


def write_folder(root, classes=("cats", "dogs"), per_class=3, size=(40, 30), mode="RGB", fmt="png", seed=0):
    """Class sub-folders of random images (one nested folder deeper in the first class)."""
    rng = np.random.default_rng(seed)
    for c, name in enumerate(classes):
        folder = os.path.join(root, name) if name else root
        for i in range(per_class):
            sub = os.path.join(folder, "nested") if i == 0 and c == 0 and name else folder
            os.makedirs(sub, exist_ok=True)
            shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
            Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(
                os.path.join(sub, f"img{i}.{fmt}"))
    return str(root)


def one_line(excinfo):
    message = str(excinfo.value)
    assert "\n" not in message
    return message


def test_class_folders_give_labels_and_names_and_are_searched_recursively(tmp_path):
    root = write_folder(tmp_path / "data", classes=("b_dogs", "a_cats", "c_birds"), per_class=3)
    (tmp_path / "data" / "notes.txt").write_text("not an image")  # other files are left out
    (tmp_path / "data" / ".hidden.png").write_bytes(b"junk")  # hidden files too
    found = read_image_set(root, 32)
    assert found.images.shape == (9, 32, 32, 3) and found.images.dtype == np.uint8
    assert found.class_names == ("a_cats", "b_dogs", "c_birds")
    assert np.bincount(found.labels).tolist() == [3, 3, 3]  # the nested image counts for its class
    assert found.skipped == [] and len(found.digest) == 64


def test_images_directly_in_the_folder_make_it_unlabelled(tmp_path):
    root = write_folder(tmp_path / "flat", classes=("",), per_class=4)
    found = read_image_set(root, 32)
    assert found.labels is None and found.class_names == () and found.num_classes == 0


@pytest.mark.parametrize("fmt", ["png", "jpg", "bmp", "webp"])
def test_every_format(tmp_path, fmt):
    found = read_image_set(write_folder(tmp_path / fmt, fmt=fmt, per_class=2), 32)
    assert found.images.shape == (4, 32, 32, 3)


def test_centre_crop_then_bicubic_resize(tmp_path):
    # 96x64 image: a 64x64 white square in the middle of black borders -> after the centre crop all white
    pixels = np.zeros((64, 96), np.uint8)
    pixels[:, 16:80] = 255
    (tmp_path / "one").mkdir()
    Image.fromarray(pixels, "L").save(tmp_path / "one" / "a.png")
    Image.fromarray(pixels, "L").save(tmp_path / "one" / "b.png")
    found = read_image_set(str(tmp_path / "one"), 32)
    assert found.images.shape == (2, 32, 32, 1) and (found.images == 255).all()
    # the same as Pillow's own bicubic resize of the crop
    square = Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8), "L")
    square.save(tmp_path / "one" / "b.png")
    again = read_image_set(str(tmp_path / "one"), 32)
    assert np.array_equal(again.images[1, ..., 0], np.asarray(square.resize((32, 32), Image.BICUBIC)))


def test_grayscale_is_kept_and_channels_can_be_forced(tmp_path):
    root = write_folder(tmp_path / "gray", mode="L", per_class=2)
    assert read_image_set(root, 32).images.shape[-1] == 1
    rgb = read_image_set(root, 64, channels=3).images
    assert rgb.shape == (4, 64, 64, 3) and (rgb[..., 0] == rgb[..., 2]).all()


def test_mixed_channel_counts_are_refused_unless_forced(tmp_path):
    root = write_folder(tmp_path / "mixed", classes=("a",), per_class=2)
    Image.fromarray(np.zeros((8, 8), np.uint8), "L").save(tmp_path / "mixed" / "a" / "zz_gray.png")
    with pytest.raises(UserError) as info:
        read_image_set(root, 32)
    message = one_line(info)
    assert "mixes channel counts" in message and "zz_gray.png is grayscale" in message and "channels" in message
    assert read_image_set(root, 32, channels=1).images.shape == (3, 32, 32, 1)


def test_empty_folder_and_folder_without_images(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError) as info:
        read_image_set(str(tmp_path / "empty"), 32)
    assert "holds no images" in one_line(info) and "it is empty" in str(info.value)
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "a.txt").write_text("x")
    with pytest.raises(UserError) as info:
        read_image_set(str(tmp_path / "texts"), 32)
    assert "1 other files" in one_line(info)
    with pytest.raises(UserError) as info:
        read_image_set(str(tmp_path / "missing"), 32)
    assert "does not exist" in one_line(info)


def test_unreadable_images_are_skipped_with_a_count_or_stop_the_run(tmp_path):
    root = write_folder(tmp_path / "broken", classes=("a",), per_class=4)
    good = tmp_path / "broken" / "a" / "img1.png"
    (tmp_path / "broken" / "a" / "truncated.png").write_bytes(good.read_bytes()[:200])
    (tmp_path / "broken" / "a" / "random.jpg").write_bytes(os.urandom(500))
    found = read_image_set(root, 32)
    assert len(found.images) == 4 and len(found.skipped) == 2
    assert any(s.startswith(os.path.join("a", "truncated.png")) for s in found.skipped) and "skipped" in found.describe()
    with pytest.raises(UserError) as info:
        read_image_set(root, 32, bad_images="stop")
    assert "cannot read the image" in one_line(info)


def test_a_folder_of_only_broken_images(tmp_path):
    (tmp_path / "bad").mkdir()
    for i in range(3):
        (tmp_path / "bad" / f"{i}.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(UserError) as info:
        read_image_set(str(tmp_path / "bad"), 32)
    assert "none of the 3 images" in one_line(info)


def test_npz_with_labels_and_class_names_and_npy(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    np.savez(tmp_path / "a.npz", images=images, labels=np.array([5, 7, 5, 7, 9, 9]))
    found = read_image_set(str(tmp_path / "a.npz"), 32)
    assert np.array_equal(found.images, images)  # already 32x32: untouched
    assert found.labels.tolist() == [0, 1, 0, 1, 2, 2] and found.class_names == ("5", "7", "9")
    np.savez(tmp_path / "b.npz", x=images, y=np.array([0, 1, 0, 1, 0, 1]), class_names=np.array(["off", "on"]))
    assert read_image_set(str(tmp_path / "b.npz"), 32).class_names == ("off", "on")
    np.save(tmp_path / "c.npy", images[..., 0])  # [N, H, W]: grayscale
    found = read_image_set(str(tmp_path / "c.npy"), 64)
    assert found.images.shape == (6, 64, 64, 1) and found.labels is None


@pytest.mark.parametrize("array,phrase", [
    (np.zeros((4, 8, 8, 3), np.float32), "give uint8 values"),
    (np.zeros((4, 3, 8, 8), np.uint8), "transpose it to [N, H, W, C]"),
    (np.zeros((4, 8, 8, 4), np.uint8), "drop the alpha channel"),
    (np.zeros((4, 8), np.uint8), "expected uint8 images"),
    (np.zeros((0, 8, 8), np.uint8), "holds no images"),
])
def test_bad_arrays(tmp_path, array, phrase):
    np.save(tmp_path / "x.npy", array)
    with pytest.raises(UserError) as info:
        read_image_set(str(tmp_path / "x.npy"), 32)
    assert phrase in one_line(info)


def test_pickled_and_truncated_arrays_are_refused_without_running_code(tmp_path):
    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'ran'}",))

    np.save(tmp_path / "obj.npy", np.array([Payload()], dtype=object), allow_pickle=True)
    with pytest.raises(UserError) as info:
        read_image_set(str(tmp_path / "obj.npy"), 32)
    assert "could run code" in one_line(info)
    with open(tmp_path / "obj.npz", "wb") as f:
        np.savez(f, images=np.array([Payload()], dtype=object))
    with pytest.raises(UserError) as info:
        read_image_set(str(tmp_path / "obj.npz"), 32)
    assert "could run code" in one_line(info)
    assert not (tmp_path / "ran").exists()
    np.savez(tmp_path / "ok.npz", images=np.zeros((10, 32, 32), np.uint8))
    (tmp_path / "cut.npz").write_bytes((tmp_path / "ok.npz").read_bytes()[:300])
    with pytest.raises(UserError) as info:
        read_image_set(str(tmp_path / "cut.npz"), 32)
    assert "truncated or damaged" in one_line(info)
    np.savez(tmp_path / "two.npz", a=np.zeros((2, 4, 4), np.uint8), b=np.zeros((2, 4, 4), np.uint8))
    with pytest.raises(UserError) as info:
        read_image_set(str(tmp_path / "two.npz"), 32)
    assert "name the images `images`" in one_line(info)


def _write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_idx_file_with_its_labels_and_idx_folder(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.array([0, 1, 2, 1, 0]))
    found = read_image_set(str(tmp_path / "train-images-idx3-ubyte.gz"), 32)
    assert found.images.shape == (5, 32, 32, 1) and found.labels.tolist() == [0, 1, 2, 1, 0]
    folder = read_image_set(str(tmp_path), 32)  # a folder holding train-images-idx3-ubyte[.gz]
    assert np.array_equal(folder.images, found.images)
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.array([0, 1]))
    with pytest.raises(UserError) as info:
        read_image_set(str(tmp_path), 32)
    assert "2 labels for the 5 images" in one_line(info)


def test_a_png_folder_and_the_idx_file_it_was_written_from_decode_alike(tmp_path):
    images = np.random.default_rng(1).integers(0, 256, (6, 28, 28), dtype=np.uint8)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images)
    (tmp_path / "png").mkdir()
    for i, im in enumerate(images):
        Image.fromarray(im).save(tmp_path / "png" / f"{i:05d}.png")
    a = read_image_set(str(tmp_path / "t10k-images-idx3-ubyte.gz"), 32)
    b = read_image_set(str(tmp_path / "png"), 32)
    assert np.array_equal(a.images, b.images)


def test_the_cache_skips_decoding_and_follows_the_folder(tmp_path, monkeypatch):
    root = write_folder(tmp_path / "data", per_class=2)
    cache = str(tmp_path / "cache")
    first, file = cached_image_set(root, 32, cache_dir=cache)
    assert file and os.path.isfile(file)

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again")

    monkeypatch.setattr(image_sets, "fit_square", no_decoding)
    second, again = cached_image_set(root, 32, cache_dir=cache)
    assert again == file and np.array_equal(second.images, first.images)
    assert second.class_names == first.class_names and np.array_equal(second.labels, first.labels)
    monkeypatch.undo()
    # a changed image changes the digest: decoded again, into another cache file
    Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(tmp_path / "data" / "dogs" / "img1.png")
    third, other = cached_image_set(root, 32, cache_dir=cache)
    assert other != file and not np.array_equal(third.images, first.images)
    # a damaged cache file is remade, not trusted
    with open(other, "r+b") as f:
        f.truncate(100)
    fourth, same = cached_image_set(root, 32, cache_dir=cache)
    assert same == other and np.array_equal(fourth.images, third.images)
    with np.load(other, allow_pickle=False) as z:  # and it holds no pickled objects
        assert set(z.files) == {"images", "digest", "class_names", "skipped", "labels"}


def test_memory_is_one_uint8_copy(tmp_path):
    root = write_folder(tmp_path / "data", per_class=2)
    found = read_image_set(root, 64)
    assert found.images.nbytes == 4 * 64 * 64 * 3  # N * R * R * C bytes
    assert 100_000 * 64 * 64 * 3 == 1_228_800_000 and 100_000 * 32 * 32 * 3 == 307_200_000  # the docstring's figures


def test_pickle_is_not_the_cache_format(tmp_path):
    # a cache file replaced by a pickle is not loaded as one (np.load(allow_pickle=False))
    root = write_folder(tmp_path / "data", per_class=2)
    cache = str(tmp_path / "cache")
    _, file = cached_image_set(root, 32, cache_dir=cache)
    with open(file, "wb") as f:
        pickle.dump({"images": np.zeros((1, 32, 32, 3), np.uint8)}, f)
    found, _ = cached_image_set(root, 32, cache_dir=cache)
    assert found.images.shape == (4, 32, 32, 3)
