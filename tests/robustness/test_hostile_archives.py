"""Hostile zip containers (.cnnlab, .keras) and safetensors members, and the memory of saving and loading.

Each file starts as a real one saved by cnnlab from a small compiled, trained model; its members are then
rebuilt with zipfile the way an attacker (or a damaged disk) would: bombs, lying sizes, odd compression,
encryption, duplicates, safetensors headers with a million entries, odd dtypes, NaN, absurd learning rates.
Every case must end as a clear CnnlabError naming the file and the member or tensor, within check_hostile's
time and memory bounds, with the file unchanged.
"""

from __future__ import annotations

import json
import os
import re
import struct
import zipfile

import numpy as np
import pytest
from robust_record import check_hostile

import cnnlab
from cnnlab import layers
from cnnlab.errors import ConfigError, FileFormatError

BOMBS, COSTLY, ODD = "Zip bombs in weight members", "Costly small files", "Odd dtypes and values"
SILENT, MEMORY = "Silent acceptance", "Save and load memory"
WEIGHTS = {".cnnlab": "model.safetensors", ".keras": "model.weights.h5"}
SUFFIXES = list(WEIGHTS)
_MiB = 1 << 20


def _model():
    # Named: the messages pinned below name the tensor, and auto names depend on what ran before.
    return cnnlab.Sequential([layers.Input((4,)), layers.Dense(3, name="dense"), layers.Dense(2, name="dense_1")])


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> dict[str, dict[str, bytes]]:
    """The members of each format, saved from one compiled, trained model."""
    folder = tmp_path_factory.mktemp("saved")
    model = _model()
    # Named explicitly: an auto name would move the per-process counter other test files' layouts depend on.
    model.compile(optimizer=cnnlab.optimizers.Adam(name="adam"), loss="mse")
    model.fit(np.ones((4, 4), "float32"), np.ones((4, 2), "float32"), epochs=1, verbose=0)
    members = {}
    for suffix in SUFFIXES:
        model.save(folder / f"m{suffix}")
        with zipfile.ZipFile(folder / f"m{suffix}") as zf:
            members[suffix] = {name: zf.read(name) for name in zf.namelist()}
    return members


def _zip(path, members: dict[str, bytes | tuple], compression=zipfile.ZIP_STORED) -> str:
    """Write ``members``; a value ``(chunk, times)`` is streamed as ``times`` copies of ``chunk`` (bombs)."""
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            if isinstance(data, tuple):
                chunk, times = data
                with zf.open(name, "w", force_zip64=True) as fh:
                    for _ in range(times):
                        fh.write(chunk)
            else:
                zf.writestr(name, data)
    return str(path)


def _patch(path: str, name: str, **fields: int) -> str:
    """Rewrite fields of ``name``'s central-directory and local headers: file_size, compress_size, flag, method."""
    data = bytearray(open(path, "rb").read())
    at = {"flag": (8, 6, "<H"), "method": (10, 8, "<H"), "compress_size": (20, 18, "<I"), "file_size": (24, 22, "<I")}
    central = data.find(b"PK\x01\x02")
    while central >= 0:
        name_len = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46:central + 46 + name_len] == name.encode():
            local = struct.unpack_from("<I", data, central + 42)[0]
            for field, value in fields.items():
                cd_off, local_off, fmt = at[field]
                struct.pack_into(fmt, data, central + cd_off, value)
                struct.pack_into(fmt, data, local + local_off, value)
        central = data.find(b"PK\x01\x02", central + 4)
    open(path, "wb").write(bytes(data))
    return path


def _load(path):
    return lambda: cnnlab.load_model(path)


