"""keras.utils image helpers: load_img, img_to_array, array_to_img, save_img (Keras's semantics).

References are worked out with NumPy on images whose pixels the test wrote itself.
"""

import io
import warnings

import numpy as np
import pytest
from PIL import Image

import cnnlab
from cnnlab.errors import ArgumentTypeError, ConfigError, DatasetNotFoundError, FileFormatError, ShapeError
from cnnlab.utils import array_to_img, img_to_array, load_img, save_img


@pytest.fixture
def pixels():
    return np.random.default_rng(0).integers(0, 256, size=(80, 96, 3), dtype=np.uint8)


@pytest.fixture
def png(tmp_path, pixels):
    path = tmp_path / "image.png"
    Image.fromarray(pixels).save(path)
    return path


def test_helpers_are_keras_utils_names():
    assert cnnlab.keras.utils.load_img is load_img
    for name in ("load_img", "img_to_array", "array_to_img", "save_img"):
        assert name in cnnlab.utils.__all__


# ------------------------------------------------------------------------------ load_img
def test_load_img_returns_the_pixels_as_an_rgb_pil_image(png, pixels):
    img = load_img(png)
    assert isinstance(img, Image.Image) and img.mode == "RGB" and img.size == (96, 80)
    np.testing.assert_array_equal(np.asarray(img), pixels)


def test_load_img_accepts_str_bytes_and_bytesio(png, pixels):
    for source in (str(png), str(png).encode(), io.BytesIO(png.read_bytes())):
        np.testing.assert_array_equal(np.asarray(load_img(source)), pixels)


def test_target_size_is_height_width_with_nearest_by_default(png, pixels):
    img = load_img(png, target_size=(40, 32))
    assert img.size == (32, 40)
    # nearest: output i reads input floor((i + 0.5) * in / out): rows 2i+1 of 80, columns 3j+1 of 96
    np.testing.assert_array_equal(np.asarray(img), pixels[1::2, 1::3])


def test_keep_aspect_ratio_crops_the_centre_before_resizing(png, pixels):
    img = load_img(png, target_size=(40, 40), keep_aspect_ratio=True)
    # 96 wide, 80 high -> centred 80x80 crop starting at column (96 - 80) // 2 = 8, then every other pixel
    np.testing.assert_array_equal(np.asarray(img), pixels[1::2, 8 + 1:8 + 80:2])


def test_grayscale_converts_with_itu_luma_and_keeps_16_bit_grey(tmp_path, png, pixels):
    grey = np.asarray(load_img(png, color_mode="grayscale")).astype(int)
    luma = pixels @ np.array([0.299, 0.587, 0.114])  # ITU-R 601-2, what PIL's "L" uses
    assert np.abs(grey - luma).max() <= 1
    deep = tmp_path / "deep.png"
    Image.fromarray(np.full((4, 5), 1000, np.uint16)).save(deep)
    img = load_img(deep, color_mode="grayscale")
    assert img.mode in ("I;16", "I") and img_to_array(img).max() == 1000  # not squashed to 8 bits


def test_rgba_adds_an_opaque_alpha(png):
    x = img_to_array(load_img(png, color_mode="rgba"))
    assert x.shape == (80, 96, 4) and (x[..., 3] == 255).all()


def test_load_img_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist") as info:
        load_img(tmp_path / "nope.jpg")
    assert isinstance(info.value, DatasetNotFoundError)


