"""Hostile HDF5 in every format that carries it (.weights.h5, the weights member of .keras, legacy .h5).

Each file starts as a real one saved by cnnlab from a small trained model and is then edited with h5py the
way an attacker (or a damaged disk) would: link cycles and links out, many objects, datasets that declare more
than they store, odd dtypes and values. Every case must end as a clear CnnlabError naming the file and the
dataset or path, within check_hostile's time and memory bounds, with the file unchanged.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from dataclasses import dataclass

import numpy as np
import pytest
from robust_record import check_hostile

import cnnlab
from cnnlab import layers
from cnnlab.errors import FileFormatError, ShapeError

h5py = pytest.importorskip("h5py")

CYCLES, COSTLY, DECLARED, ODD = "HDF5 link cycles", "Costly small files", "Declared sizes", "Odd dtypes and values"
SILENT = "Silent acceptance"


def _model():
    # fixed names: a legacy .h5 keys its groups by layer name, and automatic names count up within the process
    return cnnlab.Sequential([layers.Input((4,)), layers.Dense(3, name="dense"), layers.Dense(2, name="dense_1")])


@dataclass(frozen=True)
class Format:
    name: str  # the file name: its suffix picks the reader
    kernel: str  # the first Dense kernel's dataset, (4, 3) float32
    layer: str  # the first Dense layer's group
    iteration: str | None = None  # the optimizer's datasets (None: a weights-only file)
    learning_rate: str | None = None
    slot: str | None = None  # Adam's first slot, shaped like the kernel


FORMATS = [
    Format("m.weights.h5", "layers/dense/vars/0", "layers/dense"),
    Format("m.keras", "layers/dense/vars/0", "layers/dense", "optimizer/vars/0", "optimizer/vars/1",
           "optimizer/vars/2"),
    Format("m.h5", "model_weights/dense/dense/kernel", "model_weights/dense", "optimizer_weights/adam/iteration",
           "optimizer_weights/adam/learning_rate", "optimizer_weights/adam/slot_0"),
]
WITH_OPTIMIZER = [fmt for fmt in FORMATS if fmt.iteration]


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> dict[str, bytes]:
    """The HDF5 bytes of each format, saved from one compiled, trained model."""
    folder = tmp_path_factory.mktemp("saved")
    model = _model()
    model.compile(optimizer=cnnlab.optimizers.Adam(name="adam"), loss="mse")  # a legacy .h5 keys slots by name
    model.fit(np.ones((4, 4), "float32"), np.ones((4, 2), "float32"), epochs=1, verbose=0)
    model.save_weights(folder / "m.weights.h5")
    model.save(folder / "m.keras")
    model.save(folder / "m.h5")
    with zipfile.ZipFile(folder / "m.keras") as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    return {"m.weights.h5": (folder / "m.weights.h5").read_bytes(), "m.keras": members,
            "m.h5": (folder / "m.h5").read_bytes(), "kernel": model.layers[0].get_weights()[0]}


def craft(saved, fmt: Format, folder, edit, libver=None) -> str:
    """The format's file with ``edit(f)`` applied to its HDF5 (opened r+ with h5py); returns the path."""
    scratch = folder / "scratch.h5"
    scratch.write_bytes(saved[fmt.name]["model.weights.h5"] if fmt.name.endswith(".keras") else saved[fmt.name])
    with h5py.File(scratch, "r+", libver=libver) if libver else h5py.File(scratch, "r+") as f:
        edit(f)
    path = folder / fmt.name
    if fmt.name.endswith(".keras"):
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in saved[fmt.name].items():
                zf.writestr(name, scratch.read_bytes() if name == "model.weights.h5" else data)
    else:
        path.write_bytes(scratch.read_bytes())
    scratch.unlink()
    return str(path)


def load(fmt: Format, path: str):
    """The call a user makes for this format: load_weights into a fresh model, or load_model."""
    if fmt.name.endswith(".weights.h5"):
        model = _model()
        return lambda: model.load_weights(path)
    return lambda: cnnlab.load_model(path)


def hostile(family, case, saved, fmt, tmp_path, edit, error, where, libver=None):
    path = craft(saved, fmt, tmp_path, edit, libver)
    name = fmt.name.replace(".", r"\.")
    return check_hostile(family, f"{case} ({fmt.name})", load(fmt, path), error, f"{name}'.*{where}",
                         watch=(path,))


def replace(f, path: str, **dataset):
    del f[path]
    f.create_dataset(path, **dataset)


ids = [fmt.name for fmt in FORMATS]
opt_ids = [fmt.name for fmt in WITH_OPTIMIZER]


