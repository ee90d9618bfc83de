"""The safetensors layout, written and read one tensor at a time (no whole-file buffer, nothing unpickled).

A safetensors file is an 8-byte little-endian header length, a JSON header mapping each name to its dtype,
shape and byte range, then the raw bytes of the tensors, back to back
(https://huggingface.co/docs/safetensors/index#format). Writing it ourselves lets a save stream each tensor
into a zip member, and reading it ourselves lets a load bound the header and the entries by what the model
needs before anything is parsed or allocated (the safetensors library parses the whole header first: a
2.7 MB header with a million entries cost 43 s and 1.7 GB before the loader could refuse it).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO

import numpy as np
import torch

from cnnlab.errors import FileFormatError
from cnnlab.io._checks import check_finite
from cnnlab.io.limits import CONTAINER_BASE_BYTES, MAX_TENSORS, SAFETENSORS_ENTRY_BYTES

_CODES = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
          torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
          torch.bool: "BOOL"}
DTYPES = {code: dtype for dtype, code in _CODES.items()}
# NumPy kind letters of the codes the format defines (including those cnnlab never loads), for the dtype policy.
KINDS = {"F64": "f", "F32": "f", "F16": "f", "BF16": "f", "F8_E4M3": "f", "F8_E5M2": "f", "I64": "i", "I32": "i",
         "I16": "i", "I8": "i", "U64": "u", "U32": "u", "U16": "u", "U8": "u", "BOOL": "b", "C64": "c"}
_ITEMSIZE = {"F64": 8, "I64": 8, "U64": 8, "C64": 8, "F32": 4, "I32": 4, "U32": 4, "F16": 2, "BF16": 2, "I16": 2,
             "U16": 2, "F8_E4M3": 1, "F8_E5M2": 1, "I8": 1, "U8": 1, "BOOL": 1}
WIDEST = 8  # bytes per value of the widest dtype a weight may be stored in (float64 loads into float32)
_CHUNK = 8 << 20  # bytes read at a time into a tensor's storage


# ------------------------------------------------------------------------------------------------ writing
def layout(tensors: list[tuple[str, torch.Tensor]], metadata: dict[str, str] | None = None) -> tuple[bytes, int]:
    """The length prefix and header for ``tensors`` (in that order), and the total size of the file."""
    header: dict = {"__metadata__": metadata} if metadata else {}
    offset = 0
    for name, tensor in tensors:
        nbytes = tensor.numel() * tensor.element_size()
        header[name] = {"dtype": _CODES[tensor.dtype], "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # the format pads the header so tensor data stays 8-byte aligned
    prefix = struct.pack("<Q", len(raw)) + raw
    return prefix, len(prefix) + offset


def write(fh: IO[bytes], tensors: list[tuple[str, torch.Tensor]], prefix: bytes) -> None:
    """Write the file laid out by :func:`layout`; each tensor's bytes go out without a copy when on the CPU."""
    fh.write(prefix)
    for _, tensor in tensors:
        tensor = tensor.detach().cpu().contiguous()
        fh.write(tensor.reshape(-1).view(torch.uint8).numpy().data)


# ------------------------------------------------------------------------------------------------ reading
@dataclass(frozen=True)
class Entry:
    """One tensor the header declares."""

    name: str
    code: str
    shape: tuple[int, ...]
    begin: int
    end: int


def header_bound(entries: int) -> int:
    """The most header bytes a file of ``entries`` tensors needs."""
    return CONTAINER_BASE_BYTES + SAFETENSORS_ENTRY_BYTES * entries


def read_header(fh, source, where: str, max_entries: int, max_data_bytes: int) -> list[Entry]:
    """Read and check the header: at most ``max_entries`` tensors and ``max_data_bytes`` of data, known dtypes,
    byte ranges that match each shape and tile the data with no gap. Returns the entries in file order.

    Args:
        fh: a stream positioned at the start of the file (anything with ``read(n)``).
        source, where: the file and the member (or file kind) for messages.

    Raises:
        FileFormatError: naming the file, the member and the entry.
    """
    max_entries = min(max_entries, MAX_TENSORS)

    def refuse(problem: str) -> FileFormatError:
        return FileFormatError(f"'{source}' holds no readable safetensors weights in {where}: it {problem}. The "
                               "file is damaged, crafted or saved from another model; re-save the model from its source.")

    length = struct.unpack("<Q", _read_exact(fh, 8, source, where, "the 8-byte header length"))[0]
    if length > header_bound(max_entries):
        raise refuse(f"declares a {length}-byte header, but {max_entries} tensor(s) need at most "
                     f"{header_bound(max_entries)}")
    raw = _read_exact(fh, length, source, where, "the header")
    count = raw.count(b'"data_offsets"')  # counted before parsing: parsing a million entries costs seconds
    if count > max_entries:
        raise refuse(f"declares {count} tensors, but at most {max_entries} are expected")
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise refuse(f"has a header that is not valid JSON ({type(err).__name__}: {str(err)[:80]})") from None
    if not isinstance(header, dict):
        raise refuse("has a header that is not a JSON object")
    header.pop("__metadata__", None)
    entries = sorted((_entry(name, value, refuse) for name, value in header.items()), key=lambda e: e.begin)
    if len(entries) > max_entries:
        raise refuse(f"declares {len(entries)} tensors, but at most {max_entries} are expected")
    offset = 0
    for entry in entries:
        if entry.begin != offset:
            raise refuse(f"places tensor {entry.name!r} at byte {entry.begin}, but the previous one ends at {offset}")
        offset = entry.end
    if offset > max_data_bytes:
        raise refuse(f"declares {offset} bytes of tensor data, but at most {max_data_bytes} are expected")
    return entries


