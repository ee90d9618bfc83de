"""Fuzz the IDX reader, the model-file reader and the config parser: only CnnlabErrors, fast, bounded memory.

``CNNLAB_FUZZ_EXAMPLES`` scales the number of examples (``make fuzz-long``).
"""

from __future__ import annotations

import json
import os
import tempfile
import tracemalloc
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