# ------------------------------------------------------------------------------------------------ link cycles
def _cycles(fmt: Format):
    group = fmt.layer
    return [
        ("a group hard-linked under itself", lambda f: f.__setitem__(f"{group}/loop", f[group]),
         f"/{group}/loop is a hard link back to /{group}.*cycle closes at /{group}/loop"),
        ("the root hard-linked under a layer group", lambda f: f.__setitem__(f"{group}/up", f["/"]),
         f"/{group}/up is a hard link back to /,"),
        ("a four-level cycle", lambda f: (f.create_group("a/b/c/d"), f.__setitem__("a/b/c/d/back", f["a"])),
         "/a/b/c/d/back is a hard link back to /a.*cycle"),
        ("a second hard link to a weight", lambda f: f.__setitem__("alias", f[fmt.kernel]),
         f"(/alias|/{fmt.kernel}) is a second hard link to"),
        ("a soft link to a layer group", lambda f: f.__setitem__("zz", h5py.SoftLink(f"/{group}")),
         "/zz is a soft link to"),
        ("a dangling soft link out of the tree", lambda f: f.__setitem__(f"{group}/x", h5py.SoftLink("/../../etc")),
         f"/{group}/x is a soft link"),
        ("a soft link to itself", lambda f: f.__setitem__("self", h5py.SoftLink("/self")), "/self is a soft link"),
        ("an external link to /etc/passwd", lambda f: f.__setitem__("ext", h5py.ExternalLink("/etc/passwd", "/")),
         "/ext is an external link to '/etc/passwd'"),
    ]


@pytest.mark.parametrize("fmt", FORMATS, ids=ids)
def test_link_cycles_and_links_out_are_refused_naming_the_path(saved, fmt, tmp_path):
    for case, edit, where in _cycles(fmt):
        hostile(CYCLES, case, saved, fmt, tmp_path, edit, FileFormatError, where)


