"""Bounded JSON parsing for every JSON cnnlab reads from a file (trust: bounded time, memory and stack).

``json.loads`` recurses once per nesting level, so a 200 kB file nested 100,000 levels deep ends in a
``RecursionError`` from inside the parser, and a huge file costs memory before anything looks at it.
:func:`load_json` refuses both before parsing: the size against ``MAX_JSON_BYTES``, then the depth against
``MAX_JSON_DEPTH`` with one linear, vectorised scan of the brackets that sit outside strings. The message
names the file, the member and the depth. Nested models count too: a Sequential inside a Sequential adds
three JSON levels (entry, config, layers list), so 400 nested models are about 1,200 levels.
"""

from __future__ import annotations

import json
import os
import stat
from typing import Any

import numpy as np

from cnnlab.errors import FileFormatError
from cnnlab.io.limits import MAX_JSON_BYTES, MAX_JSON_DEPTH

_QUOTE, _BACKSLASH = 0x22, 0x5C
# Setting bit 0x20 folds [ onto { and ] onto }, and no other byte onto either: one compare finds each kind.
_FOLD, _OPEN, _CLOSE = 0x20, 0x7B, 0x7D
# The scan works on slices of this many bytes, so its index arrays stay small whatever the file holds.
_SCAN_CHUNK = 1 << 20
_DEFAULT_FIX = "Re-save the model from its source; a file cnnlab or Keras writes is never like this."