def _entry(name: str, value, refuse: Callable[[str], FileFormatError]) -> Entry:
    if not isinstance(value, dict):
        raise refuse(f"describes tensor {name!r} with {type(value).__name__}, not an object")
    code, shape, offsets = value.get("dtype"), value.get("shape"), value.get("data_offsets")
    if code not in KINDS:
        raise refuse(f"gives tensor {name!r} the unknown dtype {code!r}")
    if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
        raise refuse(f"gives tensor {name!r} the shape {shape!r}; a shape is a list of sizes >= 0")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int and o >= 0 for o in offsets)):
        raise refuse(f"gives tensor {name!r} the byte range {offsets!r}; expected [begin, end]")
    if offsets[1] - offsets[0] != int(np.prod(shape, dtype=object)) * _ITEMSIZE[code]:
        raise refuse(f"gives tensor {name!r} of shape {tuple(shape)} and dtype {code} the byte range {offsets}, "
                     "which does not hold that many values")
    return Entry(name, code, tuple(shape), offsets[0], offsets[1])


def iter_tensors(fh, entries: list[Entry], source, where: str, wanted: Callable[[Entry], bool] = lambda e: True,
                 into: Callable[[Entry], torch.Tensor | None] = lambda e: None, finite_only: bool = True
                 ) -> Iterator[tuple[Entry, torch.Tensor | None]]:
    """Yield each entry with its tensor read from ``fh`` (None for those not ``wanted``, whose bytes are skipped).

    ``into(entry)`` may give a tensor to read into instead of a new one (a fresh model's variable: no second
    copy); it is used when it is a contiguous CPU tensor of the entry's dtype and shape. With ``finite_only``
    float tensors are checked for NaN and infinity (a backup restores exactly what it saved, so it passes
    False). After the last one the stream must end.
    """
    for entry in entries:
        if not wanted(entry):
            _skip(fh, entry.end - entry.begin, source, where, entry.name)
            yield entry, None
            continue
        if entry.code not in DTYPES:
            raise FileFormatError(f"'{source}': {where} tensor {entry.name!r} has dtype {entry.code}, which cnnlab "
                                  "does not load. Re-save the model with float32 weights.")
        tensor = into(entry)
        if tensor is None or tensor.dtype != DTYPES[entry.code] or tuple(tensor.shape) != entry.shape \
                or tensor.device.type != "cpu" or not tensor.is_contiguous():
            tensor = torch.empty(entry.shape, dtype=DTYPES[entry.code])
        buffer = tensor.detach().reshape(-1).view(torch.uint8).numpy()
        at = 0
        while at < buffer.shape[0]:
            chunk = _read_exact(fh, min(_CHUNK, buffer.shape[0] - at), source, where, f"tensor {entry.name!r}")
            buffer[at:at + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
            at += len(chunk)
        if finite_only:
            check_finite(tensor, source, f"{where} tensor {entry.name!r}")
        yield entry, tensor
    if fh.read(1):
        raise FileFormatError(f"'{source}': {where} holds bytes after its last tensor; the file is damaged or "
                              "crafted. Re-save the model from its source.")


def _skip(fh, size: int, source, where: str, name: str) -> None:
    while size > 0:
        size -= len(_read_exact(fh, min(_CHUNK, size), source, where, f"tensor {name!r}"))


def _read_exact(fh, size: int, source, where: str, what: str) -> bytes:
    data = fh.read(size)
    while len(data) < size:  # a stream may return fewer bytes than asked before its end
        more = fh.read(size - len(data))
        if not more:
            raise FileFormatError(f"'{source}': {where} ends inside {what} (after {len(data)} of {size} bytes); "
                                  "the file is truncated. Check that the copy finished, or re-save the model.")
        data += more
    return data
