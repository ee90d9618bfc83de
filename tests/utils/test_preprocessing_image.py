"""``keras.preprocessing.image``: Keras's older path to the image-file helpers, and load_img's bomb guard."""

import io
import struct
import zlib

import numpy as np
import pytest

import cnnlab
import cnnlab.preprocessing
from cnnlab.errors import FileFormatError
from cnnlab.utils import image_utils


def png_header(width, height):
    """A PNG signature and IHDR chunk (8-bit RGB) declaring ``width`` x ``height``, with no pixel data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk
            + struct.pack(">I", zlib.crc32(chunk) & 0xFFFFFFFF) + struct.pack(">I", 0) + b"IEND"
            + struct.pack(">I", zlib.crc32(b"IEND") & 0xFFFFFFFF))


@pytest.mark.parametrize("name", ["load_img", "img_to_array", "array_to_img", "save_img"])
def test_preprocessing_image_names_are_the_utils_functions(name):
    from cnnlab.keras.preprocessing import image

    assert getattr(image, name) is getattr(image_utils, name) is getattr(cnnlab.utils, name)


def test_old_keras_import_lines_work():
    from cnnlab.keras.preprocessing.image import load_img  # the line in older tutorials
    import cnnlab as tf

    assert load_img is image_utils.load_img
    assert tf.keras.preprocessing.image.img_to_array is image_utils.img_to_array
    assert cnnlab.preprocessing.image_dataset_from_directory is cnnlab.utils.image_dataset_from_directory
    assert "preprocessing" in cnnlab.__all__


def test_round_trip_through_the_old_path(tmp_path):
    from cnnlab.keras.preprocessing.image import img_to_array, load_img, save_img

    pixels = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    save_img(tmp_path / "x.png", pixels, scale=False)
    np.testing.assert_array_equal(img_to_array(load_img(tmp_path / "x.png")), pixels.astype("float32"))


@pytest.mark.parametrize("as_bytes", [False, True])
@pytest.mark.parametrize("side", [100_000, 10_000])  # 10^10 pixels (Pillow's hard error); 10^8 (its warning)
def test_png_header_claiming_too_many_pixels_is_refused_before_decoding(tmp_path, as_bytes, side):
    from cnnlab.keras.preprocessing.image import load_img

    data = png_header(side, side)
    assert len(data) < 100  # nothing to decode: only the declared size can trip the guard
    path = tmp_path / "bomb.png"
    path.write_bytes(data)
    with pytest.raises(FileFormatError, match=r"too large to decode safely|more than the limit") as info:
        load_img(io.BytesIO(data) if as_bytes else path)
    assert ("<BytesIO>" if as_bytes else str(path)) in str(info.value)
