import gzip
import struct
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnlab.data.idx import MAX_IDX_DATA_BYTES, read_idx, write_idx
from cnnlab.errors import ArgumentTypeError, CnnlabError, DatasetNotFoundError, FileFormatError, ShapeError


def idx_bytes(code: int, shape: tuple[int, ...], data: bytes) -> bytes:
    """An IDX file built by hand: 0, 0, dtype code, ndim, big-endian uint32 dims, data."""
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + data


def put(path, payload: bytes):
    path.write_bytes(payload)
    return path


# --- reading valid files ---------------------------------------------------


def test_reads_hand_built_big_endian_int16_file(tmp_path):
    # 0x0B = int16; values stored big-endian: -2 is ff fe, 258 is 01 02.
    values = [-2, 258, 0, 7, -32768, 32767]
    path = put(tmp_path / "a.idx", idx_bytes(0x0B, (2, 3), struct.pack(">6h", *values)))
    got = read_idx(path)
    assert got.dtype == np.int16 and got.dtype.isnative
    np.testing.assert_array_equal(got, np.array(values, dtype=np.int16).reshape(2, 3))


def test_reads_hand_built_uint8_labels(tmp_path):
    path = put(tmp_path / "labels", idx_bytes(0x08, (4,), bytes([9, 0, 3, 255])))
    np.testing.assert_array_equal(read_idx(path), np.array([9, 0, 3, 255], dtype=np.uint8))


def test_write_idx_produces_the_spec_header_and_big_endian_data(tmp_path):
    path = write_idx(tmp_path / "x.idx", np.array([[1.5, -2.0]], dtype=np.float32))
    # 0x0D = float32, ndim 2, dims (1, 2), then the two floats big-endian.
    assert path.read_bytes() == idx_bytes(0x0D, (1, 2), struct.pack(">2f", 1.5, -2.0))


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
@pytest.mark.parametrize("shape", [(5,), (2, 3), (2, 3, 4), (1, 2, 3, 2)])
@pytest.mark.parametrize("name", ["x.idx", "x.idx.gz"])
def test_write_then_read_round_trips_every_dtype_and_rank(tmp_path, dtype, shape, name):
    rng = np.random.default_rng(0)
    array = (rng.standard_normal(shape) * 100).astype(dtype)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / name, array)), array)


def test_gzip_is_detected_by_magic_bytes_not_by_name(tmp_path):
    payload = idx_bytes(0x08, (3,), bytes([1, 2, 3]))
    gz_named_plain = put(tmp_path / "plain.gz", payload)
    plain_named_gz = put(tmp_path / "compressed.idx", gzip.compress(payload))
    np.testing.assert_array_equal(read_idx(gz_named_plain), [1, 2, 3])
    np.testing.assert_array_equal(read_idx(plain_named_gz), [1, 2, 3])


# --- rejecting bad files ---------------------------------------------------