def load_json(data: bytes | str, *, source, member: str | None = None, expect: type | None = None,
              error: type[Exception] = FileFormatError, fix: str = _DEFAULT_FIX,
              max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse JSON from a file after checking its size and nesting depth.

    Args:
        data: the JSON text, as read from the file (bytes are decoded as UTF-8).
        source: the file, named in every message (None when the caller's message names it).
        member: the place in the file (``"config.json"``, ``"model_config attribute"``), or None for the
            whole file.
        expect: the type the top-level value must have (e.g. ``dict``), or None for any.
        error: the error class to raise (a ``CnnlabError`` subclass).
        fix: the sentence that says what to do, appended to each message.
        max_bytes: the size bound (default ``MAX_JSON_BYTES``).
        max_depth: the nesting bound (default ``MAX_JSON_DEPTH``).

    Returns:
        The parsed value.

    Raises:
        FileFormatError (or ``error``): too big, nested too deep, not UTF-8, not JSON, or not ``expect``.

    Example:
        >>> load_json(b'{"a": [1, 2]}', source="model.cnnlab", member="config.json", expect=dict)
        {'a': [1, 2]}
    """
    where = member if source is None else f"'{source}': {member}" if member else f"'{source}'"
    raw = data  # text is encoded only once it is known to be small: a character is at least a byte
    if isinstance(data, str) and len(data) <= max_bytes:
        raw = data.encode("utf-8", "surrogatepass")
    if len(raw) > max_bytes:
        raise error(f"{where} holds {len(raw)} bytes of JSON, more than the {max_bytes} bytes cnnlab reads "
                    f"(io/limits.py MAX_JSON_BYTES). {fix}")
    raw = bytes(raw)
    depth, offset = json_depth(raw, max_depth)
    if offset is not None:
        raise error(f"{where} is nested {depth} levels deep (lists, objects or models inside each other), more "
                    f"than the {max_depth} levels any real model needs (io/limits.py MAX_JSON_DEPTH; the nesting "
                    f"passes {max_depth} at byte {offset}). Refusing to parse it. {fix}")
    try:
        value = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise error(f"{where} is not UTF-8 text ({err}). {fix}") from err
    except json.JSONDecodeError as err:
        raise error(f"{where} is not valid JSON ({err}). {fix}") from err
    except RecursionError as err:  # the scan above follows valid JSON; this is for text that fooled it
        raise error(f"{where} is nested deeper than the JSON parser can follow. Refusing to parse it. {fix}") \
            from err
    if expect is not None and not isinstance(value, expect):
        raise error(f"{where} must hold a JSON {_json_kind(expect)}; it holds a {_json_kind(type(value))}. {fix}")
    return value


def load_json_file(path, *, member: str | None = None, expect: type | None = None,
                   error: type[Exception] = FileFormatError, fix: str = _DEFAULT_FIX,
                   max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """:func:`load_json` on a file's bytes, reading at most ``max_bytes + 1`` of them.

    A pipe or device (``/dev/zero``) is refused before it is read. ``OSError`` (a missing or unreadable file)
    is raised as it is, for the caller to word.
    """
    # O_NONBLOCK: opening a FIFO to read would otherwise wait for a writer before the check below could run.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise error(f"'{path}' is not a regular file (a pipe, socket or device); JSON is read only from "
                        f"files. {fix}")
        data = fh.read(max_bytes + 1)
    return load_json(data, source=path, member=member, expect=expect, error=error, fix=fix,
                     max_bytes=max_bytes, max_depth=max_depth)


def json_depth(data: bytes, limit: int = MAX_JSON_DEPTH) -> tuple[int, int | None]:
    """How deeply ``[``/``{`` nest outside strings in JSON text, and the byte offset where the nesting
    first passes ``limit`` (None when it never does).

    The depth is exact when it passes ``limit`` (else it is only known to be at most ``limit``). Linear in
    ``len(data)`` and vectorised, slice by slice: a quote escaped by an odd run of backslashes does not end
    a string, and brackets inside strings do not count. Text that is not valid JSON may be measured wrongly;
    the parser then refuses it.
    """
    opening = data.count(b"[") + data.count(b"{")
    if opening <= limit:  # cannot nest deeper than it opens: the common case costs two C scans
        return opening, None
    buf = np.frombuffer(data, dtype=np.uint8)
    depth = deepest = 0
    first_past = None
    in_string = False
    carried = 0  # backslashes ending the previous slice
    for start in range(0, len(buf), _SCAN_CHUNK):
        chunk = buf[start:start + _SCAN_CHUNK]
        quotes, carried = _unescaped_quotes(chunk, carried)
        folded = chunk | _FOLD
        brackets = np.flatnonzero((folded == _OPEN) | (folded == _CLOSE))
        brackets = brackets[(np.searchsorted(quotes, brackets) + in_string) % 2 == 0]
        in_string = bool((in_string + quotes.size) % 2)
        if not brackets.size:
            continue
        levels = depth + np.cumsum(np.where(folded[brackets] == _OPEN, 1, -1))
        if first_past is None and levels.max() > limit:
            first_past = start + int(brackets[int(np.argmax(levels > limit))])
        deepest = max(deepest, int(levels.max()))
        depth = int(levels[-1])
    return deepest, first_past


def _unescaped_quotes(chunk: np.ndarray, carried: int) -> tuple[np.ndarray, int]:
    """Positions of the quotes no backslash escapes, and the run of backslashes that ends the chunk.

    ``carried`` is the run of backslashes that ended the previous chunk: it continues into this one.
    """
    quotes = np.flatnonzero(chunk == _QUOTE)
    slashes = np.flatnonzero(chunk == _BACKSLASH)
    if not slashes.size:
        escaped_first = quotes.size and quotes[0] == 0 and carried % 2 == 1
        return (quotes[1:] if escaped_first else quotes), 0
    index = np.arange(slashes.size)
    run_starts = np.flatnonzero(np.diff(slashes, prepend=-2) != 1)  # where in `slashes` each run begins
    first_of_run = run_starts[np.searchsorted(run_starts, index, side="right") - 1]
    run_so_far = index - first_of_run + 1 + np.where(slashes[first_of_run] == 0, carried, 0)
    before = np.maximum(np.searchsorted(slashes, quotes) - 1, 0)
    touching = (slashes[before] == quotes - 1)
    escaped = touching & (run_so_far[before] % 2 == 1)
    escaped |= (quotes == 0) & (carried % 2 == 1)
    tail = int(run_so_far[-1]) if slashes[-1] == chunk.size - 1 else 0
    return quotes[~escaped], tail


def _json_kind(kind: type) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number",
            type(None): "null"}.get(kind, kind.__name__)
