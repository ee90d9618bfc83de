"""String tensors, ``tf.strings`` and ``tf.io`` (files and image codecs), against Python/NumPy/Pillow references."""

import io
import os

import numpy as np
import pytest
import torch
from PIL import Image

import cnnlab as tf
from cnnlab.data._strings import StringTensor
from cnnlab.errors import ArgumentTypeError, ConfigError, DataError, DatasetNotFoundError, FileFormatError, ShapeError


def _png(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def _jpeg(pixels: np.ndarray, quality: int = 90) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=quality)
    return out.getvalue()


RGB = np.random.default_rng(0).integers(0, 256, (7, 9, 3), dtype=np.uint8)


# --------------------------------------------------------------------------- the tensor


def test_scalar_string_tensor_reads_as_bytes_and_prints_as_tf():
    t = StringTensor("roses/1.jpg")
    assert t.numpy() == b"roses/1.jpg" and t.shape == () and t.dtype == tf.string and tf.string == t.dtype
    assert repr(t) == "<tf.Tensor: shape=(), dtype=string, numpy=b'roses/1.jpg'>"
    assert str(t) == "tf.Tensor(b'roses/1.jpg', shape=(), dtype=string)"


def test_vector_string_tensor_numpy_is_an_object_array_of_bytes_and_indexes_like_numpy():
    t = StringTensor(np.array(["a", "bb", "ccc"]))
    array = t.numpy()
    assert array.dtype == object and array.tolist() == [b"a", b"bb", b"ccc"]
    assert t[-2].numpy() == b"bb" and t[1:].numpy().tolist() == [b"bb", b"ccc"]
    assert [s.numpy() for s in t] == [b"a", b"bb", b"ccc"] and len(t) == 3


def test_comparing_with_a_numpy_str_array_gives_a_bool_tensor_whose_argmax_is_the_match():
    class_names = np.array(["daisy", "roses", "tulips"])
    one_hot = StringTensor(b"roses") == class_names
    assert one_hot.dtype == torch.bool and one_hot.tolist() == [False, True, False]
    assert int(tf.argmax(one_hot)) == 1
    assert (StringTensor(["a", "b"]) != "a").tolist() == [False, True]
    assert (StringTensor("x") + "y").numpy() == b"xy" and ("w" + StringTensor("x")).numpy() == b"wx"


def test_string_tensor_refuses_numbers_and_is_unhashable():
    with pytest.raises(ArgumentTypeError, match="as_string"):
        StringTensor(["a", 3])
    with pytest.raises(TypeError):
        hash(StringTensor("a"))


# --------------------------------------------------------------------------- tf.strings


@pytest.mark.parametrize("text, sep, maxsplit", [
    ("a/b/roses/x.jpg", "/", -1), ("a,,b,", ",", -1), ("  a  b c ", None, -1), ("  a  b c ", None, 1),
    ("", ",", -1), ("", None, -1), ("a b", "", -1), ("x-y-z", "-", 1)])
def test_split_matches_python_bytes_split(text, sep, maxsplit):
    got = tf.strings.split(text, sep, maxsplit=maxsplit)
    assert got.shape == (len(got.numpy()),)
    assert got.numpy().tolist() == text.encode().split(sep.encode() if sep else None, maxsplit)


def test_split_of_a_batch_of_strings_is_refused_with_the_fix():
    with pytest.raises(ShapeError, match="RaggedTensor"):
        tf.strings.split(["a b", "c"])


def test_join_length_case_strip_and_regexes_match_python():
    assert tf.strings.join(["a", "b"], separator="-").numpy() == b"a-b"
    assert tf.strings.join([["a", "b"], "c"]).numpy().tolist() == [b"ac", b"bc"]
    assert tf.strings.reduce_join(["a", "b", "c"], separator=",").numpy() == b"a,b,c"
    assert tf.strings.length(["ab", "héllo"]).tolist() == [2, len("héllo".encode())]
    assert tf.strings.length("héllo", unit="UTF8_CHAR").dtype == torch.int32
    assert int(tf.strings.length("héllo", unit="UTF8_CHAR")) == 5
    assert tf.strings.lower("ÀBC").numpy() == "ÀBC".encode()[:2] + b"bc"  # ASCII letters only by default, as TF
    assert tf.strings.lower("ÀBC", encoding="utf-8").numpy() == "àbc".encode()
    assert tf.strings.upper(["ab", "c"]).numpy().tolist() == [b"AB", b"C"]
    assert tf.strings.strip("  a b \n").numpy() == b"a b"
    assert tf.strings.regex_full_match(["abc", "ab"], "a.c").tolist() == [True, False]
    assert tf.strings.regex_replace("a1b22", r"\d+", "#").numpy() == b"a#b#"


def test_as_string_formats_as_printf():
    assert tf.strings.as_string(3.5).numpy() == b"%f" % 3.5
    assert tf.strings.as_string(7).numpy() == b"7"
    assert tf.strings.as_string(True).numpy() == b"true"
    assert tf.strings.as_string(3.5, precision=2).numpy() == b"3.50"
    assert tf.strings.as_string(1234.5, scientific=True).numpy() == b"%e" % 1234.5
    assert tf.strings.as_string(0.1, shortest=True).numpy() == b"0.1"
    assert tf.strings.as_string(5, width=4, fill="0").numpy() == b"0005"
    assert tf.strings.as_string([1, 2]).numpy().tolist() == [b"1", b"2"]


def test_to_number_parses_floats_and_ints():
    assert tf.strings.to_number("3.25").item() == 3.25
    assert tf.strings.to_number(" 12").dtype == torch.float32
    ints = tf.strings.to_number(["12", "-3"], out_type=tf.int32)
    assert ints.dtype == torch.int32 and ints.tolist() == [12, -3]


