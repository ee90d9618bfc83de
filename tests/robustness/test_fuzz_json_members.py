"""Fuzz the JSON structure of every format cnnlab reads: only CnnlabErrors, fast, bounded memory.

The JSON slots: ``config.json`` and ``metadata.json`` of a ``.cnnlab`` and of a ``.keras`` file, the
``model_config`` and ``training_config`` attributes of a legacy ``.h5``, and a BackupAndRestore ``state.json``.
Each example replaces the whole document, or one node found along a random path, with a random JSON value
(deeply nested ones included). ``CNNLAB_FUZZ_EXAMPLES`` scales the count (``make fuzz-long``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from robust_record import check_hostile, record

import cnnlab
from cnnlab import callbacks, layers
from cnnlab.errors import CnnlabError

EXAMPLES = int(os.environ.get("CNNLAB_FUZZ_EXAMPLES", "150")) // 3
FUZZ = settings(max_examples=EXAMPLES, deadline=3000, suppress_health_check=list(HealthCheck), database=None)
COUNTS: dict[str, int] = {}

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True),
                    st.text(max_size=12), st.sampled_from(["Dense", "Sequential", "relu", "float32", "adam", ""]))
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                             st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                           max_leaves=24)


class Deep:
    """Lists nested ``depth`` levels, spliced in as text (json itself cannot build or write them that deep)."""

    def __init__(self, depth: int) -> None:
        self.depth = depth


DEEP = st.integers(50, 5000).map(Deep)
REPLACEMENT = st.one_of(JSON_VALUES, DEEP)
PATH = st.lists(st.integers(0, 50), max_size=8)  # picks a child at each level, modulo the children there


def _dumps(document) -> str:
    """JSON text of ``document``, with each :class:`Deep` written as its nested brackets."""
    deep: list[Deep] = []

    def mark(node):
        if isinstance(node, Deep):
            deep.append(node)
            return f"__deep_{len(deep) - 1}__"
        if isinstance(node, list):
            return [mark(item) for item in node]
        if isinstance(node, dict):
            return {key: mark(item) for key, item in node.items()}
        return node

    text = json.dumps(mark(document), allow_nan=True)
    for i, node in enumerate(deep):
        text = text.replace(f'"__deep_{i}__"', "[" * node.depth + "]" * node.depth, 1)
    return text


def _replace(document, path: list[int], value):
    """``document`` with the node reached by ``path`` (or the whole document, for an empty path) replaced."""
    if not path or not isinstance(document, (dict, list)) or not document:
        return value
    keys = list(document) if isinstance(document, dict) else list(range(len(document)))
    key = keys[path[0] % len(keys)]
    document[key] = _replace(document[key], path[1:], value)
    return document


def _model():
    model = cnnlab.Sequential([layers.Input((4,)), layers.Dense(3, activation="softmax", name="out")])
    model.compile(cnnlab.optimizers.Adam(name="adam"), "sparse_categorical_crossentropy", device="cpu")
    model.fit(np.ones((2, 4), "float32"), np.array([0, 1]), verbose=0)
    return model


def _seeds() -> dict:
    """Valid files of each format, written once, with their JSON documents."""
    root = Path(tempfile.mkdtemp(prefix="cnnlab-json-fuzz-"))
    model = _model()
    seeds = {}
    for suffix in (".cnnlab", ".keras"):
        path = root / f"m{suffix}"
        model.save(path)
        with zipfile.ZipFile(path) as zf:
            seeds[suffix] = {name: zf.read(name) for name in zf.namelist()}
    model.save(root / "m.h5")
    seeds[".h5"] = (root / "m.h5").read_bytes()
    backup = callbacks.BackupAndRestore(root / "backup", delete_checkpoint=False)
    backup.set_model(model)
    backup.on_epoch_end(0)
    seeds["backup"] = root / "backup"
    return seeds


SEEDS = _seeds()


@pytest.fixture(scope="module", autouse=True)
def report_counts():
    yield
    for name, count in COUNTS.items():
        record("fuzz", target=name, inputs=count)


def _only_cnnlab_errors(call, name: str) -> None:
    COUNTS[name] = COUNTS.get(name, 0) + 1
    try:
        call()
    except CnnlabError:
        pass


def _zip_with(tmp: Path, suffix: str, member: str, document) -> Path:
    path = tmp / f"fuzz{suffix}"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in SEEDS[suffix].items():
            zf.writestr(name, _dumps(document) if name == member else data)
    return path


@FUZZ
@given(st.sampled_from([(".cnnlab", "config.json"), (".cnnlab", "metadata.json"), (".keras", "config.json"),
                        (".keras", "metadata.json")]), PATH, REPLACEMENT)
def test_zip_json_members_fuzz_raises_only_cnnlab_errors(tmp_path_factory, slot, path, value):
    suffix, member = slot
    document = _replace(json.loads(SEEDS[suffix][member]), path, value)
    target = _zip_with(tmp_path_factory.getbasetemp(), suffix, member, document)
    _only_cnnlab_errors(lambda: cnnlab.load_model(target), f"JSON structure of {suffix} {member}")


@FUZZ
@given(st.sampled_from(["model_config", "training_config"]), PATH, REPLACEMENT)
def test_legacy_h5_json_attributes_fuzz_raises_only_cnnlab_errors(tmp_path_factory, attribute, path, value):
    target = tmp_path_factory.getbasetemp() / "fuzz.h5"
    target.write_bytes(SEEDS[".h5"])
    with h5py.File(target, "r+") as f:
        document = _replace(json.loads(f.attrs[attribute]), path, value)
        f.attrs[attribute] = _dumps(document)
    _only_cnnlab_errors(lambda: cnnlab.load_model(target), f"JSON structure of .h5 {attribute}")


@FUZZ
@given(PATH, REPLACEMENT)
def test_backup_state_json_fuzz_raises_only_cnnlab_errors(tmp_path_factory, path, value):
    folder = tmp_path_factory.getbasetemp() / "fuzz-backup"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(SEEDS["backup"], folder)
    document = _replace(json.loads((folder / "state.json").read_text()), path, value)
    (folder / "state.json").write_text(_dumps(document))

    def restore():
        backup = callbacks.BackupAndRestore(folder)
        backup.set_model(_model())
        backup.set_params({"epochs": 3, "steps": 1, "verbose": 0})
        backup.on_train_begin()

    _only_cnnlab_errors(restore, "JSON structure of a backup state.json")


def test_a_deeply_nested_document_in_each_zip_slot_is_refused_in_bounded_time_and_memory(tmp_path):
    # A .keras file's metadata.json is never parsed (it only records Keras's version): the fuzzer still covers it.
    for suffix, member in [(".cnnlab", "config.json"), (".cnnlab", "metadata.json"), (".keras", "config.json")]:
        target = _zip_with(tmp_path, suffix, member, Deep(100_000))
        check_hostile("Deep nesting", f"{suffix} {member}: 100,000 nested lists (fuzz seed)",
                      lambda: cnnlab.load_model(target), cnnlab.errors.FileFormatError, r"nested \d+ levels",
                      watch=(target,))