@pytest.mark.parametrize("fmt", FORMATS, ids=ids)
def test_external_link_to_another_hdf5_file_is_refused(saved, fmt, tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["w"] = np.zeros((4, 3), "float32")

    def link_out(f):
        del f[fmt.kernel]
        f[fmt.kernel] = h5py.ExternalLink(str(other), "/w")

    hostile(CYCLES, "a weight replaced by an external link to another HDF5 file", saved, fmt, tmp_path, link_out,
            FileFormatError, f"/{fmt.kernel} is an external link to '{other}'")


# ------------------------------------------------------------------------------------------ costly small files
def _wide(f, count=20_000):
    group = f.create_group("junk")
    for i in range(count):
        group.create_group(str(i))


def _deep(f, depth=2_000):
    group = f
    for _ in range(depth):
        group = group.create_group("d")


def _many_datasets(f, count=5_000):
    group = f.create_group("junk")
    for i in range(count):
        group.create_dataset(str(i), shape=(0,), dtype="float32")


@pytest.mark.parametrize("fmt", FORMATS, ids=ids)
@pytest.mark.parametrize("case, edit", [
    ("20,000 empty groups in one group", _wide),
    ("2,000 groups nested in a chain", _deep),
    ("5,000 empty datasets", _many_datasets),
], ids=["wide", "deep", "datasets"])
def test_files_with_far_more_objects_than_the_model_needs_are_refused_fast(saved, fmt, tmp_path, case, edit):
    # the .keras weights member may instead be refused by the zip layer for exceeding what the model needs
    where = "(more than \\d+ HDF5 groups|model\\.weights\\.h5)" if fmt.name.endswith(".keras") else \
        "more than \\d+ HDF5 groups"
    hostile(COSTLY, case, saved, fmt, tmp_path, edit, FileFormatError, where, libver="latest")


@pytest.mark.parametrize("fmt", [FORMATS[2]], ids=["m.h5"])
def test_name_lists_longer_than_the_model_can_need_are_refused_before_reading(saved, fmt, tmp_path):
    def many_layer_names(f):
        f["model_weights"].attrs["layer_names"] = np.array([b"dense"] * 5_000)

    def many_weight_names(f):
        f[fmt.layer].attrs["weight_names"] = np.array([b"dense/kernel"] * 3_000)

    hostile(COSTLY, "layer_names listing 5,000 layers", saved, fmt, tmp_path, many_layer_names, FileFormatError,
            "layer_names of /model_weights lists 5000 names")
    hostile(COSTLY, "weight_names listing 3,000 weights", saved, fmt, tmp_path, many_weight_names,
            FileFormatError, "weight_names of /model_weights/dense lists 3000 names")
    hostile(COSTLY, "layer_names holding numbers", saved, fmt, tmp_path,
            lambda f: f["model_weights"].attrs.__setitem__("layer_names", np.arange(3.0)), FileFormatError,
            "layer_names of /model_weights has dtype float64, not strings")
    hostile(COSTLY, "model_config that is a list of strings", saved, fmt, tmp_path,
            lambda f: f.attrs.__setitem__("model_config", np.array([b"{}", b"{}"])), FileFormatError,
            "model_config should be one JSON string")


# ----------------------------------------------------------------------------------------------- declared sizes
def _bomb_chunk(chunk_bytes: int) -> bytes:
    return zlib.compress(b"\0" * chunk_bytes, 9)


def _declared(fmt: Format):
    kernel = fmt.kernel

    def chunked_no_data(f):
        replace(f, kernel, shape=(30_000, 30_000), dtype="float32", chunks=(1000, 1000))

    def contiguous_no_data(f):
        replace(f, kernel, shape=(4, 3), dtype="float32")

    def partly_stored(f):
        replace(f, kernel, shape=(4, 3), dtype="float32", chunks=(2, 3))
        f[kernel][0:2] = 1.0

    def huge_compressed(f):  # 400 MB of zeros in a 400 kB file: the right shape is (4, 3)
        replace(f, kernel, shape=(100, 1_000_000), dtype="float32", chunks=(1, 1_000_000), compression="gzip")
        raw = _bomb_chunk(4_000_000)
        for row in range(100):
            f[kernel].id.write_direct_chunk((row, 0), raw)

    def inflating_chunk(f):  # the right shape, but its one chunk inflates to 100 MB
        replace(f, kernel, shape=(4, 3), dtype="float32", chunks=(4, 3), compression="gzip")
        f[kernel].id.write_direct_chunk((0, 0), _bomb_chunk(100 << 20))

    def lzf(f):
        replace(f, kernel, data=np.zeros((4, 3), "float32"), compression="lzf")

    def scaleoffset(f):
        replace(f, kernel, data=np.zeros((4, 3), "float32"), scaleoffset=2)

    def external_storage(f):
        replace(f, kernel, shape=(4, 3), dtype="float32", external=[("/etc/passwd", 0, 48)])

    def over_limit(f):
        replace(f, kernel, shape=(2**40, 2**30), dtype="float32", chunks=(1, 1024))

    def wrong_shape(f):
        replace(f, kernel, data=np.zeros((3, 4), "float32"))

    def tiny_chunks(f):
        replace(f, kernel, shape=(1 << 20, 1 << 10), dtype="float32", chunks=(1, 1))

    def virtual(f):
        layout = h5py.VirtualLayout(shape=(4, 3), dtype="float32")
        layout[:] = h5py.VirtualSource("/etc/passwd", "x", shape=(4, 3))
        del f[kernel]
        f.create_virtual_dataset(kernel, layout)

    path = f"/{kernel}"
    return [
        ("a 3.6 GB chunked weight with no chunks stored", chunked_no_data, FileFormatError,
         f"{path} declares 3600000000 bytes but stores 0 of its 900 chunks"),
        ("a contiguous weight never written", contiguous_no_data, FileFormatError,
         f"{path} declares 48 bytes but the file holds only"),
        ("a chunked weight with half its chunks missing", partly_stored, FileFormatError,
         f"{path} declares 48 bytes but stores 1 of its 2 chunks"),
        ("a 400 MB deflated weight in a small file", huge_compressed, ShapeError,
         f"{path} has shape \\(100, 1000000\\), but 'dense/kernel' has shape \\(4, 3\\)"),
        ("a deflated chunk that inflates to 100 MB", inflating_chunk, FileFormatError,
         f"chunk 0 of dataset {path} inflates beyond its 48 bytes"),
        ("an lzf-compressed weight", lzf, FileFormatError, f"{path} uses HDF5 filter 32000"),
        ("a scale-offset (lossy) weight", scaleoffset, FileFormatError, f"{path} uses HDF5 filter 6"),
        ("a weight stored in /etc/passwd (external storage)", external_storage, FileFormatError,
         f"{path} keeps its data outside the file"),
        ("a weight declaring 4 EiB", over_limit, FileFormatError, f"{path} declares 4722366482869645213696 bytes"),
        ("a weight with the wrong shape", wrong_shape, ShapeError, f"{path} has shape \\(3, 4\\)"),
        ("a weight in a billion one-element chunks", tiny_chunks, FileFormatError,
         f"{path} is split into 1073741824 chunks"),
        ("a virtual dataset over /etc/passwd", virtual, FileFormatError, f"{path} keeps its data outside the file"),
    ]


@pytest.mark.parametrize("fmt", FORMATS, ids=ids)
def test_datasets_are_checked_against_storage_and_the_model_before_reading(saved, fmt, tmp_path):
    for case, edit, error, where in _declared(fmt):
        hostile(DECLARED, case, saved, fmt, tmp_path, edit, error, where)


@pytest.mark.parametrize("fmt", WITH_OPTIMIZER, ids=opt_ids)
def test_optimizer_state_is_read_one_variable_at_a_time_against_its_slots(saved, fmt, tmp_path):
    slot = fmt.slot

    def huge_slot(f):
        replace(f, slot, shape=(100, 1_000_000), dtype="float32", chunks=(1, 1_000_000), compression="gzip")
        raw = _bomb_chunk(4_000_000)
        for row in range(100):
            f[slot].id.write_direct_chunk((row, 0), raw)

    def slot_without_data(f):
        replace(f, slot, shape=(30_000, 30_000), dtype="float32", chunks=(1000, 1000))

    hostile(DECLARED, "an optimizer slot of 400 MB deflated", saved, fmt, tmp_path, huge_slot, ShapeError,
            f"/{slot} has shape \\(100, 1000000\\), but Adam slot .* has shape \\(4, 3\\)")
    hostile(DECLARED, "an optimizer slot declaring 3.6 GB, none stored", saved, fmt, tmp_path, slot_without_data,
            FileFormatError, f"/{slot} declares 3600000000 bytes but stores 0")

    def extra_variables(f):
        group = f[slot].parent
        for i in range(200):
            group.create_dataset(f"extra_{i}", data=np.zeros((4, 3), "float32"))
        listing = group.parent  # a legacy .h5 lists its optimizer weights by name on optimizer_weights
        if "weight_names" in listing.attrs:
            names = list(listing.attrs["weight_names"]) + [f"adam/extra_{i}" for i in range(200)]
            listing.attrs["weight_names"] = np.array(names, dtype=h5py.string_dtype())

    hostile(DECLARED, "200 optimizer variables more than the optimizer has", saved, fmt, tmp_path, extra_variables,
            FileFormatError, "the saved Adam state has 210 variables")


# ------------------------------------------------------------------------------------------ odd dtypes and values
def _odd(fmt: Format):
    kernel, path = fmt.kernel, f"/{fmt.kernel}"

    def as_dtype(dtype):
        return lambda f: replace(f, kernel, data=np.ones((4, 3), dtype))

    def with_value(value):
        def edit(f):
            data = np.ones((4, 3), "float32")
            data[1, 2] = value
            replace(f, kernel, data=data)
        return edit

    compound = np.dtype([("a", "f4"), ("b", "f4")])
    return [
        ("int32 weights", as_dtype("int32"), f"{path} holds integer values \\(int32\\)"),
        ("int64 weights", as_dtype("int64"), f"{path} holds integer values \\(int64\\)"),
        ("uint8 weights", as_dtype("uint8"), f"{path} holds unsigned integer values"),
        ("boolean weights", as_dtype("bool"), f"{path} holds boolean values"),
        ("complex64 weights", as_dtype("complex64"), f"{path} holds complex values"),
        ("complex128 weights", as_dtype("complex128"), f"{path} holds complex values"),
        ("compound (struct) weights", lambda f: replace(f, kernel, shape=(4, 3), dtype=compound),
         f"{path} has dtype .*weights must be numbers"),
        ("string weights", lambda f: replace(f, kernel, data=np.array([[b"x"] * 3] * 4)),
         f"{path} has dtype .*weights must be numbers"),
        ("a NaN weight", with_value(np.nan), f"{path} holds 1 NaN or infinite value"),
        ("a +inf weight", with_value(np.inf), f"{path} holds 1 NaN or infinite value"),
        ("a -inf weight", with_value(-np.inf), f"{path} holds 1 NaN or infinite value"),
    ]


@pytest.mark.parametrize("fmt", FORMATS, ids=ids)
def test_weights_of_the_wrong_kind_or_not_finite_are_refused_naming_the_dataset(saved, fmt, tmp_path):
    for case, edit, where in _odd(fmt):
        family = SILENT if "NaN" in case or "inf" in case or "complex" in case else ODD
        hostile(family, case, saved, fmt, tmp_path, edit, FileFormatError, where)


@pytest.mark.parametrize("fmt", FORMATS, ids=ids)
@pytest.mark.parametrize("dtype", [">f4", ">f8", "<f8", "<f2", np.longdouble],
                         ids=["big-endian float32", "big-endian float64", "float64", "float16", "longdouble"])
def test_floats_of_any_width_and_byte_order_load_as_float32(saved, fmt, tmp_path, dtype):
    expected = saved["kernel"]
    path = craft(saved, fmt, tmp_path, lambda f: replace(f, fmt.kernel, data=expected.astype(dtype)))
    if fmt.name.endswith(".weights.h5"):
        model = _model()
        check_hostile(ODD, f"{np.dtype(dtype).str} weights ({fmt.name})", lambda: model.load_weights(path), None,
                      watch=(path,))
    else:
        loaded = []
        check_hostile(ODD, f"{np.dtype(dtype).str} weights ({fmt.name})",
                      lambda: loaded.append(cnnlab.load_model(path)), None, watch=(path,))
        model = loaded[0]
    kernel = model.layers[0].get_weights()[0]
    assert kernel.dtype == np.float32
    np.testing.assert_allclose(kernel, expected.astype(dtype).astype(np.float32))


@pytest.mark.parametrize("fmt", WITH_OPTIMIZER, ids=opt_ids)
def test_odd_optimizer_iteration_learning_rate_and_slots_are_refused(saved, fmt, tmp_path):
    it, lr, slot = fmt.iteration, fmt.learning_rate, fmt.slot
    cases = [
        ("a NaN iteration", lambda f: replace(f, it, data=np.float64("nan")), FileFormatError,
         f"/{it} \\(the optimizer's iteration count\\) holds nan"),
        ("an iteration that is a vector", lambda f: replace(f, it, data=np.arange(3)), FileFormatError,
         f"/{it} \\(the optimizer's iteration count\\) has shape \\(3,\\); it must hold one number"),
        ("an iteration of 10**9 elements declared", lambda f: replace(
            f, it, shape=(10**9,), dtype="int64", chunks=(10**6,)), FileFormatError, f"/{it} declares"),
        ("a negative iteration", lambda f: replace(f, it, data=np.int64(-5)), FileFormatError,
         "holds -5, not a whole number >= 0"),
        ("a fractional iteration", lambda f: replace(f, it, data=np.float32(1.5)), FileFormatError,
         "holds 1.5, not a whole number"),
        ("a string iteration", lambda f: replace(f, it, data=b"12"), FileFormatError, f"/{it} has dtype"),
        ("a boolean iteration", lambda f: replace(f, it, data=np.bool_(True)), FileFormatError,
         f"/{it} \\(the optimizer's iteration count\\) has dtype bool"),
        ("an infinite learning rate", lambda f: replace(f, lr, data=np.float32("inf")), FileFormatError,
         f"/{lr} \\(the optimizer's learning rate\\) holds inf"),
        ("a NaN optimizer slot", lambda f: replace(f, slot, data=np.full((4, 3), np.nan, "float32")),
         FileFormatError, f"/{slot} holds 12 NaN or infinite value"),
        ("an integer optimizer slot", lambda f: replace(f, slot, data=np.zeros((4, 3), "int32")), FileFormatError,
         f"/{slot} holds integer values"),
        ("an optimizer slot that is a group", lambda f: (f.__delitem__(slot), f.create_group(slot)),
         FileFormatError, f"{slot} should be a dataset"),
    ]
    for case, edit, error, where in cases:
        family = SILENT if "NaN" in case or "infinite" in case else ODD
        hostile(family, case, saved, fmt, tmp_path, edit, error, where)


def test_a_big_endian_iteration_and_slots_load(saved, tmp_path):
    fmt = FORMATS[1]

    def big_endian(f):
        replace(f, fmt.iteration, data=np.array(7, ">i8"))
        replace(f, fmt.slot, data=np.full((4, 3), 0.5, ">f4"))

    path = craft(saved, fmt, tmp_path, big_endian)
    loaded = []
    check_hostile(ODD, "big-endian optimizer iteration and slot (m.keras)", lambda: loaded.append(cnnlab.load_model(
        path)), None, watch=(path,))
    assert int(loaded[0].optimizer.iterations) == 7


def test_a_layer_group_that_is_a_dataset_is_refused(saved, tmp_path):
    for fmt in FORMATS:
        group = f"{fmt.layer}/vars" if not fmt.name == "m.h5" else fmt.layer

        def swap(f, group=group):
            del f[group]
            f[group] = np.zeros(3, "float32")

        error, where = FileFormatError, f"/{group} should be a group but is a dataset"
        hostile(ODD, "a layer's group replaced by a dataset", saved, fmt, tmp_path, swap, error, where)