def test_to_number_of_text_names_the_string():
    with pytest.raises(DataError, match="b'abc'"):
        tf.strings.to_number("abc")


def test_strings_functions_refuse_numeric_tensors():
    with pytest.raises(ArgumentTypeError, match="as_string"):
        tf.strings.length(tf.constant([1, 2]))


# --------------------------------------------------------------------------- tf.io files


def test_read_file_returns_the_bytes_and_write_file_creates_folders(tmp_path):
    path = tmp_path / "sub" / "deeper" / "data.bin"
    tf.io.write_file(str(path), b"\x00\x01abc")
    contents = tf.io.read_file(StringTensor(str(path)))
    assert isinstance(contents, StringTensor) and contents.numpy() == b"\x00\x01abc"


def test_read_file_of_a_missing_file_names_it(tmp_path):
    missing = tmp_path / "nope.jpg"
    with pytest.raises(DatasetNotFoundError, match="nope.jpg") as caught:
        tf.io.read_file(str(missing))
    assert isinstance(caught.value, FileNotFoundError)


def test_read_file_of_a_folder_is_refused(tmp_path):
    with pytest.raises(DataError, match="is a folder"):
        tf.io.read_file(str(tmp_path))


def test_matching_files_is_sorted_and_matches_dot_files(tmp_path):
    for name in ("b.txt", "a.txt", ".hidden.txt", "c.png"):
        (tmp_path / name).write_bytes(b"")
    got = tf.io.matching_files(str(tmp_path / "*.txt")).numpy().tolist()
    assert got == sorted(os.fsencode(tmp_path / n) for n in ("a.txt", "b.txt", ".hidden.txt"))
    assert tf.io.matching_files(str(tmp_path / "*.gif")).shape == (0,)


# --------------------------------------------------------------------------- image codecs


def test_decode_png_gives_the_exact_pixels_as_uint8_hwc():
    image = tf.io.decode_png(_png(RGB))
    assert image.dtype == torch.uint8 and tuple(image.shape) == (7, 9, 3)
    np.testing.assert_array_equal(image.numpy(), RGB)


def test_decode_png_channels_convert_as_pillow():
    gray = tf.io.decode_png(_png(RGB), channels=1).numpy()
    np.testing.assert_array_equal(gray[..., 0], np.asarray(Image.fromarray(RGB).convert("L")))
    rgba = tf.io.decode_image(_png(RGB), channels=4).numpy()
    assert rgba.shape == (7, 9, 4) and (rgba[..., 3] == 255).all()


def test_decode_jpeg_matches_pillow_and_also_reads_png_as_tf_does():
    data = _jpeg(RGB)
    np.testing.assert_array_equal(tf.io.decode_jpeg(data, channels=3).numpy(), np.asarray(Image.open(io.BytesIO(data))))
    np.testing.assert_array_equal(tf.io.decode_jpeg(_png(RGB)).numpy(), RGB)


def test_decode_image_float32_is_scaled_to_unit_range():
    image = tf.io.decode_image(_png(RGB), dtype=tf.float32)
    assert image.dtype == torch.float32
    np.testing.assert_allclose(image.numpy(), RGB / 255.0, atol=1e-7)
    wide = tf.io.decode_png(_png(RGB), dtype=tf.uint16).numpy()
    np.testing.assert_array_equal(wide, RGB.astype(np.uint16) * 257)


def test_decode_gif_gives_frames_and_decode_png_refuses_an_animation():
    frames = [Image.fromarray(np.full((4, 5, 3), v, np.uint8)) for v in (0, 255)]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:])
    assert tuple(tf.io.decode_gif(out.getvalue()).shape) == (2, 4, 5, 3)
    assert tuple(tf.io.decode_image(out.getvalue()).shape) == (2, 4, 5, 3)
    assert tuple(tf.io.decode_image(out.getvalue(), expand_animations=False).shape) == (4, 5, 3)
    with pytest.raises(FileFormatError, match="decode_gif"):
        tf.io.decode_png(out.getvalue())


def test_decode_of_bytes_that_are_not_an_image_is_refused():
    with pytest.raises(FileFormatError, match="not an image"):
        tf.io.decode_jpeg(b"this is not an image at all")


def test_decode_of_a_truncated_jpeg_is_refused():
    data = _jpeg(np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    with pytest.raises(FileFormatError, match="corrupt or truncated"):
        tf.io.decode_jpeg(data[: len(data) // 2])


def test_decode_refuses_an_image_over_the_bomb_limit(monkeypatch):
    from cnnlab.tf_names import io_ops

    monkeypatch.setattr(io_ops, "MAX_IMAGE_PIXELS", 50)
    with pytest.raises(FileFormatError, match="decompression bombs"):
        tf.io.decode_png(_png(RGB))


def test_decode_refuses_a_bad_channel_count():
    with pytest.raises(ConfigError, match="channels"):
        tf.io.decode_png(_png(RGB), channels=2)


def test_encode_png_round_trips_and_resize_takes_the_decoded_uint8():
    image = tf.io.decode_png(tf.io.encode_png(RGB))
    np.testing.assert_array_equal(image.numpy(), RGB)
    resized = tf.image.resize(image, [14, 18])
    assert resized.dtype == torch.float32 and tuple(resized.shape) == (14, 18, 3)
    assert tf.image.decode_jpeg is tf.io.decode_jpeg


def test_tf_io_still_reaches_the_model_file_package():
    from cnnlab.io.native import save_model

    assert tf.io.save_model is save_model and tf.io.native.save_model is save_model