def assert_format_error_names(path, *fragments):
    with pytest.raises(FileFormatError) as info:
        read_idx(path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message
    return message


def test_missing_file_raises_not_found_naming_it(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="nope.idx"):
        read_idx(tmp_path / "nope.idx")


def test_directory_instead_of_file_is_a_clear_error(tmp_path):
    assert_format_error_names(tmp_path, "directory")


def test_corrupt_gzip_names_the_file(tmp_path):
    good = gzip.compress(idx_bytes(0x08, (100,), bytes(range(100))))
    bad = good[:10] + bytes(b ^ 0x5A for b in good[10:-8]) + good[-8:]
    assert_format_error_names(put(tmp_path / "bad.gz", bad), "corrupt")


def test_gzip_with_wrong_crc_is_rejected(tmp_path):
    good = gzip.compress(idx_bytes(0x08, (3,), bytes([1, 2, 3])))
    bad = good[:-8] + bytes([good[-8] ^ 1]) + good[-7:]  # the CRC32 is the 8th-last byte onward
    assert_format_error_names(put(tmp_path / "crc.gz", bad))


def test_gzip_stream_cut_short_is_rejected(tmp_path):
    good = gzip.compress(idx_bytes(0x08, (1000,), bytes(1000)))
    assert_format_error_names(put(tmp_path / "cut.gz", good[: len(good) // 2]))


@pytest.mark.parametrize("compress", [False, True])
def test_truncated_data_says_expected_and_got_bytes(tmp_path, compress):
    # (2, 3) int16 declares 2*3*2 = 12 bytes of data; only 8 are present.
    payload = idx_bytes(0x0B, (2, 3), bytes(8))
    path = put(tmp_path / "t.idx", gzip.compress(payload) if compress else payload)
    assert_format_error_names(path, "truncated", "expected 12 bytes", "got 8")


@pytest.mark.parametrize("compress", [False, True])
def test_trailing_bytes_are_an_error(tmp_path, compress):
    payload = idx_bytes(0x08, (3,), bytes([1, 2, 3, 4]))
    path = put(tmp_path / "t.idx", gzip.compress(payload) if compress else payload)
    assert_format_error_names(path, "trailing bytes", "expected 3 bytes")


@pytest.mark.parametrize(
    "payload, fragment",
    [
        (b"", "empty file"),
        (b"\x00\x00", "not an IDX file"),
        (b"\x01\x00\x08\x01" + bytes(8), "not an IDX file"),
        (b"PK\x03\x04" + bytes(8), "not an IDX file"),
        (b"\x00\x00\x07\x01" + bytes(8), "unknown dtype code 0x07"),
        (b"\x00\x00\x08\x00", "declares 0 dimensions"),
        (b"\x00\x00\x08\x05" + bytes(20), "declares 5 dimensions"),
        (b"\x00\x00\x08\x02\x00\x00\x00\x01", "truncated inside its header"),
        (idx_bytes(0x08, (3, 0), b""), "empty dimension"),
    ],
)
def test_malformed_header_is_rejected(tmp_path, payload, fragment):
    assert_format_error_names(put(tmp_path / "h.idx", payload), fragment)


@pytest.mark.parametrize("compress", [False, True])
def test_header_declaring_more_than_2_gib_is_refused_before_reading(tmp_path, compress):
    # 65536 * 65536 uint8 = 2**32 bytes > 2**31.
    payload = idx_bytes(0x08, (65536, 65536), bytes(16))
    path = put(tmp_path / "huge.idx", gzip.compress(payload) if compress else payload)
    assert_format_error_names(path, str(2**32), str(MAX_IDX_DATA_BYTES))


def test_gzip_bomb_is_not_decompressed_beyond_the_header(tmp_path):
    # Header declares 16 bytes; the stream then expands to 64 MiB of zeros.
    bomb = gzip.compress(idx_bytes(0x08, (16,), bytes(64 << 20)), compresslevel=1)
    path = put(tmp_path / "bomb.gz", bomb)
    tracemalloc.start()
    try:
        message = assert_format_error_names(path, "trailing bytes")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "expected 16 bytes" in message
    assert peak < 8 << 20, f"peak allocation {peak} bytes while reading a 16-byte payload"


# --- write_idx argument checks ---------------------------------------------


@pytest.mark.parametrize("array", [np.zeros(3, np.int64), np.zeros(3, bool), np.zeros(3, np.float16)])
def test_write_idx_rejects_dtypes_idx_cannot_hold(tmp_path, array):
    with pytest.raises(ArgumentTypeError, match=f"Received: array.dtype={array.dtype}"):
        write_idx(tmp_path / "x.idx", array)


@pytest.mark.parametrize("shape", [(), (0,), (1, 1, 1, 1, 1)])
def test_write_idx_rejects_shapes_idx_cannot_hold(tmp_path, shape):
    with pytest.raises(ShapeError, match="1 to 4 dimensions"):
        write_idx(tmp_path / "x.idx", np.zeros(shape, np.uint8))


def test_write_idx_rejects_non_arrays(tmp_path):
    with pytest.raises(ArgumentTypeError, match="NumPy array"):
        write_idx(tmp_path / "x.idx", [1, 2, 3])


# --- fuzz ------------------------------------------------------------------

_prefixes = st.sampled_from([b"", b"\x1f\x8b\x08\x00", b"\x00\x00\x08\x01", b"\x00\x00\x0d\x03"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefix=_prefixes, body=st.binary(max_size=64), gzipped=st.booleans())
def test_random_bytes_only_ever_raise_cnnlab_errors(tmp_path, prefix, body, gzipped):
    payload = prefix + body
    path = put(tmp_path / "fuzz", gzip.compress(payload) if gzipped else payload)
    try:
        result = read_idx(path)
    except CnnlabError:
        return
    assert isinstance(result, np.ndarray)


def test_a_255_byte_file_name_is_written_atomically(tmp_path):
    import numpy as np

    from cnnlab.data import read_idx, write_idx

    path = tmp_path / ("x" * 251 + ".idx")  # the longest legal name: its temporary name must stay shorter
    write_idx(path, np.arange(6, dtype=np.uint8).reshape(2, 3))
    np.testing.assert_array_equal(read_idx(path), np.arange(6, dtype=np.uint8).reshape(2, 3))
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