def test_load_img_non_image_file_names_the_file(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("not an image")
    with pytest.raises(FileFormatError, match="notes.jpg"):
        load_img(path)


def test_load_img_folder_is_refused(tmp_path):
    with pytest.raises(FileFormatError, match="not a regular file"):
        load_img(tmp_path)


def test_load_img_keeps_the_decompression_bomb_limit(png, monkeypatch):
    monkeypatch.setattr("cnnlab.utils.image_utils.MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(FileFormatError, match="decompression bombs"):
        load_img(png)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow's own guard fires first when lowered
    with pytest.raises(FileFormatError, match="too large"):
        load_img(png)


def test_load_img_rejects_bad_arguments(png):
    with pytest.raises(ConfigError, match="Received: color_mode='rbg'"):
        load_img(png, color_mode="rbg")
    with pytest.raises(ConfigError, match="Received: interpolation='bilnear'"):
        load_img(png, target_size=(10, 10), interpolation="bilnear")
    with pytest.raises(ConfigError, match="target_size"):
        load_img(png, target_size=(10,))
    with pytest.raises(ArgumentTypeError, match="path"):
        load_img(42)


# -------------------------------------------------------------------- array conversions
def test_img_to_array_layouts_and_dtype(png, pixels):
    img = load_img(png)
    x = img_to_array(img)
    assert x.dtype == np.float32 and x.shape == (80, 96, 3)
    np.testing.assert_array_equal(img_to_array(img, data_format="channels_first"), pixels.transpose(2, 0, 1))
    assert img_to_array(img, dtype="uint8").dtype == np.uint8
    grey = Image.fromarray(pixels[..., 0])
    assert img_to_array(grey).shape == (80, 96, 1)
    assert img_to_array(grey, data_format="channels_first").shape == (1, 80, 96)


def test_img_to_array_rejects_a_batch_and_bad_data_format():
    with pytest.raises(ShapeError, match="not a batch"):
        img_to_array(np.zeros((2, 4, 4, 3)))
    with pytest.raises(ConfigError, match="data_format"):
        img_to_array(np.zeros((4, 4, 3)), data_format="nhwc")


def test_array_to_img_scales_min_to_0_and_max_to_255():
    x = np.array([[[-1.0], [0.0]], [[1.0], [3.0]]])
    img = array_to_img(x)
    assert img.mode == "L"
    np.testing.assert_array_equal(np.asarray(img), [[0, 63], [127, 255]])  # (x + 1) / 4 * 255, truncated
    np.testing.assert_array_equal(np.asarray(array_to_img(np.full((2, 2, 1), 7.9), scale=False)), 7)


def test_array_to_img_modes_by_channel_count_and_layout():
    rng = np.random.default_rng(1)
    assert array_to_img(rng.random((5, 6, 3))).mode == "RGB"
    assert array_to_img(rng.random((5, 6, 4))).mode == "RGBA"
    assert array_to_img(rng.random((3, 5, 6)), data_format="channels_first").size == (6, 5)
    wide = array_to_img(np.full((2, 2, 1), 1000.0), scale=False)  # grey above 255: 32-bit "I", as Keras
    assert wide.mode == "I" and np.asarray(wide).max() == 1000


def test_array_to_img_rejects_wrong_rank_and_channels():
    with pytest.raises(ShapeError, match="rank 3"):
        array_to_img(np.zeros((1, 4, 4, 3)))
    with pytest.raises(ShapeError, match="1, 3 or 4 channels"):
        array_to_img(np.zeros((4, 4, 2)))


def test_round_trip_array_img_array_is_exact_for_uint8_values(pixels):
    np.testing.assert_array_equal(img_to_array(array_to_img(pixels.astype("float32"), scale=False)), pixels)


# ------------------------------------------------------------------------------ save_img
def test_save_img_round_trips_a_png(tmp_path, pixels):
    path = tmp_path / "out.png"
    save_img(path, pixels.astype("float32"), scale=False)
    np.testing.assert_array_equal(np.asarray(Image.open(path)), pixels)


def test_save_img_jpg_extension_and_rgba_to_rgb(tmp_path):
    rgba = np.random.default_rng(2).random((8, 8, 4))
    with pytest.warns(UserWarning, match="RGBA"):
        save_img(tmp_path / "a.jpg", rgba)
    assert Image.open(tmp_path / "a.jpg").format == "JPEG"
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        save_img(buffer, rgba[..., :3], file_format="png")
    assert buffer.getvalue()[:4] == b"\x89PNG"


def test_save_img_unknown_format_says_how_to_fix(tmp_path):
    with pytest.raises(ConfigError, match="file_format='png'"):
        save_img(tmp_path / "image.nope", np.zeros((4, 4, 3)))
