"""HDF5 files from untrusted hands (``.weights.h5``, a ``.keras`` weights member, legacy ``.h5``): checked, bounded.

A file is opened read-only through a window onto its bytes on disk (:class:`Window`: a plain file, or a stored
zip member in place), never copied into memory, and its tree is walked once, in C (``H5Lvisit``), before any
data is read. The walk stops as soon as the file holds more objects than the model it is loaded into can need
(:func:`object_budget`), so a file of 200,000 empty groups costs as much as one of a few hundred. It refuses
soft, external and user-defined links, a second hard link to any object (which is how a group is linked under
itself: the walk names the path where the cycle closes), external or virtual storage, non-numeric dtypes,
datasets that declare more bytes than they store, and compression filters other than deflate, shuffle and
fletcher32. Keras writes none of these.

Datasets are then read one at a time, each only after its shape and dtype match the variable it loads into
(:func:`read_checked`), and a deflated one only after each chunk is shown to inflate to no more than its
size, so what is read is bounded by what the model already holds. A weight is read straight into its variable's
memory (:func:`read_into`), HDF5 converting the stored dtype as it reads, so loading needs no second copy.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import zlib
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING

import numpy as np
import torch

from cnnlab.errors import ConfigError, FileFormatError, ShapeError
from cnnlab.io._checks import check_finite, check_weight_kind
from cnnlab.io.limits import (
    HDF5_OBJECTS_PER_LAYER,
    HDF5_OBJECTS_PER_WEIGHT,
    HDF5_OBJECTS_SLACK,
    MAX_HDF5_CHUNKS,
    MAX_HDF5_OBJECTS,
    MAX_LAYERS,
    MAX_MEMBER_BYTES,
)

if TYPE_CHECKING:
    import h5py

_CRAFTED = "Keras never writes this, so the file was crafted or damaged; re-save the model from its source."
# HDF5 filter ids h5py and Keras may use; any other (szip, lzf, blosc, a plugin) is refused.
_DEFLATE, _SHUFFLE, _FLETCHER32 = 1, 2, 3
_FILTERS = {_DEFLATE, _SHUFFLE, _FLETCHER32}


def h5py_module():
    """h5py, or a ConfigError saying how to install it."""
    try:
        import h5py
    except ImportError as err:
        raise ConfigError("Keras files (.keras, .h5) need h5py: pip install 'cnnlab[keras]' (or pip install h5py).") \
            from err
    return h5py


def object_budget(layers: int, weights: int) -> int:
    """How many HDF5 objects (links) a Keras file for a model with ``layers`` layers and ``weights`` variables
    may hold: generous for every layout Keras and tf.keras write, far below what makes the walk slow."""
    return min(MAX_HDF5_OBJECTS,
               HDF5_OBJECTS_SLACK + HDF5_OBJECTS_PER_LAYER * layers + HDF5_OBJECTS_PER_WEIGHT * weights)


class Window(io.RawIOBase):
    """Bytes ``[start, start + size)`` of an open file descriptor, as the seekable file object h5py reads.

    Reads use ``pread``, so the descriptor's own offset never moves (a zip reader may share it), and each fills
    its buffer unless the window ends: h5py pads a short read with zeros instead of asking again.
    """

    def __init__(self, fd: int, start: int, size: int, owner: IO | None = None) -> None:
        super().__init__()
        self.fd, self.start, self.size, self.pos, self._owner = fd, start, size, 0, owner

    def close(self) -> None:
        """Close the window and the file it was given to own (a temporary copy), if any."""
        super().close()
        if self._owner is not None:
            self._owner.close()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError(f"negative seek position {base + offset}")
        self.pos = base + offset
        return self.pos

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        want, done = max(0, min(len(view), self.size - self.pos)), 0
        while done < want:
            at = self.start + self.pos + done
            if hasattr(os, "preadv"):
                count = os.preadv(self.fd, [view[done:want]], at)
            else:  # Windows: one copy of each read, still bounded by the read's size
                data = os.pread(self.fd, want - done, at)
                view[done:done + len(data)] = data
                count = len(data)
            if not count:
                break
            done += count
        self.pos += done
        return done


@contextlib.contextmanager
def file_window(path) -> Iterator[Window]:
    """A plain HDF5 file on disk as a :class:`Window` over its whole size when opened."""
    with open(path, "rb", buffering=0) as fh:
        yield Window(fh.fileno(), 0, os.fstat(fh.fileno()).st_size)


def open_h5(data: bytes | IO[bytes], source, max_objects: int | None = None) -> "h5py.File":
    """Open HDF5 read-only and check it with :func:`check_h5_tree`.

    Args:
        data: the file's bytes, or a seekable binary file (a :class:`Window`), read in place.
        source: the file, named in every message.
        max_objects: the model's :func:`object_budget`; the whole tree is checked against it. None checks the
            root group's links only (enough to read root attributes and names before the model is known); call
            :func:`check_h5_tree` with the budget before reading deeper.

    Raises:
        FileFormatError: not HDF5, or anything :func:`check_h5_tree` refuses.
    """
    h5py = h5py_module()
    fileobj = io.BytesIO(data) if isinstance(data, (bytes, bytearray, memoryview)) else data
    size = fileobj.seek(0, io.SEEK_END)
    fileobj.seek(0)
    try:
        handle = h5py.File(fileobj, "r")
    except OSError as err:
        raise FileFormatError(f"'{source}' is not a readable HDF5 file ({err}). It may be truncated or another "
                              "format; check that the copy or download finished, or save the model again.") from err
    try:
        check_h5_tree(handle, size, source, max_objects)
    except BaseException:
        handle.close()
        raise
    return handle


def check_h5_tree(handle, file_size: int, source, max_objects: int | None) -> None:
    """Walk the tree once (bounded by ``max_objects``; None: the root's links only) and check every link and
    dataset as the module docstring says.

    Raises:
        FileFormatError: naming the file and the offending path.
    """
    h5py = h5py_module()
    walk = _Walk(handle, source, max_objects if max_objects is not None else MAX_LAYERS + HDF5_OBJECTS_SLACK)
    # Native order: HDF5 walks its name index as stored; any other order first builds and sorts a table of every
    # link in a group (0.9 s for a group of 200,000), before the budget can stop the walk.
    order = h5py.h5.ITER_NATIVE
    try:
        if max_objects is None:
            handle.id.links.iterate(walk, info=True, order=order)
        else:
            handle.id.links.visit(walk, info=True, order=order)
    except (RuntimeError, OSError, ValueError, KeyError) as err:
        raise FileFormatError(f"'{source}': the HDF5 tree cannot be walked ({err}); the file is damaged. Re-save "
                              "the model from its source.") from err
    if walk.error:
        raise FileFormatError(walk.error)
    for name, path in walk.hard_links:
        try:
            obj = h5py.h5o.open(handle.id, name)
        except (RuntimeError, OSError, ValueError, KeyError) as err:
            raise FileFormatError(f"'{source}': {path} cannot be opened ({err}); the file is damaged. Re-save the "
                                  "model from its source.") from err
        if isinstance(obj, h5py.h5d.DatasetID):
            _check_dataset(h5py.Dataset(obj), path, file_size, source)


class _Walk:
    """The ``H5Lvisit`` callback: counts links, refuses non-hard links and revisits. Returning a value stops the
    walk (an exception raised inside the C callback would be less clear), so the reason is kept in ``error``."""

    def __init__(self, handle, source, max_objects: int):
        self.handle, self.source, self.max_objects = handle, source, max_objects
        h5py = h5py_module()
        self.h5l = h5py.h5l
        self.first_path = {h5py.h5o.get_info(handle.id).addr: "/"}  # object address -> the path it was met at
        self.hard_links: list[tuple[bytes, str]] = []
        self.error = ""

    def __call__(self, name: bytes, info):
        path = "/" + name.decode("utf-8", "replace")
        if len(self.hard_links) >= self.max_objects:
            self.error = (f"'{self.source}' holds more than {self.max_objects} HDF5 groups, datasets and links "
                          f"(the count ran over at {path}), far more than the model needs. The file was crafted or "
                          "belongs to another model; check that it is the right file, or re-save it from its "
                          "source.")
            return 1
        if info.type == self.h5l.TYPE_HARD:
            first = self.first_path.setdefault(info.u, path)
            if first == path:
                self.hard_links.append((name, path))
                return None
            if first == "/" or path.startswith(first + "/"):
                self.error = (f"'{self.source}': {path} is a hard link back to {first}, which contains it: the "
                              f"HDF5 tree loops (the cycle closes at {path}). {_CRAFTED}")
            else:
                self.error = (f"'{self.source}': {path} is a second hard link to {first}; Keras writes every group "
                              f"and dataset once. {_CRAFTED}")
            return 1
        link = self.handle.id.links.get_val(name)
        if info.type == self.h5l.TYPE_SOFT:
            self.error = (f"'{self.source}': {path} is a soft link to {_text(link)!r}; a weights file has no links. "
                          f"{_CRAFTED}")
        elif info.type == self.h5l.TYPE_EXTERNAL:
            self.error = (f"'{self.source}': {path} is an external link to {_text(link[0])!r} ({_text(link[1])}); "
                          f"a model file must not read other files. {_CRAFTED}")
        else:
            self.error = f"'{self.source}': {path} is a link of user-defined type {info.type}. {_CRAFTED}"
        return 1


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _check_dataset(ds, path: str, file_size: int, source) -> None:
    h5py = h5py_module()
    plist = ds.id.get_create_plist()
    layout = plist.get_layout()
    if plist.get_external_count() > 0 or layout == h5py.h5d.VIRTUAL:
        raise FileFormatError(f"'{source}': dataset {path} keeps its data outside the file (external or virtual "
                              f"storage). {_CRAFTED}")
    kind, itemsize = ds.dtype.kind, ds.dtype.itemsize
    if kind not in "biufc":
        raise FileFormatError(f"'{source}': dataset {path} has dtype {ds.dtype}; weights must be numbers. {_CRAFTED}")
    declared = math.prod(ds.shape or ()) * itemsize  # Python ints: a crafted shape cannot overflow
    if declared > MAX_MEMBER_BYTES:
        raise FileFormatError(f"'{source}': dataset {path} declares {declared} bytes, over the "
                              f"{MAX_MEMBER_BYTES}-byte limit. Refusing to load it; check that it is the right file.")
    if not declared:
        return
    if layout == h5py.h5d.CONTIGUOUS:  # the bytes must really be in the file
        offset = ds.id.get_offset()
        if offset is None or offset + declared > file_size:
            raise FileFormatError(
                f"'{source}': dataset {path} declares {declared} bytes but the file holds only {file_size} "
                f"bytes in all; it is truncated or crafted. Check that the copy finished, or re-save the model.")
        return
    filters = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
    if layout == h5py.h5d.CHUNKED:
        _check_chunks(ds, path, declared, filters, source)
    elif ds.id.get_storage_size() < declared:  # compact
        _refuse_missing(path, declared, ds.id.get_storage_size(), source)


def _check_chunks(ds, path: str, declared: int, filters: list[int], source) -> None:
    unknown = [f for f in filters if f not in _FILTERS]
    if unknown:
        raise FileFormatError(f"'{source}': dataset {path} uses HDF5 filter {unknown[0]}; only deflate, shuffle "
                              f"and fletcher32 are read. {_CRAFTED}")
    expected = math.prod(-(-n // c) for n, c in zip(ds.shape, ds.chunks))
    if expected > MAX_HDF5_CHUNKS:
        raise FileFormatError(f"'{source}': dataset {path} is split into {expected} chunks, over the "
                              f"{MAX_HDF5_CHUNKS}-chunk limit. {_CRAFTED}")
    stored = ds.id.get_num_chunks()
    if stored != expected:
        _refuse_missing(path, declared, ds.id.get_storage_size(), source, f"{stored} of its {expected} chunks")
    if not filters and ds.id.get_storage_size() < declared:
        _refuse_missing(path, declared, ds.id.get_storage_size(), source)


def _check_inflation(ds, source) -> None:
    """Each deflated chunk must inflate to exactly its size: HDF5's own inflate grows its buffer (and its time)
    to whatever a crafted stream asks. Run before reading, once the dataset's shape matched its variable."""
    plist = ds.id.get_create_plist()
    filters = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
    if ds.chunks is None or _DEFLATE not in filters:
        return
    chunk_bytes = math.prod(ds.chunks) * ds.dtype.itemsize
    deflate_bit = 1 << filters.index(_DEFLATE)
    for i in range(ds.id.get_num_chunks()):
        info = ds.id.get_chunk_info(i)
        if info.filter_mask & deflate_bit:
            continue
        _, raw = ds.id.read_direct_chunk(info.chunk_offset)
        inflater = zlib.decompressobj()
        try:
            inflater.decompress(raw, chunk_bytes)
        except zlib.error as err:
            raise FileFormatError(f"'{source}': chunk {i} of dataset {ds.name} is not valid deflate data ({err}). "
                                  "The file is damaged; re-save the model from its source.") from err
        if inflater.unconsumed_tail or not inflater.eof:
            raise FileFormatError(f"'{source}': chunk {i} of dataset {ds.name} inflates beyond its {chunk_bytes} "
                                  f"bytes (a compression bomb). {_CRAFTED}")


def _refuse_missing(path: str, declared: int, stored: int, source, what: str = "") -> None:
    held = f"stores {what}" if what else f"stores only {stored}"
    raise FileFormatError(f"'{source}': dataset {path} declares {declared} bytes but {held}; reading it would "
                          f"make up the rest. {_CRAFTED}")


# ------------------------------------------------------------------------------------------------- checked reads
def read_checked(ds, shape: tuple, expect_float: bool, source, target: str) -> np.ndarray:
    """Read dataset ``ds`` after checking it against the variable it loads into; native byte order, finite.

    Args:
        ds: the dataset (checked by :func:`check_h5_tree`).
        shape: the variable's shape; ``ds`` must declare exactly this before a byte is read.
        expect_float: whether the variable holds floats (integers and booleans are refused then).
        source: the file, for messages.
        target: the variable, for messages (e.g. ``"'dense/kernel'"``).

    Raises:
        ShapeError: the shapes differ (the architectures differ).
        FileFormatError: a dtype that cannot load, or NaN/infinite values (the dataset is named).
    """
    where = _check_readable(ds, shape, expect_float, source, target)
    value = np.asarray(ds[()])
    if value.dtype.kind == "f" and value.dtype.itemsize > 8:  # longdouble: torch has no such type
        value = value.astype(np.float64)
    elif not value.dtype.isnative:  # '>f4' is a valid float32 stored big-endian
        value = value.astype(value.dtype.newbyteorder("="))
    check_finite(value, source, where)
    return value


def read_into(ds, tensor: torch.Tensor, shape: tuple, source, target: str) -> np.ndarray | None:
    """Read dataset ``ds`` straight into ``tensor``'s memory after the checks of :func:`read_checked`.

    HDF5 converts the stored dtype (any float width or byte order) to the tensor's as it reads, through its own
    small buffer, so nothing dataset-sized is allocated besides the tensor. Values are checked for NaN and
    infinity where they land; on that error ``tensor`` holds the refused values.

    Args:
        ds: the dataset (checked by :func:`check_h5_tree`).
        tensor: the variable's storage, read into when it is a contiguous CPU tensor of shape ``shape``.
        shape: the variable's shape (Keras layout), compared with the dataset's before a byte is read.
        source, target: the file and the variable, for messages.

    Returns:
        None when read in place; otherwise the checked values as a new array, for the caller to assign.

    Raises:
        ShapeError, FileFormatError: as :func:`read_checked`.
    """
    view = _writable_view(tensor, shape)
    if view is None:
        return read_checked(ds, shape, tensor.is_floating_point(), source, target)
    where = _check_readable(ds, shape, tensor.is_floating_point(), source, target)
    if view.size:
        try:
            ds.read_direct(view)
        except (OSError, TypeError, ValueError) as err:
            raise FileFormatError(f"'{source}': {where} cannot be read into {target} ({err}). The file is damaged; "
                                  "re-save the model from its source.") from err
    check_finite(view, source, where)
    return None


def _writable_view(tensor: torch.Tensor, shape: tuple) -> np.ndarray | None:
    """``tensor``'s memory as a NumPy array, when HDF5 can write there directly."""
    if tensor.device.type != "cpu" or tuple(tensor.shape) != tuple(shape) or not tensor.is_contiguous() \
            or tensor.dtype in (torch.bfloat16, torch.complex32) or tensor.is_quantized:
        return None
    return tensor.detach().numpy()


def _check_readable(ds, shape: tuple, expect_float: bool, source, target: str) -> str:
    """Everything checked before a dataset's data is read; returns its place in the file, for messages."""
    check_shape(ds, shape, source, target)
    where = f"dataset {ds.name}"
    check_weight_kind(ds.dtype.kind, str(ds.dtype), expect_float, source, where)
    _check_inflation(ds, source)
    return where


def check_shape(ds, shape: tuple, source, target: str) -> None:
    if tuple(ds.shape) != tuple(shape):
        raise ShapeError(f"'{source}': dataset {ds.name} has shape {tuple(ds.shape)}, but {target} has shape "
                         f"{tuple(shape)}. The architectures differ; load the file into the model it was saved from.")


def read_scalar(ds, source, what: str, integral: bool) -> float | int:
    """One number (an optimizer's iteration or learning rate): a scalar, finite, and for ``integral`` a whole
    number >= 0.

    Raises:
        FileFormatError: naming the dataset and what it holds.
    """
    if ds.shape not in ((), (1,)):
        raise FileFormatError(f"'{source}': dataset {ds.name} ({what}) has shape {ds.shape}; it must hold one "
                              "number. The file was crafted or damaged; load with compile=False to skip the "
                              "optimizer state.")
    if ds.dtype.kind not in ("iuf" if integral else "f"):
        raise FileFormatError(f"'{source}': dataset {ds.name} ({what}) has dtype {ds.dtype}, not "
                              f"{'a count' if integral else 'a float'}. The file was crafted or damaged; load with "
                              "compile=False to skip the optimizer state.")
    value = np.asarray(ds[()]).reshape(())
    number = value.item()
    if not math.isfinite(number) or integral and (number < 0 or number != int(number)):
        raise FileFormatError(f"'{source}': dataset {ds.name} ({what}) holds {number!r}, not "
                              f"{'a whole number >= 0' if integral else 'a finite number'}. The file was crafted or "
                              "damaged; load with compile=False to skip the optimizer state.")
    return int(number) if integral else float(number)


def dataset_at(group, name: str, source, what: str):
    """``group[name]`` as a Dataset (the tree is already checked), or a FileFormatError naming ``what``."""
    obj = group.get(name) if _valid_name(name) else None
    if obj is None:
        raise FileFormatError(f"'{source}': {what} {name!r} is missing from {group.name}; the file is incomplete "
                              "or was saved from another model. Check that it is the right file.")
    if not isinstance(obj, h5py_module().Dataset):
        raise FileFormatError(f"'{source}': {group.name.rstrip('/')}/{name} should be a dataset ({what}) but is a "
                              f"group. {_CRAFTED}")
    return obj


def group_at(parent, name: str, source):
    """``parent[name]`` as a Group, None when absent, or a FileFormatError when it is a dataset."""
    obj = parent.get(name) if _valid_name(name) else None
    if obj is not None and not isinstance(obj, h5py_module().Group):
        raise FileFormatError(f"'{source}': {parent.name.rstrip('/')}/{name} should be a group but is a dataset. "
                              f"{_CRAFTED}")
    return obj


def _valid_name(name: str) -> bool:
    return bool(name) and "\0" not in name and not name.startswith("/")


def read_names(obj, attr: str, source, limit: int) -> list[str]:
    """The string-array attribute ``attr`` of ``obj`` (``layer_names``, ``weight_names``), at most ``limit``
    entries, checked before it is read.

    Raises:
        FileFormatError: not strings, or too many entries (the attribute is named).
    """
    if attr not in obj.attrs:
        return []
    h5py = h5py_module()
    attr_id = h5py.h5a.open(obj.id, attr.encode())
    count = math.prod(attr_id.shape or ())
    where = f"'{source}': attribute {attr} of {obj.name}"
    if count > limit:
        raise FileFormatError(f"{where} lists {count} names, more than the {limit} the model can need. {_CRAFTED}")
    if not count:  # Keras writes an empty list as an empty float64 array
        return []
    dtype = attr_id.dtype
    if dtype.kind not in "SUO" or dtype.kind == "O" and h5py.check_string_dtype(dtype) is None:
        raise FileFormatError(f"{where} has dtype {dtype}, not strings. {_CRAFTED}")
    values = np.asarray(obj.attrs[attr]).reshape(-1)
    return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values]


def read_text(obj, attr: str, source, limit: int) -> str | None:
    """The string attribute ``attr`` of ``obj`` (``model_config``, ``training_config``), at most ``limit`` bytes;
    None when absent.

    Raises:
        FileFormatError: not one string, or too long (the attribute is named).
    """
    if attr not in obj.attrs:
        return None
    h5py = h5py_module()
    attr_id = h5py.h5a.open(obj.id, attr.encode())
    where = f"'{source}': attribute {attr}"
    if math.prod(attr_id.shape or ()) != 1 or attr_id.dtype.kind not in "SUO":
        raise FileFormatError(f"{where} should be one JSON string but has shape {attr_id.shape} and dtype "
                              f"{attr_id.dtype}. {_CRAFTED}")
    if attr_id.get_storage_size() > limit:
        raise FileFormatError(f"{where} is over {limit} bytes; refusing to load it. {_CRAFTED}")
    value = np.asarray(obj.attrs[attr]).reshape(-1)[0]
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    if len(text) > limit:
        raise FileFormatError(f"{where} is over {limit} bytes; refusing to load it. {_CRAFTED}")
    return text