def _safetensors(entries: dict, data: bytes = b"") -> bytes:
    header = json.dumps(entries, separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + data


def _one_tensor(code: str, shape, data: bytes, name="0000:dense/kernel") -> bytes:
    return _safetensors({name: {"dtype": code, "shape": list(shape), "data_offsets": [0, len(data)]}}, data)


def _replace_first_kernel(weights: bytes, code: str, data: bytes) -> bytes:
    """The saved .cnnlab weights with the first kernel (4, 3) re-encoded as ``code`` holding ``data``."""
    length = struct.unpack("<Q", weights[:8])[0]
    header = json.loads(weights[8:8 + length])
    header.pop("__metadata__", None)
    body = weights[8 + length:]
    entries, chunks, offset = {}, [], 0
    for name, entry in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        raw = data if name.startswith("0000:") else body[entry["data_offsets"][0]:entry["data_offsets"][1]]
        dtype = code if name.startswith("0000:") else entry["dtype"]
        entries[name] = {"dtype": dtype, "shape": entry["shape"], "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    return _safetensors(entries, b"".join(chunks))


# --------------------------------------------------------------------------------------- Zip bombs in weight members
@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("mib", [16, 64])
def test_weights_member_expanding_far_past_the_model_is_refused_on_its_declared_size(saved, tmp_path, suffix, mib):
    path = _zip(tmp_path / f"bomb{suffix}", {**saved[suffix], WEIGHTS[suffix]: (b"\0" * _MiB, mib)},
                zipfile.ZIP_DEFLATED)
    check_hostile(BOMBS, f"{suffix}: {WEIGHTS[suffix]} inflating to {mib} MiB for a 29-weight model",
                  _load(path), FileFormatError, rf"bomb{suffix}'.*{WEIGHTS[suffix]} declares \d+ bytes, but model",
                  watch=(path,))


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_weights_member_lying_small_about_its_size_is_refused_while_inflating(saved, tmp_path, suffix):
    path = _zip(tmp_path / f"liar{suffix}", {**saved[suffix], WEIGHTS[suffix]: (b"\0" * _MiB, 64)},
                zipfile.ZIP_DEFLATED)
    _patch(path, WEIGHTS[suffix], file_size=1000)
    check_hostile(BOMBS, f"{suffix}: {WEIGHTS[suffix]} inflating to 64 MiB while declaring 1000 bytes", _load(path),
                  FileFormatError, rf"liar{suffix}'.*{WEIGHTS[suffix]}", watch=(path,))


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("declared", [2**31, 2**32 - 1], ids=["2 GiB", "4 GiB"])
def test_weights_member_declaring_more_than_deflate_can_produce_is_refused_before_reading(saved, tmp_path, suffix,
                                                                                         declared):
    path = _zip(tmp_path / f"ratio{suffix}", {**saved[suffix], WEIGHTS[suffix]: (b"\0" * _MiB, 1)},
                zipfile.ZIP_DEFLATED)
    _patch(path, WEIGHTS[suffix], file_size=declared)
    check_hostile(BOMBS, f"{suffix}: {WEIGHTS[suffix]} declaring {declared} bytes from ~1 kB deflated", _load(path),
                  FileFormatError, rf"ratio{suffix}'.*member '{WEIGHTS[suffix]}' declares {declared} bytes from",
                  watch=(path,))


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_stored_member_whose_sizes_disagree_is_refused(saved, tmp_path, suffix):
    path = _zip(tmp_path / f"stored{suffix}", saved[suffix])
    size = len(saved[suffix][WEIGHTS[suffix]])
    _patch(path, WEIGHTS[suffix], file_size=size * 1000)
    check_hostile(BOMBS, f"{suffix}: stored {WEIGHTS[suffix]} declaring 1000x its stored bytes", _load(path),
                  FileFormatError, rf"stored{suffix}'.*declares {size * 1000} bytes from {size} stored", watch=(path,))


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_member_claiming_bytes_past_the_end_of_the_file_is_refused(saved, tmp_path, suffix):
    path = _zip(tmp_path / f"past{suffix}", saved[suffix])
    _patch(path, WEIGHTS[suffix], compress_size=10 * _MiB, file_size=10 * _MiB)
    check_hostile(BOMBS, f"{suffix}: {WEIGHTS[suffix]} claiming 10 MiB stored in a small file", _load(path),
                  FileFormatError, rf"past{suffix}'.*past the end of the", watch=(path,))


def test_optimizer_member_expanding_past_the_optimizer_state_is_refused(saved, tmp_path):
    path = _zip(tmp_path / "optbomb.cnnlab", {**saved[".cnnlab"], "optimizer.safetensors": (b"\0" * _MiB, 32)},
                zipfile.ZIP_DEFLATED)
    check_hostile(BOMBS, ".cnnlab: optimizer.safetensors inflating to 32 MiB for Adam on 29 weights", _load(path),
                  FileFormatError, r"optbomb\.cnnlab'.*optimizer\.safetensors declares \d+ bytes, but optimizer "
                  r"'adam.*' \(Adam\) needs at most", watch=(path,))


def test_weights_member_a_little_over_the_model_is_refused_on_load_weights(saved, tmp_path):
    weights = saved[".cnnlab"]["model.safetensors"]
    path = _zip(tmp_path / "padded.cnnlab", {**saved[".cnnlab"], "model.safetensors": weights + b"\0" * (1 << 18)})
    check_hostile(BOMBS, ".cnnlab: load_weights from a weights member 256 kB over the model's needs",
                  lambda: _model().load_weights(path), FileFormatError, r"padded\.cnnlab'.*model\.safetensors declares",
                  watch=(path,))


# ------------------------------------------------------------------------------------------- Costly small files
def _many_entries(count: int) -> bytes:
    entry = '"{:07d}:w":{{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}'
    return _safetensors_raw(("{" + ",".join(entry.format(i) for i in range(count)) + "}").encode())


def _safetensors_raw(header: bytes) -> bytes:
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header


@pytest.fixture(scope="module")
def million_entries() -> bytes:
    return _many_entries(1_000_000)


@pytest.mark.parametrize("member", ["model.safetensors", "optimizer.safetensors"])
def test_safetensors_member_with_a_million_entries_is_refused_before_parsing(saved, tmp_path, million_entries,
                                                                               member):
    path = _zip(tmp_path / "million.cnnlab", {**saved[".cnnlab"], member: million_entries}, zipfile.ZIP_DEFLATED)
    check_hostile(COSTLY, f".cnnlab: {member} header with 1,000,000 entries ({len(million_entries) >> 20} MiB)",
                  _load(path), FileFormatError, rf"million\.cnnlab'.*{member} declares \d+ bytes, but",
                  watch=(path,))


def test_weights_file_with_a_million_entries_is_refused_before_parsing(tmp_path, million_entries):
    path = tmp_path / "million.weights.safetensors"
    path.write_bytes(million_entries)
    check_hostile(COSTLY, ".weights.safetensors: header with 1,000,000 entries", lambda: _model().load_weights(path),
                  FileFormatError, r"million\.weights\.safetensors' .*header", watch=(path,))


@pytest.mark.parametrize("count", [5, 100, 5000])
def test_safetensors_header_with_more_entries_than_the_model_is_refused(saved, tmp_path, count):
    path = _zip(tmp_path / "extra.cnnlab", {**saved[".cnnlab"], "model.safetensors": _many_entries(count)})
    check_hostile(COSTLY, f".cnnlab: model.safetensors with {count} entries for a 4-weight model", _load(path),
                  FileFormatError, r"extra\.cnnlab'.*model\.safetensors.*(declares \d+ tensors|-byte header|declares \d+ bytes, but)",
                  watch=(path,))


@pytest.mark.parametrize("length", [2**60, 2**40, 10**6])
def test_safetensors_header_length_past_the_bound_is_refused_before_reading(saved, tmp_path, length):
    path = _zip(tmp_path / "long.cnnlab", {**saved[".cnnlab"], "model.safetensors": struct.pack("<Q", length) + b"{}"})
    check_hostile(COSTLY, f".cnnlab: safetensors header length of {length}", _load(path), FileFormatError,
                  rf"long\.cnnlab'.*declares a {length}-byte header", watch=(path,))


@pytest.mark.parametrize("depth", [1000, 30_000])
def test_safetensors_header_nested_deeply_is_refused(saved, tmp_path, depth):
    header = b'{"a":' + b"[" * depth + b"]" * depth + b"}"
    path = _zip(tmp_path / "deep.cnnlab", {**saved[".cnnlab"], "model.safetensors": _safetensors_raw(header)})
    check_hostile(COSTLY, f".cnnlab: safetensors header nested {depth} deep", _load(path), FileFormatError,
                  r"deep\.cnnlab'.*model\.safetensors", watch=(path,))


@pytest.mark.parametrize("shape", [[10**6, 10**6], [2**62], [10**5] * 8])
def test_safetensors_entry_declaring_huge_data_is_refused_before_allocating(saved, tmp_path, shape):
    n = int(np.prod(shape, dtype=object)) * 4
    data = _safetensors({"0000:dense/kernel": {"dtype": "F32", "shape": shape, "data_offsets": [0, n]}})
    path = _zip(tmp_path / "huge.cnnlab", {**saved[".cnnlab"], "model.safetensors": data})
    check_hostile(COSTLY, f".cnnlab: safetensors entry of shape {shape}", _load(path), FileFormatError,
                  rf"huge\.cnnlab'.*declares {n} bytes of tensor data", watch=(path,))


# ---------------------------------------------------------------------------------------- Odd dtypes and values
@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("method, name", [(12, "bzip2"), (14, "lzma"), (99, "AES encryption"), (93, "zstandard"),
                                          (7, "unknown")])
def test_member_with_an_unknown_compression_method_is_refused(saved, tmp_path, suffix, method, name):
    path = _zip(tmp_path / f"method{suffix}", saved[suffix])
    _patch(path, "config.json", method=method)
    check_hostile(ODD, f"{suffix}: config.json with compression method {method} ({name})", _load(path),
                  FileFormatError, rf"method{suffix}': member 'config.json' uses compression method {method}",
                  watch=(path,))


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("member", ["config.json", "weights"])
def test_member_with_the_encrypted_flag_is_refused(saved, tmp_path, suffix, member):
    member = WEIGHTS[suffix] if member == "weights" else member
    path = _zip(tmp_path / f"secret{suffix}", saved[suffix])
    _patch(path, member, flag=1)
    check_hostile(ODD, f"{suffix}: {member} flagged as encrypted", _load(path), FileFormatError,
                  rf"secret{suffix}': member '{member}' is encrypted", watch=(path,))


ODD_WEIGHTS = [  # (safetensors dtype code, 12 values' bytes, what the message says)
    ("I32", np.arange(12, dtype="<i4").tobytes(), "integer values"),
    ("I64", np.arange(12, dtype="<i8").tobytes(), "integer values"),
    ("U8", bytes(12), "unsigned integer values"),
    ("BOOL", bytes(12), "boolean values"),
    ("C64", np.zeros(12, "<c8").tobytes(), "complex values"),
    ("F8_E4M3", bytes(12), "F8_E4M3, which cnnlab does not load"),
    ("F128", bytes(12 * 16), "unknown dtype 'F128'"),
    ("f32", np.zeros(12, "<f4").tobytes(), "unknown dtype 'f32'"),
]


@pytest.mark.parametrize("code, data, says", ODD_WEIGHTS, ids=[row[0] for row in ODD_WEIGHTS])
def test_weight_with_an_odd_dtype_is_refused_naming_the_tensor(saved, tmp_path, code, data, says):
    weights = _replace_first_kernel(saved[".cnnlab"]["model.safetensors"], code, data)
    path = _zip(tmp_path / "odd.cnnlab", {**saved[".cnnlab"], "model.safetensors": weights})
    check_hostile(ODD, f".cnnlab: kernel stored as {code}", _load(path), FileFormatError,
                  rf"odd\.cnnlab'.*'0000:dense/kernel'.*{says}|odd\.cnnlab'.*{says}", watch=(path,))


NON_FINITE = [("NaN", np.nan), ("inf", np.inf), ("-inf", -np.inf)]


@pytest.mark.parametrize("label, value", NON_FINITE, ids=[row[0] for row in NON_FINITE])
@pytest.mark.parametrize("code, dtype", [("F32", "<f4"), ("F64", "<f8"), ("F16", "<f2")])
def test_non_finite_weight_is_refused_naming_the_tensor(saved, tmp_path, label, value, code, dtype):
    values = np.ones(12, dtype)
    values[5] = value
    weights = _replace_first_kernel(saved[".cnnlab"]["model.safetensors"], code, values.tobytes())
    path = _zip(tmp_path / "nan.cnnlab", {**saved[".cnnlab"], "model.safetensors": weights})
    check_hostile(ODD, f".cnnlab: a {code} kernel holding {label}", _load(path), FileFormatError,
                  r"nan\.cnnlab': model\.safetensors tensor '0000:dense/kernel' holds 1 NaN or infinite", watch=(path,))


def test_non_finite_weight_in_a_weights_file_leaves_the_model_unchanged(tmp_path):
    model = _model()
    before = [w.copy() for w in model.get_weights()]
    values = np.ones(12, "<f4")
    values[0] = np.nan
    path = tmp_path / "nan.weights.safetensors"
    path.write_bytes(_replace_first_kernel(_saved_weights(model, tmp_path), "F32", values.tobytes()))
    check_hostile(ODD, ".weights.safetensors: a NaN kernel given to load_weights", lambda: model.load_weights(path),
                  FileFormatError, r"nan\.weights\.safetensors'.*'0000:dense/kernel' holds 1 NaN", watch=(path,))
    for got, expected in zip(model.get_weights(), before):
        np.testing.assert_array_equal(got, expected)


def _saved_weights(model, tmp_path) -> bytes:
    model.save_weights(tmp_path / "clean.weights.safetensors")
    return (tmp_path / "clean.weights.safetensors").read_bytes()


def _optimizer_state(saved, **replace: tuple[str, list, bytes]) -> bytes:
    """The saved Adam state with some tensors replaced by ``(code, shape, bytes)``."""
    raw = saved[".cnnlab"]["optimizer.safetensors"]
    length = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + length])
    entries, chunks, offset = {}, [], 0
    for name, entry in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        code, shape, data = replace.get(name, (entry["dtype"], entry["shape"],
                                               raw[8 + length + entry["data_offsets"][0]:8 + length +
                                                   entry["data_offsets"][1]]))
        entries[name] = {"dtype": code, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    return _safetensors(entries, b"".join(chunks))


OPTIMIZER_STATES = [
    ("iterations stored as a float", "iterations", ("F32", [], np.float32(1).tobytes()), "iterations'.*float"),
    ("iterations as a vector", "iterations", ("I64", [3], np.arange(3).tobytes()),
     "iterations' has shape|declares 216 bytes of tensor data"),
    ("a negative iteration count", "iterations", ("I64", [], np.int64(-5).tobytes()), "iterations.*>= 0"),
    ("learning rate NaN", "learning_rate", ("F64", [], np.float64(np.nan).tobytes()), "learning_rate' holds 1 NaN"),
    ("learning rate -1e30", "learning_rate", ("F64", [], np.float64(-1e30).tobytes()), "learning_rate.*finite"),
    ("a slot of the wrong shape", "adam/momentum/0", ("F32", [3, 4], bytes(48)), "momentum/0' has shape"),
    ("a slot holding inf", "adam/momentum/0", ("F32", [4, 3], np.full(12, np.inf, "<f4").tobytes()), "1?2? ?NaN"),
]


@pytest.mark.parametrize("case, name, replacement, says", OPTIMIZER_STATES, ids=[row[0] for row in OPTIMIZER_STATES])
def test_odd_optimizer_state_is_refused_naming_the_tensor(saved, tmp_path, case, name, replacement, says):
    state = _optimizer_state(saved, **{name: replacement})
    path = _zip(tmp_path / "state.cnnlab", {**saved[".cnnlab"], "optimizer.safetensors": state})
    family = SILENT if "learning rate" in case else ODD
    check_hostile(family, f".cnnlab: optimizer state with {case}", _load(path), FileFormatError,
                  rf"state\.cnnlab'.*optimizer\.safetensors.*{says}", watch=(path,))


# ------------------------------------------------------------------------------------------- Silent acceptance
@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("member", ["config.json", "metadata.json", "weights"])
def test_duplicate_member_is_refused_naming_it(saved, tmp_path, suffix, member):
    member = WEIGHTS[suffix] if member == "weights" else member
    path = str(tmp_path / f"twice{suffix}")
    _zip(path, saved[suffix])
    with zipfile.ZipFile(path, "a") as zf, pytest.warns(UserWarning, match="Duplicate name"):
        zf.writestr(member, saved[suffix][member])
    check_hostile(SILENT, f"{suffix}: {member} stored twice (zipfile reads the last)", _load(path), FileFormatError,
                  rf"twice{suffix}' holds member '{member}' twice", watch=(path,))


BAD_RATES = [-1e30, -1.0, float("nan"), float("inf"), float("-inf")]


@pytest.mark.parametrize("optimizer", ["SGD", "Adam", "RMSprop", "Nadam"])
@pytest.mark.parametrize("rate", BAD_RATES, ids=str)
def test_optimizer_refuses_a_learning_rate_that_is_not_finite_and_non_negative(optimizer, rate):
    check_hostile(SILENT, f"{optimizer}(learning_rate={rate})",
                  lambda: getattr(cnnlab.optimizers, optimizer)(learning_rate=rate, name="lr"), ConfigError,
                  rf"{optimizer}: `learning_rate` must be a finite number >= 0.*Received: "
                  rf"learning_rate={re.escape(str(rate))}")


@pytest.mark.parametrize("rate", BAD_RATES, ids=str)
def test_learning_rate_set_later_is_refused_too(rate):
    optimizer = cnnlab.optimizers.Adam(name="lr")
    check_hostile(SILENT, f"optimizer.learning_rate = {rate}", lambda: setattr(optimizer, "learning_rate", rate),
                  ConfigError, r"`learning_rate` must be a finite number >= 0")
    assert optimizer.learning_rate == 0.001


SCHEDULES = [
    ("ExponentialDecay", lambda rate: cnnlab.optimizers.schedules.ExponentialDecay(rate, 10, 0.9), "initial_learning_rate"),
    ("CosineDecay", lambda rate: cnnlab.optimizers.schedules.CosineDecay(rate, 10), "initial_learning_rate"),
    ("CosineDecay warmup", lambda rate: cnnlab.optimizers.schedules.CosineDecay(0.1, 10, warmup_target=rate,
                                                                              warmup_steps=5), "warmup_target"),
    ("PiecewiseConstantDecay", lambda rate: cnnlab.optimizers.schedules.PiecewiseConstantDecay([5], [0.1, rate]),
     "values"),
]


@pytest.mark.parametrize("schedule, make, arg", SCHEDULES, ids=[row[0] for row in SCHEDULES])
@pytest.mark.parametrize("rate", [-1e30, float("nan"), float("inf")], ids=str)
def test_learning_rate_schedule_refuses_a_rate_that_is_not_finite_and_non_negative(schedule, make, arg, rate):
    check_hostile(SILENT, f"{schedule} with {arg}={rate}", lambda: make(rate), ConfigError,
                  rf"`{arg}` must be a finite number >= 0")


@pytest.mark.parametrize("rate", [-1e30, -0.5, "NaN", "Infinity"])
def test_saved_optimizer_config_with_an_absurd_learning_rate_is_refused_naming_the_file(saved, tmp_path, rate):
    meta = json.loads(saved[".cnnlab"]["metadata.json"])
    meta["compile_config"]["optimizer"]["config"]["learning_rate"] = float(rate)
    path = _zip(tmp_path / "rate.cnnlab", {**saved[".cnnlab"], "metadata.json": json.dumps(meta)})
    check_hostile(SILENT, f".cnnlab: compile_config optimizer learning_rate {rate}", _load(path), FileFormatError,
                  r"rate\.cnnlab': metadata\.json key 'compile_config'.*learning_rate", watch=(path,))


@pytest.mark.parametrize("rate", [-1e30, "NaN"])
def test_keras_compile_config_with_an_absurd_learning_rate_loads_uncompiled_with_a_warning(saved, tmp_path, rate):
    config = json.loads(saved[".keras"]["config.json"])
    config["compile_config"]["optimizer"]["config"]["learning_rate"] = float(rate)
    path = _zip(tmp_path / "rate.keras", {**saved[".keras"], "config.json": json.dumps(config)})
    with pytest.warns(UserWarning, match=r"rate\.keras'.*uncompiled.*learning_rate"):
        check_hostile(SILENT, f".keras: compile_config optimizer learning_rate {rate} (loads uncompiled, warns)",
                      _load(path), None, watch=(path,))


# ------------------------------------------------------------------------------------------- Save and load memory
MODEL_MIB = 64


@pytest.fixture(scope="module")
def big_model():
    units = MODEL_MIB * _MiB // 4 // 1024
    model = cnnlab.Sequential([layers.Input((1024,)), layers.Dense(units, use_bias=False)])
    model.compile(optimizer=cnnlab.optimizers.SGD(name="sgd"), loss="mse")
    return model


@pytest.mark.parametrize("suffix", [".cnnlab", ".keras", ".weights.safetensors"])
def test_saving_and_loading_a_64_mib_model_needs_little_more_than_the_model(big_model, tmp_path, suffix):
    path = tmp_path / f"big{suffix}"
    save = big_model.save_weights if suffix.startswith(".weights") else big_model.save
    # .keras: h5py builds the HDF5 file in memory (it needs to seek), so its save holds one copy of the weights.
    bound = 1.5 if suffix == ".keras" else 0.5
    check_hostile(MEMORY, f"{suffix}: save a {MODEL_MIB} MiB model (peak growth < {bound}x the model)",
                  lambda: save(path), None, seconds=5, mib=MODEL_MIB * bound)
    assert os.path.getsize(path) > MODEL_MIB * _MiB  # stored, not deflated
    if suffix == ".weights.safetensors":
        check_hostile(MEMORY, f"{suffix}: load_weights of a {MODEL_MIB} MiB model (< 1.5x)",
                      lambda: big_model.load_weights(path), None, seconds=5, mib=MODEL_MIB * 1.5, watch=(path,))
    elif suffix == ".cnnlab":  # the model itself is built inside the load: 1x is its own weights
        check_hostile(MEMORY, f"{suffix}: load a {MODEL_MIB} MiB model (peak growth < 1.5x the model)",
                      _load(path), None, seconds=5, mib=MODEL_MIB * 1.5, watch=(path,))


@pytest.mark.parametrize("suffix", [".keras", ".h5", ".weights.h5"])
def test_loading_keras_formats_reads_each_weight_straight_into_its_variable(big_model, tmp_path, suffix):
    path = tmp_path / f"big{suffix}"
    if suffix == ".weights.h5":
        big_model.save_weights(path)
        load, what = (lambda: big_model.load_weights(path)), "load_weights into"
    else:
        big_model.save(path)
        load, what = _load(path), "load"  # the model is built inside the load: 1x is its own weights
    # Read in place from the file (a stored .keras member through a window onto the archive), each dataset
    # straight into its variable: before, the file was read whole, each dataset copied, then assigned (3x).
    # .weights.h5 is still ~1x: cnnlab/io/native.py reads the whole file to tell Keras 3 from tf.keras 2 layouts.
    check_hostile(MEMORY, f"{suffix}: {what} a {MODEL_MIB} MiB model (peak growth < 1.5x the model)", load,
                  None, seconds=5, mib=MODEL_MIB * 1.5, watch=(path,))


def _rezip(source, path, compression):
    """``source``'s members written again with ``compression`` (the weights member included)."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(path, "w", compression) as dst:
        for name in src.namelist():
            with src.open(name) as fin, dst.open(name, "w", force_zip64=True) as fout:
                while chunk := fin.read(8 * _MiB):
                    fout.write(chunk)
    return path


def test_a_deflated_keras_weights_member_is_inflated_to_an_anonymous_file_not_to_memory(big_model, tmp_path):
    stored = tmp_path / "stored" / "big.keras"
    stored.parent.mkdir()
    big_model.save(stored)
    path = _rezip(stored, tmp_path / "big.keras", zipfile.ZIP_DEFLATED)
    check_hostile(MEMORY, f".keras: load a {MODEL_MIB} MiB model from a deflated weights member (< 1.5x)",
                  _load(path), None, seconds=10, mib=MODEL_MIB * 1.5, watch=(path,))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.keras", "stored"]  # no copy left behind


def test_a_corrupted_stored_keras_weights_member_is_refused_by_its_crc(saved, tmp_path):
    path = _zip(tmp_path / "flipped.keras", saved[".keras"])
    data = bytearray(open(path, "rb").read())
    weights = saved[".keras"]["model.weights.h5"]
    at = data.find(weights) + len(weights) // 2  # inside the member's data: only the CRC can tell
    data[at] ^= 0x40
    open(path, "wb").write(bytes(data))
    check_hostile(SILENT, ".keras: a stored weights member with one flipped bit (CRC-32 mismatch)", _load(path),
                  FileFormatError, r"flipped\.keras': model\.weights\.h5 is corrupt .*bad CRC-32", watch=(path,))
