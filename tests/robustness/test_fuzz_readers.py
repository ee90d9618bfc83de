"""Fuzz the IDX reader, the model-file reader and the config parser: only CnnlabErrors, fast, bounded memory.

``CNNLAB_FUZZ_EXAMPLES`` scales the number of examples (``make fuzz-long``).
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from robust_record import record

import cnnlab
from cnnlab import layers
from cnnlab.data.idx import read_idx, write_idx
from cnnlab.errors import CnnlabError
from cnnlab.io.registry import layer_from_config

EXAMPLES = int(os.environ.get("CNNLAB_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=2000, suppress_health_check=list(HealthCheck), database=None)
PEAK_LIMIT = 64 << 20


def _only_cnnlab_errors(call, counter, name):
    counter[name] = counter.get(name, 0) + 1
    tracemalloc.start()
    try:
        call()
    except CnnlabError:
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < PEAK_LIMIT, f"{name}: {peak / 2**20:.0f} MiB"


COUNTS: dict[str, int] = {}


@pytest.fixture(scope="module", autouse=True)
def report_counts():
    yield
    for name, count in COUNTS.items():
        record("fuzz", target=name, inputs=count)


_SCRATCH = tempfile.mkdtemp(prefix="cnnlab-fuzz-")  # the valid seed files are written once per session


def _valid_idx() -> bytes:
    path = os.path.join(_SCRATCH, "valid.idx")
    write_idx(path, np.arange(24, dtype=np.uint8).reshape(2, 3, 4))
    return open(path, "rb").read()


VALID_IDX = _valid_idx()


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(VALID_IDX) - 1), st.integers(0, 255)), max_size=6),
       st.integers(0, len(VALID_IDX)), st.binary(max_size=16))
def test_mutated_idx_files_raise_only_cnnlab_errors(tmp_path_factory, flips, cut, tail):
    data = bytearray(VALID_IDX)
    for at, value in flips:
        data[at] = value
    path = tmp_path_factory.getbasetemp() / "fuzz.idx"
    path.write_bytes(bytes(data[:cut]) + tail)
    _only_cnnlab_errors(lambda: read_idx(path), COUNTS, "IDX reader (mutated valid files)")


def _valid_model() -> dict[str, bytes]:
    model = cnnlab.Sequential([layers.Input((4, 4, 1)), layers.Conv2D(2, 3), layers.Flatten(), layers.Dense(2)])
    path = os.path.join(_SCRATCH, "valid.cnnlab")
    model.save(path)
    with open(path, "rb") as fh:
        raw = fh.read()
    with zipfile.ZipFile(path) as zf:
        return raw, {n: zf.read(n) for n in zf.namelist()}


VALID_ZIP, VALID_MEMBERS = _valid_model()
JSON = st.recursive(st.none() | st.booleans() | st.integers(-10**6, 10**13) | st.floats() | st.text(max_size=12),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                    max_leaves=20)


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(VALID_ZIP) - 1), st.integers(0, 255)), max_size=4),
       st.integers(0, len(VALID_ZIP)))
def test_mutated_model_files_raise_only_cnnlab_errors(tmp_path_factory, flips, cut):
    data = bytearray(VALID_ZIP)
    for at, value in flips:
        data[at] = value
    path = tmp_path_factory.getbasetemp() / "fuzz.cnnlab"
    path.write_bytes(bytes(data[:cut]))
    _only_cnnlab_errors(lambda: cnnlab.load_model(path), COUNTS, "model-file reader (flipped/truncated bytes)")


@FUZZ
@given(st.sampled_from(["units", "filters", "kernel_size", "strides", "padding", "activation", "name", "layers",
                        "class_name", "config", "batch_shape", "rate", "target_shape"]), JSON)
def test_config_json_with_a_mutated_value_raises_only_cnnlab_errors(tmp_path_factory, key, value):
    entry = json.loads(VALID_MEMBERS["config.json"])

    def mutate(node):
        if isinstance(node, dict):
            for k in list(node):
                if k == key:
                    node[k] = value
                    return True
                if mutate(node[k]):
                    return True
        if isinstance(node, list):
            return any(mutate(item) for item in node)
        return False

    mutate(entry)
    path = tmp_path_factory.getbasetemp() / "fuzz-config.cnnlab"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in VALID_MEMBERS.items():
            zf.writestr(name, json.dumps(entry, allow_nan=True) if name == "config.json" else data)
    _only_cnnlab_errors(lambda: cnnlab.load_model(path), COUNTS, "model-file reader (mutated config.json)")


@FUZZ
@given(st.one_of(JSON, st.fixed_dictionaries({"class_name": st.sampled_from(
    ["Dense", "Conv2D", "Sequential", "Functional", "MaxPooling2D", "Reshape", "os.system", "Lambda"]), "config": JSON})))
def test_random_layer_configs_raise_only_cnnlab_errors(entry):
    _only_cnnlab_errors(lambda: layer_from_config(entry), COUNTS, "config parser (layer_from_config)")


# ------------------------------------------------------------ zip and safetensors structure (.cnnlab, .keras)
def _valid_keras_members() -> dict[str, bytes]:
    path = os.path.join(_SCRATCH, "zip.keras")
    model = cnnlab.Sequential([layers.Input((4, 4, 1)), layers.Conv2D(2, 3), layers.Flatten(), layers.Dense(2)])
    model.compile(optimizer=cnnlab.optimizers.Adam(name="adam"), loss="mse")
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


ZIP_SEEDS = {".cnnlab": VALID_MEMBERS, ".keras": _valid_keras_members()}
ZIP_NAMES = ["config.json", "metadata.json", "model.safetensors", "optimizer.safetensors", "model.weights.h5",
             "../x.json", "/abs", "a/b.json", "config.json/"]
SAFETENSORS_CODES = ["F32", "F64", "F16", "BF16", "I64", "I32", "U8", "BOOL", "C64", "F8_E4M3", "X", 3, None]


def _safetensors_blob(draw) -> bytes:
    """A safetensors file whose header entries are drawn (dtypes, shapes, offsets), with some data after it."""
    entries = draw(st.dictionaries(st.text(max_size=8), st.one_of(JSON, st.fixed_dictionaries({
        "dtype": st.sampled_from(SAFETENSORS_CODES),
        "shape": st.one_of(st.lists(st.integers(-1, 10**7), max_size=4), JSON),
        "data_offsets": st.one_of(st.lists(st.integers(-1, 10**9), min_size=2, max_size=2), JSON)})), max_size=6))
    header = json.dumps(entries, allow_nan=True).encode()
    length = draw(st.one_of(st.just(len(header)), st.integers(0, 2**64 - 1)))
    return struct.pack("<Q", length) + header + draw(st.binary(max_size=64))


def _member_bytes(draw, suffix: str, name: str) -> bytes:
    seed = ZIP_SEEDS[suffix].get(name, b"")
    kind = draw(st.sampled_from(["seed", "truncated", "random", "json", "safetensors"]))
    if kind == "seed":
        return seed
    if kind == "truncated":
        return seed[:draw(st.integers(0, max(len(seed) - 1, 0)))]
    if kind == "json":
        return json.dumps(draw(JSON), allow_nan=True).encode()
    if kind == "safetensors":
        return _safetensors_blob(draw)
    return draw(st.binary(max_size=256))


def _patch_member(data: bytearray, draw) -> None:
    """Lie in one central-directory entry: flags, compression method or sizes (the local header agrees)."""
    entries = [i for i in range(len(data) - 4) if data[i:i + 4] == b"PK\x01\x02"]
    if not entries:
        return
    central = draw(st.sampled_from(entries))
    local = struct.unpack_from("<I", data, central + 42)[0]
    field = draw(st.sampled_from([("<H", 8, 6, [1, 8, 0x41]), ("<H", 10, 8, [0, 8, 12, 14, 93, 99, 7]),
                                  ("<I", 20, 18, [0, 1, 2**31, 2**32 - 1]), ("<I", 24, 22, [0, 1, 2**31, 2**32 - 1])]))
    fmt, at_central, at_local, values = field
    value = draw(st.sampled_from(values))
    struct.pack_into(fmt, data, central + at_central, value)
    if local + at_local + 4 <= len(data):
        struct.pack_into(fmt, data, local + at_local, value)


@FUZZ
@given(st.sampled_from(sorted(ZIP_SEEDS)), st.data())
def test_zip_structure_fuzz_raises_only_cnnlab_errors(tmp_path_factory, suffix, data):
    names = data.draw(st.lists(st.sampled_from(ZIP_NAMES), min_size=1, max_size=6))
    keep_seed = data.draw(st.booleans())
    members = [(n, ZIP_SEEDS[suffix][n]) for n in ZIP_SEEDS[suffix]] if keep_seed else []
    members += [(name, _member_bytes(data.draw, suffix, name)) for name in names]
    path = tmp_path_factory.getbasetemp() / f"fuzz-zip{suffix}"
    with zipfile.ZipFile(path, "w") as zf, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are part of the fuzz
        for name, raw in members:
            zf.writestr(name, raw, compress_type=data.draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])))
    if data.draw(st.booleans()):
        raw = bytearray(path.read_bytes())
        _patch_member(raw, data.draw)
        path.write_bytes(bytes(raw))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a .keras whose compile config fails loads uncompiled, with a warning
        _only_cnnlab_errors(lambda: cnnlab.load_model(path), COUNTS, f"zip structure ({suffix}: members, flags, sizes)")


@FUZZ
@given(st.data())
def test_safetensors_header_fuzz_raises_only_cnnlab_errors(tmp_path_factory, data):
    blob = _safetensors_blob(data.draw)
    folder = tmp_path_factory.getbasetemp()
    weights = folder / "fuzz.weights.safetensors"
    weights.write_bytes(blob)
    model = cnnlab.Sequential([layers.Input((4, 4, 1)), layers.Conv2D(2, 3), layers.Flatten(), layers.Dense(2)])
    _only_cnnlab_errors(lambda: model.load_weights(weights), COUNTS, "safetensors header (.weights.safetensors)")
    member = data.draw(st.sampled_from(["model.safetensors", "optimizer.safetensors"]))
    path = folder / "fuzz-st.cnnlab"
    with zipfile.ZipFile(path, "w") as zf:
        for name, raw in VALID_MEMBERS.items():
            zf.writestr(name, blob if name == member else raw)
        if member not in VALID_MEMBERS:
            zf.writestr(member, blob)
    _only_cnnlab_errors(lambda: cnnlab.load_model(path), COUNTS, "safetensors header (.cnnlab members)")


# ---------------------------------------------------------------------- HDF5 structure (.weights.h5, .keras, .h5)
H5_EXAMPLES = max(EXAMPLES // 5, 10)  # each example writes and loads a file: fewer, for make test
H5_FUZZ = settings(max_examples=H5_EXAMPLES, deadline=5000, suppress_health_check=list(HealthCheck), database=None)
H5_DTYPES = ["float32", ">f4", "float16", "float64", "int32", "int64", "uint8", "bool", "complex64", "S4",
             np.longdouble, [("a", "f4"), ("b", "i4")]]
H5_ATTRS = ["layer_names", "weight_names", "model_config", "training_config", "name", "keras_version"]


def _valid_h5_files() -> dict[str, bytes]:
    """The HDF5 of each format saved from one compiled, trained model (a .keras entry holds its zip members)."""
    model = cnnlab.Sequential([layers.Input((4,)), layers.Dense(3), layers.Dense(2)])
    model.compile(optimizer=cnnlab.optimizers.Adam(name="adam"), loss="mse")  # a legacy .h5 keys slots by name
    model.fit(np.ones((4, 4), "float32"), np.ones((4, 2), "float32"), epochs=1, verbose=0)
    files = {}
    for name in ("h.weights.h5", "h.keras", "h.h5"):
        path = os.path.join(_SCRATCH, name)
        model.save_weights(path) if name.endswith(".weights.h5") else model.save(path)
        if name.endswith(".keras"):
            with zipfile.ZipFile(path) as zf:
                files[name] = {n: zf.read(n) for n in zf.namelist()}
        else:
            files[name] = open(path, "rb").read()
    return files


VALID_H5 = _valid_h5_files()


def _h5_edit(h5py, f, draw, paths: list[str]) -> None:
    """One random structural edit: a group, a link (hard, soft, external), an attribute or a dataset replaced."""
    kind = draw(st.sampled_from(["group", "hard", "soft", "external", "attr", "dataset", "delete"]))
    target = draw(st.sampled_from(paths))
    if target not in f:  # deleted or replaced by an earlier edit
        return
    parent = f[target] if isinstance(f[target], h5py.Group) else f[target].parent
    name = f"{parent.name.rstrip('/')}/{draw(st.sampled_from(['x', 'vars', '0', '1', 'loop']))}"
    if kind == "delete":
        del f[target]
    elif name in f:
        if kind == "attr":
            value = draw(st.one_of(st.text(max_size=20), st.integers(-2, 10**6), st.floats(),
                                   st.lists(st.binary(max_size=8), max_size=5)))
            stored = value if isinstance(value, str) else np.array(value if value != [] else [b""])
            f[name].attrs[draw(st.sampled_from(H5_ATTRS))] = stored
        elif kind == "dataset" and isinstance(f[name], h5py.Dataset):
            shape = tuple(draw(st.lists(st.integers(0, 6), max_size=3)))
            dtype = np.dtype(draw(st.sampled_from(H5_DTYPES)))
            chunked = bool(shape) and all(shape) and draw(st.booleans())
            del f[name]
            f.create_dataset(name, shape=shape, dtype=dtype, chunks=shape if chunked else None,
                             compression="gzip" if chunked and draw(st.booleans()) else None)
    elif kind == "group":
        f.create_group(name)
    elif kind == "hard":
        f[name] = f[draw(st.sampled_from(["/"] + [p for p in paths if p in f]))]
    elif kind == "soft":
        f[name] = h5py.SoftLink(draw(st.sampled_from(["/", "/layers", "/nowhere", target])))
    elif kind == "external":
        f[name] = h5py.ExternalLink("/etc/passwd", "/")


@H5_FUZZ
@given(st.sampled_from(sorted(VALID_H5)), st.data())
def test_hdf5_structure_fuzz_raises_only_cnnlab_errors(tmp_path_factory, name, data):
    h5py = pytest.importorskip("h5py")
    folder = tmp_path_factory.getbasetemp()
    scratch = folder / "fuzz-scratch.h5"
    scratch.write_bytes(VALID_H5[name]["model.weights.h5"] if name.endswith(".keras") else VALID_H5[name])
    with h5py.File(scratch, "r+") as f:
        paths = []
        f.visit(paths.append)
        for _ in range(data.draw(st.integers(1, 4))):
            try:
                _h5_edit(h5py, f, data.draw, ["/" + p for p in paths])
            except (KeyError, OSError, ValueError, TypeError):  # h5py would not make this edit (e.g. through a link)
                pass
    path = folder / f"fuzz-{name}"
    if name.endswith(".keras"):
        with zipfile.ZipFile(path, "w") as zf:
            for member, content in VALID_H5[name].items():
                zf.writestr(member, scratch.read_bytes() if member == "model.weights.h5" else content)
    else:
        path.write_bytes(scratch.read_bytes())
    model = cnnlab.Sequential([layers.Input((4,)), layers.Dense(3), layers.Dense(2)])
    load = (lambda: model.load_weights(path)) if name.endswith(".weights.h5") else (lambda: cnnlab.load_model(path))
    _only_cnnlab_errors(load, COUNTS, f"HDF5 structure ({name.split('.', 1)[1]}: random groups, links, attrs, "
                                      "dataset shapes and dtypes)")
