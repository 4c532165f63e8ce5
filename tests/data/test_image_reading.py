"""Images read as they look (ppsci_ext/data/image_sets.py): 16-bit and float modes, EXIF orientation, every Pillow
mode to gray or RGB, links and special files, the pixel limit, the cache that cannot be written, array files."""

import errno
import hashlib
import io
import os
import struct
import threading
import zlib

import numpy as np
import pytest
from PIL import Image

from ppsci_ext.data import image_sets
from ppsci_ext.data.image_sets import cached_image_set, folder_digest, list_image_files, read_image_set, visible
from ppsci_ext.errors import UserError


def one_line(excinfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


def returns(func, wait=120.0):
    """Run ``func`` in a thread; the watchdog fails the test if it has not returned after ``wait`` seconds.

    The wait is generous and times nothing: a read that blocks on a FIFO or reads /dev/zero never returns.
    """
    result = {}

    def run():
        try:
            result["value"] = func()
        except BaseException as e:  # noqa: BLE001 - handed to the test
            result["error"] = e

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(wait)
    assert not thread.is_alive(), "the read blocked (a FIFO or a device was opened)"
    if "error" in result:
        raise result["error"]
    return result["value"]


def picture(size=64, seed=0):
    """A smooth gray picture in 0..1 (a gradient with a bump), so that resizing moves the mean very little."""
    y, x = np.mgrid[0:size, 0:size] / (size - 1)
    return np.clip(0.15 + 0.6 * x * y + 0.25 * np.exp(-((x - 0.4) ** 2 + (y - 0.6) ** 2) * 8), 0, 1)


# ------------------------------------------------------------------------------------------------ 16-bit
def test_a_16_bit_png_reads_as_its_8_bit_version(tmp_path):
    values = picture()
    sixteen = np.round(values * 65535).astype(np.uint16)
    eight = np.round(sixteen / 257).astype(np.uint8)  # the same picture at 8 bits
    for name, array in (("sixteen", sixteen), ("eight", eight)):
        (tmp_path / name).mkdir()
        Image.fromarray(array).save(tmp_path / name / "a.png")
    with Image.open(tmp_path / "sixteen" / "a.png") as im:
        assert im.mode == "I;16"  # what Pillow gives for a 16-bit gray PNG
    for resolution in (32, 64):
        a = read_image_set(str(tmp_path / "sixteen"), resolution).images
        b = read_image_set(str(tmp_path / "eight"), resolution).images
        assert a.shape == b.shape == (1, resolution, resolution, 1)
        assert abs(a.mean() - b.mean()) < 1, resolution
        assert (a == 255).mean() < 0.01  # not clipped to white, as Pillow's convert("L") would
    assert np.array_equal(read_image_set(str(tmp_path / "sixteen"), 64).images[0, ..., 0], eight)  # no resize: exact


@pytest.mark.parametrize("mode,dtype", [("I;16", "<u2"), ("I;16L", "<u2"), ("I;16B", ">u2"), ("I;16N", "=u2")])
def test_16_bit_modes_scale_with_rounding(mode, dtype):
    raw = np.array([[0, 128, 129, 257], [32896, 65407, 65535, 1000]], dtype)
    im = Image.frombytes(mode, (4, 2), raw.tobytes())
    out = visible(im)
    assert out.mode == "L"
    assert np.asarray(out).tolist() == [[0, 0, 1, 1], [128, 255, 255, 4]]  # round(v * 255 / 65535)


def test_32_bit_integers_are_16_bit_values_clipped():
    im = Image.fromarray(np.array([[-5, 0, 257, 70000]], np.int32), "I")
    assert np.asarray(visible(im)).tolist() == [[0, 0, 1, 255]]


def test_floats_are_0_to_1():
    im = Image.fromarray(np.array([[-0.5, 0.0, 0.25, 0.5, 1.0, 1.5, np.nan]], np.float32), "F")
    out = visible(im)
    assert out.mode == "L" and np.asarray(out).tolist() == [[0, 0, 64, 128, 255, 255, 0]]


# --------------------------------------------------------------------------------------------- all modes
def _over_white(colour, alpha):
    return (colour * alpha + 255 * (255 - alpha) + 127) // 255


def test_transparency_is_composited_over_white():
    rgba = np.array([[[10, 20, 30, 0], [10, 20, 30, 255], [0, 100, 200, 51], [127, 0, 255, 1]]], np.uint8)
    out = visible(Image.fromarray(rgba, "RGBA"))
    assert out.mode == "RGB"  # 127 at alpha 1: (127 + 255 * 254) / 255 = 254.498 rounds down
    assert np.asarray(out).tolist() == [[[255, 255, 255], [10, 20, 30], [204, 224, 244], [254, 254, 255]]]
    la = np.array([[[0, 128], [200, 255], [100, 0]]], np.uint8)
    out = visible(Image.fromarray(la, "LA"))
    assert out.mode == "L" and np.asarray(out).tolist() == [[127, 200, 255]]


@pytest.mark.parametrize("mode,fill,expected_mode,expected", [
    ("1", 1, "L", 255),
    ("1", 0, "L", 0),
    ("L", 77, "L", 77),
    ("RGB", (1, 2, 3), "RGB", (1, 2, 3)),
    ("La", (100, 128), "L", None),  # premultiplied: un-premultiplied by Pillow, then composited
    ("RGBa", (100, 50, 20, 128), "RGB", None),
    ("RGBX", (9, 8, 7, 0), "RGB", (9, 8, 7)),
    ("CMYK", (0, 255, 255, 0), "RGB", (255, 0, 0)),
    ("CMYK", (0, 0, 0, 128), "RGB", (127, 127, 127)),
    ("YCbCr", (128, 128, 128), "RGB", (128, 128, 128)),
    ("HSV", (0, 255, 255), "RGB", (255, 0, 0)),
])
def test_every_mode_becomes_gray_or_rgb(mode, fill, expected_mode, expected):
    im = Image.new(mode, (3, 2), fill)
    out = visible(im)
    assert out.mode == expected_mode and out.size == (3, 2)
    pixel = np.asarray(out)[0, 0]
    if expected is None:  # the premultiplied modes: Pillow's un-premultiplication, then the white composite
        straight = np.asarray(im.convert("LA" if mode == "La" else "RGBA")).astype(int)[0, 0]
        expected = _over_white(straight[:-1], straight[-1])
        assert (expected < 255).all()  # not simply white
        expected = expected[0] if mode == "La" else expected
    assert np.array_equal(pixel, np.broadcast_to(expected, pixel.shape)), (mode, pixel)
    if mode in ("L", "RGB"):
        assert out is im  # nothing to do: no copy


def test_lab_goes_through_littlecms():
    white = np.asarray(visible(Image.new("LAB", (2, 2), (255, 128, 128))))
    assert white.shape == (2, 2, 3) and (white >= 253).all()
    black = np.asarray(visible(Image.new("LAB", (2, 2), (0, 128, 128))))
    assert (black <= 2).all()


def test_palette_images_with_and_without_transparency():
    p = Image.new("P", (2, 1))
    p.putpalette([0, 0, 0, 200, 10, 10, 0, 0, 255])
    p.putdata([1, 2])
    out = visible(p)
    assert out.mode == "RGB" and np.asarray(out).tolist() == [[[200, 10, 10], [0, 0, 255]]]
    p.info["transparency"] = 2
    assert np.asarray(visible(p)).tolist() == [[[200, 10, 10], [255, 255, 255]]]
    pa = Image.new("PA", (1, 1))
    pa.putpalette([0, 0, 0, 0, 0, 255])
    pa.putdata([(1, 0)])
    assert visible(pa).mode == "RGB" and np.asarray(visible(pa)).tolist() == [[[255, 255, 255]]]


def test_a_transparent_colour_of_gray_and_rgb_images():
    gray = Image.fromarray(np.array([[50, 60]], np.uint8), "L")
    gray.info["transparency"] = 50
    out = visible(gray)
    assert out.mode == "L" and np.asarray(out).tolist() == [[255, 60]]
    rgb = Image.fromarray(np.array([[[1, 2, 3], [4, 5, 6]]], np.uint8), "RGB")
    rgb.info["transparency"] = (1, 2, 3)
    assert np.asarray(visible(rgb)).tolist() == [[[255, 255, 255], [4, 5, 6]]]
    sixteen = Image.frombytes("I;16", (2, 1), np.array([1000, 65535], "<u2").tobytes())
    sixteen.info["transparency"] = 1000
    assert np.asarray(visible(sixteen)).tolist() == [[255, 255]]
    sixteen.info["transparency"] = 65535
    assert np.asarray(visible(sixteen)).tolist() == [[4, 255]]


def _rgba_sprite():
    pixels = np.zeros((32, 32, 4), np.uint8)
    pixels[..., :3] = (20, 40, 60)  # the colour hidden under the transparent part
    pixels[8:24, 8:24, 3] = 255  # an opaque square in a transparent field
    return pixels


@pytest.mark.parametrize("fmt,save_mode,channels,corner", [
    ("png", "1", 1, 255),
    ("png", "L", 1, 200),
    ("png", "LA", 1, 255),
    ("png", "P", 3, (200, 10, 10)),
    ("png", "RGBA", 3, (255, 255, 255)),
    ("webp", "RGBA", 3, (255, 255, 255)),
    ("bmp", "P", 3, (200, 10, 10)),
    ("jpg", "CMYK", 3, (255, 0, 0)),
])
def test_files_of_every_mode_read_through_the_folder(tmp_path, fmt, save_mode, channels, corner):
    if save_mode == "1":
        im = Image.new("1", (32, 32), 1)
    elif save_mode == "L":
        im = Image.new("L", (32, 32), 200)
    elif save_mode == "LA":
        im = Image.new("LA", (32, 32), (0, 0))
    elif save_mode == "P":
        im = Image.new("P", (32, 32), 1)
        im.putpalette([0, 0, 0, 200, 10, 10])
    elif save_mode == "RGBA":
        im = Image.fromarray(_rgba_sprite(), "RGBA")
    else:
        im = Image.new("CMYK", (32, 32), (0, 255, 255, 0))
    (tmp_path / "f").mkdir()
    options = {"lossless": True} if fmt == "webp" else {"quality": 100} if fmt == "jpg" else {}
    im.save(tmp_path / "f" / f"a.{fmt}", **options)
    with Image.open(tmp_path / "f" / f"a.{fmt}") as back:
        assert back.mode == save_mode  # the file really holds that mode
    found = read_image_set(str(tmp_path / "f"), 32)
    assert found.images.shape == (1, 32, 32, channels)
    pixel = found.images[0, 0, 0]
    assert np.abs(pixel.astype(int) - np.broadcast_to(corner, pixel.shape)).max() <= 2, pixel
    if save_mode == "RGBA":  # the opaque square keeps its colour
        assert found.images[0, 16, 16].tolist() == [20, 40, 60]


def test_gray_with_alpha_and_colour_do_not_mix(tmp_path):
    (tmp_path / "f").mkdir()
    Image.new("LA", (8, 8), (10, 255)).save(tmp_path / "f" / "a.png")
    Image.new("RGBA", (8, 8), (10, 10, 10, 255)).save(tmp_path / "f" / "b.png")
    with pytest.raises(UserError) as info:
        read_image_set(str(tmp_path / "f"), 32)
    assert "a.png is grayscale but b.png is colour" in one_line(info)


# ------------------------------------------------------------------------------------------ orientation
_UNDO = {  # what the EXIF orientation tag says to do to the stored pixels to show them upright
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_STORE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
          5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE,
          8: Image.Transpose.ROTATE_270}  # the inverse of each


def _upright(size=64):
    """Four coloured quadrants and a bar: every rotation and mirror of it differs."""
    pixels = np.zeros((size, size, 3), np.uint8)
    h = size // 2
    pixels[:h, :h] = (230, 30, 30)
    pixels[:h, h:] = (30, 230, 30)
    pixels[h:, :h] = (30, 30, 230)
    pixels[h:, h:] = (230, 230, 30)
    pixels[2:6, 4:40] = (255, 255, 255)
    return Image.fromarray(pixels, "RGB")


def _save_with_orientation(image, path, orientation, **options):
    exif = Image.Exif()
    exif[0x0112] = orientation
    image.save(path, exif=exif.tobytes(), **options)


def test_an_exif_rotated_jpeg_decodes_as_its_upright_version(tmp_path):
    upright = _upright()
    for name in ("upright", "rotated"):
        (tmp_path / name).mkdir()
    upright.save(tmp_path / "upright" / "a.jpg", quality=95)
    stored = upright.transpose(_STORE[6])  # a phone held sideways: pixels stored rotated, tag 6
    _save_with_orientation(stored, tmp_path / "rotated" / "a.jpg", 6, quality=95)
    a = read_image_set(str(tmp_path / "upright"), 64).images[0].astype(int)
    b = read_image_set(str(tmp_path / "rotated"), 64).images[0].astype(int)
    assert np.abs(a - b).mean() < 2  # the same picture, up to JPEG noise
    unrotated = np.asarray(Image.open(tmp_path / "rotated" / "a.jpg").convert("RGB")).astype(int)
    assert np.abs(a - unrotated).mean() > 50  # as stored it is far from it


@pytest.mark.parametrize("orientation", [1, 2, 3, 4, 5, 6, 7, 8])
def test_every_orientation(tmp_path, orientation):
    upright = _upright(32)
    stored = upright if orientation == 1 else upright.transpose(_STORE[orientation])
    assert orientation == 1 or stored.transpose(_UNDO[orientation]).tobytes() == upright.tobytes()
    (tmp_path / "f").mkdir()
    _save_with_orientation(stored, tmp_path / "f" / "a.png", orientation)  # lossless: exact comparison
    found = read_image_set(str(tmp_path / "f"), 32).images[0]
    assert np.array_equal(found, np.asarray(upright)), orientation


# -------------------------------------------------------------------------------------------- pixel limit
def _png_header_only(path, width, height):
    """A PNG that declares ``width`` x ``height`` gray pixels and holds almost no data (a decompression bomb)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 100))
                     + chunk(b"IEND", b""))


def test_images_over_the_pixel_limit_are_skipped_before_decoding(tmp_path, monkeypatch, recwarn):
    assert image_sets.MAX_PIXELS == 67_108_864
    (tmp_path / "f").mkdir()
    Image.new("L", (40, 25), 100).save(tmp_path / "f" / "a_ok.png")  # 1,000 pixels: at the limit
    Image.new("L", (40, 26), 100).save(tmp_path / "f" / "b_big.png")  # 1,040 pixels
    monkeypatch.setattr(image_sets, "MAX_PIXELS", 1000)

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded")

    found = read_image_set(str(tmp_path / "f"), 32)
    assert len(found.images) == 1
    assert found.skipped == ["b_big.png (40x26 = 1,040 pixels, over the limit of 1,000; shrink it)"]
    (tmp_path / "f" / "a_ok.png").unlink()
    monkeypatch.setattr(Image.Image, "load", no_decoding)  # refused on its header, before any decoding
    with pytest.raises(UserError) as info:
        read_image_set(str(tmp_path / "f"), 32, bad_images="stop")
    assert one_line(info) == (f"cannot read the image {tmp_path / 'f' / 'b_big.png'} (40x26 = 1,040 pixels, over "
                              "the limit of 1,000; shrink it); remove or replace it, or skip unreadable images.")


def test_a_forged_png_header_is_a_bad_image_without_pillows_warning(tmp_path, recwarn):
    (tmp_path / "f").mkdir()
    Image.new("L", (8, 8), 1).save(tmp_path / "f" / "a.png")
    _png_header_only(tmp_path / "f" / "b.png", 10_000, 10_000)  # 10^8: over ours, under Pillow's error
    _png_header_only(tmp_path / "f" / "c.png", 30_000, 30_000)  # 9 x 10^8: over Pillow's error too
    found = read_image_set(str(tmp_path / "f"), 32)
    assert len(found.images) == 1 and len(found.skipped) == 2
    assert found.skipped[0] == "b.png (10000x10000 = 100,000,000 pixels, over the limit of 67,108,864; shrink it)"
    assert found.skipped[1].startswith("c.png (over the limit of 67,108,864 pixels (Image size (900000000 pixels)")
    assert not [w for w in recwarn if issubclass(w.category, Image.DecompressionBombWarning)]


# ---------------------------------------------------------------------------------- links, FIFOs, devices
def _folder_with_links(tmp_path):
    """Class folders a, b with 2 images each, and every kind of entry that must not be read (or hang)."""
    root = tmp_path / "data"
    for c in ("a", "b"):
        (root / c).mkdir(parents=True)
        for i in range(2):
            Image.new("RGB", (8, 8), (40 * i, 100, 7)).save(root / c / f"img{i}.png")
    outside = tmp_path / "outside.png"
    Image.new("RGB", (8, 8)).save(outside)
    os.symlink("../b/img0.png", root / "a" / "inside.png")  # followed: it stays in the folder
    os.symlink(str(outside), root / "a" / "out.png")
    os.symlink("self.png", root / "a" / "self.png")  # a link to itself
    os.symlink("..", root / "a" / "back")  # a folder link to a folder it lies in
    os.mkfifo(root / "b" / "pipe.png")
    os.symlink("/dev/zero", root / "b" / "zero.png")
    os.symlink(str(tmp_path), root / "b" / "up")  # a folder out of the folder
    os.symlink("missing.png", root / "b" / "broken.png")
    return root


EXPECTED_SKIPS = [
    os.path.join("a", "back") + " (a symbolic link loop (to a folder it lies in))",
    os.path.join("a", "out.png") + " (a symbolic link out of the folder, to {tmp}/outside.png)",
    os.path.join("a", "self.png") + " (a symbolic link loop)",
    os.path.join("b", "broken.png") + " (a broken symbolic link)",
    os.path.join("b", "pipe.png") + " (a FIFO (named pipe), not a regular file)",
    os.path.join("b", "up") + " (a symbolic link out of the folder, to {tmp})",
    os.path.join("b", "zero.png") + " (a symbolic link out of the folder, to /dev/zero)",
]


def test_links_fifos_and_devices_are_skipped_and_counted_without_blocking(tmp_path):
    root = _folder_with_links(tmp_path)
    tmp = os.path.realpath(tmp_path)
    files, classes, skipped = returns(lambda: list_image_files(str(root)))
    assert files == [os.path.join("a", n) for n in ("img0.png", "img1.png", "inside.png")] + \
        [os.path.join("b", n) for n in ("img0.png", "img1.png")]
    assert classes == ["a", "a", "a", "b", "b"]
    assert skipped == [s.format(tmp=tmp) for s in EXPECTED_SKIPS]
    found, file = returns(lambda: cached_image_set(str(root), 32, cache_dir=str(tmp_path / "cache")))
    assert file is not None and len(found.images) == 5 and found.skipped == skipped
    assert "5 images 32x32x3, 2 classes, 7 unreadable files skipped" == found.describe()
    assert np.array_equal(found.images[2], found.images[3])  # the inside link reads b/img0.png
    again, same = returns(lambda: cached_image_set(str(root), 32, cache_dir=str(tmp_path / "cache")))
    assert same == file and again.skipped == skipped  # the skips are kept in the cache


@pytest.mark.parametrize("make,reason", [
    (lambda d, t: os.symlink("self.png", d / "self.png"), "a symbolic link loop"),
    (lambda d, t: os.symlink("..", d / "loop"), "a symbolic link loop (to a folder it lies in)"),
    (lambda d, t: os.symlink(str(t / "outside.png"), d / "out.png"),
     "a symbolic link out of the folder, to {tmp}/outside.png"),
    (lambda d, t: os.mkfifo(d / "pipe.png"), "a FIFO (named pipe), not a regular file"),
    (lambda d, t: os.symlink("/dev/zero", d / "zero.png"), "a symbolic link out of the folder, to /dev/zero"),
])
def test_each_bad_entry_stops_the_read_under_stop(tmp_path, make, reason):
    (tmp_path / "data" / "a").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(tmp_path / "outside.png")
    Image.new("RGB", (8, 8)).save(tmp_path / "data" / "a" / "img.png")
    make(tmp_path / "data" / "a", tmp_path)
    name = os.listdir(tmp_path / "data" / "a")
    bad = next(n for n in name if n != "img.png")
    with pytest.raises(UserError) as info:
        returns(lambda: read_image_set(str(tmp_path / "data"), 32, bad_images="stop"))
    reason = reason.format(tmp=os.path.realpath(tmp_path))
    assert one_line(info) == (f"cannot read {tmp_path / 'data' / 'a' / bad} ({reason}); remove it, or skip "
                              "unreadable images.")
    assert len(returns(lambda: read_image_set(str(tmp_path / "data"), 32)).skipped) == 1


def test_a_device_named_like_an_image_inside_the_folder(tmp_path):
    import stat

    (tmp_path / "f").mkdir()
    Image.new("L", (8, 8)).save(tmp_path / "f" / "a.png")
    try:
        os.mknod(tmp_path / "f" / "zero.png", stat.S_IFCHR | 0o600, os.makedev(1, 5))  # /dev/zero's numbers
    except (PermissionError, OSError):
        pytest.skip("cannot make a device node here")
    found = returns(lambda: read_image_set(str(tmp_path / "f"), 32))
    assert found.skipped == ["zero.png (a character device, not a regular file)"]


def test_a_folder_link_inside_the_folder_is_followed(tmp_path):
    (tmp_path / "d" / "real").mkdir(parents=True)
    Image.new("L", (8, 8), 9).save(tmp_path / "d" / "real" / "a.png")
    os.symlink("real", tmp_path / "d" / "alias")
    files, classes, skipped = list_image_files(str(tmp_path / "d"))
    assert files == [os.path.join("alias", "a.png"), os.path.join("real", "a.png")]
    assert classes == ["alias", "real"] and skipped == []


def test_a_file_swapped_for_a_fifo_after_the_listing_is_skipped(tmp_path):
    (tmp_path / "f").mkdir()
    for name in ("a.png", "b.png"):
        Image.new("L", (8, 8)).save(tmp_path / "f" / name)
    listing = list_image_files(str(tmp_path / "f"))
    (tmp_path / "f" / "b.png").unlink()
    os.mkfifo(tmp_path / "f" / "b.png")
    digest = returns(lambda: folder_digest(str(tmp_path / "f"), listing[0]))
    assert len(digest) == 64
    found = returns(lambda: image_sets._read_folder(str(tmp_path / "f"), 32, None, "skip", listing, digest))
    assert found.skipped == ["b.png (it is a FIFO (named pipe), not a regular file)"]


def test_only_bad_entries_say_so(tmp_path):
    (tmp_path / "f").mkdir()
    os.mkfifo(tmp_path / "f" / "pipe.png")
    (tmp_path / "f" / "notes.txt").write_text("x")
    with pytest.raises(UserError) as info:
        returns(lambda: read_image_set(str(tmp_path / "f"), 32))
    assert "it holds 1 other files and 1 unreadable entries (e.g. pipe.png (a FIFO (named pipe), not a regular " \
           "file))" in one_line(info)


def test_a_fifo_given_as_the_data_path(tmp_path):
    os.mkfifo(tmp_path / "data.npz")
    with pytest.raises(UserError) as info:
        returns(lambda: read_image_set(str(tmp_path / "data.npz"), 32))
    assert one_line(info) == (f"{tmp_path / 'data.npz'} is a FIFO (named pipe), not a regular file; give a folder "
                              "of images, an .npz / .npy of uint8 images or an idx file.")


# ------------------------------------------------------------------------------------------------ digest
def test_the_digest_is_streamed_and_unchanged_for_ordinary_folders(tmp_path, monkeypatch):
    (tmp_path / "f" / "c").mkdir(parents=True)
    for i in range(3):
        Image.new("L", (9, 9), i).save(tmp_path / "f" / "c" / f"{i}.png")
    files, _, skipped = list_image_files(str(tmp_path / "f"))
    expected = hashlib.sha256()
    for name in files:  # the formula of the first version: path, NUL, 8-byte length, bytes
        data = (tmp_path / "f" / name).read_bytes()
        expected.update(name.replace(os.sep, "/").encode() + b"\0" + len(data).to_bytes(8, "little") + data)
    monkeypatch.setattr(image_sets, "open_regular", _small_reads(image_sets.open_regular))
    assert folder_digest(str(tmp_path / "f"), files, skipped) == expected.hexdigest()
    assert folder_digest(str(tmp_path / "f"), files, ["x (a FIFO)"]) != expected.hexdigest()
    assert folder_digest(str(tmp_path / "f"), files, ["x (a FIFO)"]) != \
        folder_digest(str(tmp_path / "f"), files, ["y (a FIFO)"])


def _small_reads(open_func):
    """``open_regular`` whose files hand out at most 7 bytes a read: the digest must loop over chunks."""
    class Small(io.BufferedReader):
        def read(self, size=-1):
            return super().read(7 if size is None or size < 0 or size > 7 else size)

    def opened(path):
        return Small(open_func(path).detach())

    return opened


def test_an_unreadable_file_does_not_stop_the_digest(tmp_path):
    (tmp_path / "f").mkdir()
    Image.new("L", (8, 8)).save(tmp_path / "f" / "a.png")
    files = ["a.png", "gone.png"]
    one = folder_digest(str(tmp_path / "f"), files)
    assert one == folder_digest(str(tmp_path / "f"), files) and one != folder_digest(str(tmp_path / "f"), ["a.png"])


# ------------------------------------------------------------------------------------------------- cache
def _warnings(monkeypatch):
    from ppsci.utils import logger

    said = []
    monkeypatch.setattr(logger, "warning", lambda message, *a, **k: said.append(message))
    return said


def test_a_cache_that_cannot_be_written_costs_the_cache_not_the_run(tmp_path, monkeypatch):
    from ppsci_ext.io import atomic

    (tmp_path / "f").mkdir()
    for i in range(2):
        Image.new("L", (8, 8), 10 * i).save(tmp_path / "f" / f"{i}.png")
    said = _warnings(monkeypatch)

    def full_disk(path, **arrays):
        raise OSError(errno.ENOSPC, "No space left on device", path)

    monkeypatch.setattr(atomic, "atomic_savez", full_disk)
    found, file = cached_image_set(str(tmp_path / "f"), 32, cache_dir=str(tmp_path / "cache"))
    assert file is None and found.images.shape == (2, 32, 32, 1)
    assert np.array_equal(found.images, read_image_set(str(tmp_path / "f"), 32).images)
    assert len(said) == 1 and "\n" not in said[0]
    assert said[0].startswith(f"could not write the decoded-images cache {tmp_path / 'cache'}")
    assert said[0].endswith("(No space left on device); continuing without it.")
    monkeypatch.undo()
    said = _warnings(monkeypatch)
    (tmp_path / "blocked").write_text("a file where the cache folder should be")
    found, file = cached_image_set(str(tmp_path / "f"), 32, cache_dir=str(tmp_path / "blocked" / "cache"))
    assert file is None and len(found.images) == 2
    assert len(said) == 1 and "(Not a directory); continuing without it." in said[0]


def test_a_forged_cache_file_is_remade_without_allocating(tmp_path, monkeypatch):
    (tmp_path / "f").mkdir()
    Image.new("L", (8, 8), 3).save(tmp_path / "f" / "a.png")
    _, file = cached_image_set(str(tmp_path / "f"), 32, cache_dir=str(tmp_path / "cache"))
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False,
                                                  "shape": (10 ** 9, 32, 32, 1)})
    import zipfile

    with zipfile.ZipFile(file, "w") as z:
        z.writestr("images.npy", header.getvalue() + b"\0" * 100)
    said = _warnings(monkeypatch)
    found, again = cached_image_set(str(tmp_path / "f"), 32, cache_dir=str(tmp_path / "cache"))
    assert again == file and found.images.shape == (1, 32, 32, 1)
    assert said == [f"the decoded-images cache {file} is damaged or stale; decoding the images again."]


# ------------------------------------------------------------------------------------------- array files
def test_a_forged_npy_of_a_billion_images_is_one_line(tmp_path):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False,
                                                  "shape": (10 ** 9, 28, 28)})
    (tmp_path / "x.npy").write_bytes(header.getvalue() + b"\0" * (1024 - len(header.getvalue())))
    with pytest.raises(UserError) as info:
        read_image_set(str(tmp_path / "x.npy"), 32)
    assert one_line(info) == (f"{tmp_path / 'x.npy'} is truncated: its header declares shape [1000000000, 28, 28] "
                              "uint8 (784 GB) but only 896 bytes follow it in the file; write it again.")


def test_a_truncated_npy_and_a_truncated_npz_member_are_named_truncated(tmp_path):
    import zipfile

    np.save(tmp_path / "ok.npy", np.zeros((10, 32, 32), np.uint8))
    data = (tmp_path / "ok.npy").read_bytes()
    (tmp_path / "cut.npy").write_bytes(data[:-1000])
    with pytest.raises(UserError) as info:
        read_image_set(str(tmp_path / "cut.npy"), 32)
    assert one_line(info) == (f"{tmp_path / 'cut.npy'} is truncated: its header declares shape [10, 32, 32] uint8 "
                              "(10.2 KB) but only 9.24 KB follow it in the file; write it again.")
    with zipfile.ZipFile(tmp_path / "cut.npz", "w") as z:
        z.writestr("images.npy", data[:-1000])
        z.writestr("labels.npy", b"")
    with pytest.raises(UserError) as info:
        read_image_set(str(tmp_path / "cut.npz"), 32)
    assert one_line(info) == (f"{tmp_path / 'cut.npz'} (array 'images') is truncated: its header declares shape "
                              "[10, 32, 32] uint8 (10.2 KB) but only 9.24 KB follow it in the archive; write it "
                              "again.")


def test_compressed_npz_of_images_with_labels(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    np.savez_compressed(tmp_path / "c.npz", images=images, labels=np.array([3, 1, 3, 1]),
                        class_names=np.array(["zero", "one", "two", "three"]))
    found = read_image_set(str(tmp_path / "c.npz"), 32)
    assert np.array_equal(found.images, images) and found.labels.tolist() == [3, 1, 3, 1]
    assert found.class_names == ("zero", "one", "two", "three")


# --------------------------------------------------------------------------------- the score command's reader
def test_the_score_folder_reader_follows_the_same_rules(tmp_path):
    from ppsci_ext.data.images import read_image_folder

    (tmp_path / "s").mkdir()
    sixteen = np.full((16, 16), 32896, np.uint16)  # 128 at 8 bits
    Image.fromarray(sixteen).save(tmp_path / "s" / "a.png")
    Image.fromarray(np.zeros((16, 16, 4), np.uint8), "RGBA").save(tmp_path / "s" / "b.png")  # transparent
    images = read_image_folder(str(tmp_path / "s"))
    assert images.shape == (2, 16, 16, 3)
    assert (images[0] == 128).all() and (images[1] == 255).all()
    os.mkfifo(tmp_path / "s" / "c.png")
    with pytest.raises(UserError) as info:
        returns(lambda: read_image_folder(str(tmp_path / "s")))
    assert one_line(info) == (f"cannot read image {str(tmp_path / 's' / 'c.png')!r} (it is a FIFO (named pipe), "
                              "not a regular file); remove or replace it.")


# ------------------------------------------------------------------------------------------ more pins
def test_reasons_of_files_that_vanish_or_are_not_images(tmp_path):
    (tmp_path / "f").mkdir()
    for name in ("a.png", "b.png"):
        Image.new("L", (8, 8)).save(tmp_path / "f" / name)
    (tmp_path / "f" / "c.png").write_bytes(b"not an image at all")
    listing = list_image_files(str(tmp_path / "f"))
    (tmp_path / "f" / "b.png").unlink()
    found = image_sets._read_folder(str(tmp_path / "f"), 32, None, "skip", listing, "0" * 64)
    assert found.skipped == ["b.png (No such file or directory)",
                             "c.png (not an image: Pillow cannot identify its format)"]


def test_fit_square_reads_any_mode_as_it_looks():
    transparent = Image.fromarray(np.zeros((8, 8, 4), np.uint8), "RGBA")
    assert (image_sets.fit_square(transparent, 32, 3) == 255).all()


def test_a_link_out_of_the_folder_to_another_file_is_just_another_file(tmp_path):
    (tmp_path / "f").mkdir()
    Image.new("L", (8, 8)).save(tmp_path / "f" / "a.png")
    (tmp_path / "notes.txt").write_text("x")
    os.symlink(str(tmp_path / "notes.txt"), tmp_path / "f" / "notes.txt")
    files, classes, skipped = list_image_files(str(tmp_path / "f"))
    assert files == ["a.png"] and skipped == []


def test_skips_are_listed_in_path_order_and_stop_names_the_first(tmp_path):
    (tmp_path / "f" / "a").mkdir(parents=True)
    Image.new("L", (8, 8)).save(tmp_path / "f" / "a" / "ok.png")
    os.mkfifo(tmp_path / "f" / "z.png")  # in the folder itself: found before the sub-folder is walked
    os.mkfifo(tmp_path / "f" / "a" / "pipe.png")
    os.mkdir(tmp_path / "f" / "b")
    os.mkfifo(tmp_path / "f" / "b" / "pipe.png")
    _, _, skipped = returns(lambda: list_image_files(str(tmp_path / "f")))
    assert [s.split(" ")[0] for s in skipped] == [os.path.join("a", "pipe.png"), os.path.join("b", "pipe.png"),
                                                  "z.png"]
    (tmp_path / "f" / "z.png").unlink()
    with pytest.raises(UserError) as info:
        returns(lambda: list_image_files(str(tmp_path / "f"), "stop"))
    assert one_line(info).startswith(f"cannot read {tmp_path / 'f' / 'a' / 'pipe.png'} (a FIFO")
