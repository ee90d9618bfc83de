"""Hostile model configs in every place cnnlab reads one: deep nesting, huge layer counts, weights far beyond
what the file holds, and compile configs of the wrong shape.

The places: ``config.json`` and ``metadata.json`` of a ``.cnnlab`` file, ``config.json`` of a ``.keras`` file,
the ``model_config`` and ``training_config`` attributes of a legacy ``.h5`` file, a BackupAndRestore
``state.json``, the ``config.json`` that ``cnnlab train --model`` builds, and ``model_from_json`` text. Each file
starts as one cnnlab saved from a small compiled, trained model and has only its JSON replaced. Every case must
end as a clear CnnlabError naming the file, the member and the problem (the depth, the layer count, the weight
total), within check_hostile's time and memory bounds, with the file unchanged.
"""

from __future__ import annotations

import json
import time
import zipfile

import numpy as np
import pytest
from robust_record import check_hostile

import cnnlab
from cnnlab import layers
from cnnlab.cli import _models as cli_models
from cnnlab.errors import ConfigError, FileFormatError
from cnnlab.io.limits import MAX_JSON_BYTES, MAX_JSON_DEPTH, MAX_LAYERS, WEIGHT_BUDGET_ENV

h5py = pytest.importorskip("h5py")

DEEP, HUGE, BUDGET, ODD = "Deep nesting", "Huge configs", "A weight budget on every path", "Odd dtypes and values"
DEPTHS = (400, 5_000, 100_000)
CLI_INPUT = (4,)  # the input shape `cnnlab train` would pass; the configs here carry their own


# ------------------------------------------------------------------------------------------------ saved files
@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> dict:
    """One small compiled and trained model saved in each format, as bytes and members."""
    folder = tmp_path_factory.mktemp("saved")
    model = cnnlab.Sequential([layers.Input((4,)), layers.Dense(3, name="dense"), layers.Dense(2, name="dense_1")])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((4, 4), "float32"), np.ones((4, 2), "float32"), epochs=1, verbose=0)
    out = {}
    for name in ("m.keras", "m.cnnlab"):
        model.save(folder / name)
        with zipfile.ZipFile(folder / name) as zf:
            out[name] = {info.filename: (zf.read(info.filename), info.compress_type) for info in zf.infolist()}
    model.save(folder / "m.h5")
    out["m.h5"] = (folder / "m.h5").read_bytes()
    out["keras_config"] = json.loads(out["m.keras"]["config.json"][0])
    out["cnnlab_config"] = json.loads(out["m.cnnlab"]["config.json"][0])
    out["metadata"] = json.loads(out["m.cnnlab"]["metadata.json"][0])
    with h5py.File(folder / "m.h5", "r") as f:
        out["h5_config"] = json.loads(f.attrs["model_config"])
        out["training"] = json.loads(f.attrs["training_config"])
    return out


def _text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def write_zip(folder, saved, name: str, **replace) -> str:
    """``name`` (m.keras or m.cnnlab) with members replaced (``config_json=`` text or a value)."""
    path = folder / name
    with zipfile.ZipFile(path, "w") as zf:
        for member, (data, compress) in saved[name].items():
            key = member.replace(".", "_")
            data = _text(replace[key]).encode() if key in replace else data
            zf.writestr(zipfile.ZipInfo(member), data, compress_type=compress)
    return str(path)


def write_h5(folder, saved, **attrs) -> str:
    """The legacy ``.h5`` file with root attributes replaced (``model_config=``, ``training_config=``)."""
    path = folder / "m.h5"
    path.write_bytes(saved["m.h5"])
    with h5py.File(path, "r+", libver="latest") as f:  # "latest": attributes over 64 kB
        for key, value in attrs.items():
            del f.attrs[key]
            f.attrs[key] = _text(value)
    return str(path)


def write_json(folder, value, name: str = "config.json") -> str:
    path = folder / name
    path.write_text(_text(value))
    return str(path)


# ------------------------------------------------------------------------------------------- JSON builders
def nested_lists(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


def nested_dicts(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


def with_value(config: dict, text: str) -> str:
    """``config`` as JSON with its first layer's ``units`` replaced by the raw JSON ``text``."""
    marker = "__HOSTILE__"
    config = json.loads(json.dumps(config))
    first = next(layer for layer in config["config"]["layers"] if layer["class_name"] == "Dense")
    first["config"]["units"] = marker
    return json.dumps(config).replace(f'"{marker}"', text)


def nested_sequentials(depth: int, keras: bool = True) -> str:
    """A Sequential inside a Sequential inside ... ``depth`` times, around one Dense layer."""
    envelope = '"module": "keras", ' if keras else ""
    open_one = '{' + envelope + '"class_name": "Sequential", "config": {"name": "s", "layers": ['
    dense = '{' + envelope + '"class_name": "Dense", "config": {"name": "d", "units": 2}}'
    return open_one * depth + dense + "]}}" * depth


def dense_entry(units: int, name: str, keras: bool) -> dict:
    entry = {"class_name": "Dense", "config": {"name": name, "units": units}}
    return {"module": "keras.layers", **entry, "registered_name": None} if keras else entry


def sequential(units: list[int], keras: bool = True, inputs: int = 4) -> dict:
    """A Sequential config of Dense layers, in Keras 3's form or cnnlab's."""
    layers_ = [dense_entry(u, f"dense_{i}", keras) for i, u in enumerate(units)]
    config = {"name": "s", "layers": layers_, "build_input_shape": [None, inputs]}
    return {"module": "keras", "class_name": "Sequential", "config": config, "registered_name": None} if keras \
        else {"class_name": "Sequential", "config": config}


def functional(n: int) -> dict:
    """A Keras 3 functional config: Input -> Dense x n, a chain (without the optional module envelope)."""
    entries = [{"class_name": "InputLayer", "name": "in", "inbound_nodes": [],
                "config": {"name": "in", "batch_shape": [None, 4]}}]
    prev = "in"
    for i in range(n):
        call = {"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": [prev, 0, 0]}}],
                "kwargs": {}}
        entries.append({"class_name": "Dense", "name": f"d{i}",
                        "config": {"name": f"d{i}", "units": 4}, "inbound_nodes": [call]})
        prev = f"d{i}"
    return {"module": "keras.src.models.functional", "class_name": "Functional", "registered_name": "Functional",
            "config": {"name": "f", "layers": entries, "input_layers": ["in", 0, 0], "output_layers": [prev, 0, 0]}}


# --------------------------------------------------------------------------------------------- the places
def keras_file(folder, saved, config):
    return write_zip(folder, saved, "m.keras", config_json=config)


def cnnlab_file(folder, saved, config):
    return write_zip(folder, saved, "m.cnnlab", config_json=config)


def h5_file(folder, saved, config):
    return write_h5(folder, saved, model_config=config)


def load(path):
    return lambda: cnnlab.models.load_model(path)


def cli_build(path):
    return lambda: cli_models.build(path, CLI_INPUT, 10)


# (label, write(folder, saved, config text), what reads it, the member named in the message)
MODEL_PLACES = [
    ("a .keras config.json", keras_file, load, r"m\.keras': config\.json"),
    ("a .cnnlab config.json", cnnlab_file, load, r"m\.cnnlab': config\.json"),
    ("a legacy .h5 model_config", h5_file, load, r"m\.h5': model_config attribute"),
    ("cnnlab train --model config.json", lambda folder, saved, config: write_json(folder, config), cli_build,
     r"config\.json'"),
]
KERAS_FORM = {"a .cnnlab config.json": False, "cnnlab train --model config.json": False}


def base_config(saved, label: str) -> dict:
    return saved["cnnlab_config"] if not KERAS_FORM.get(label, True) else saved["keras_config"]


# -------------------------------------------------------------------------------------------- Deep nesting
@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("kind", ["lists", "dicts"])
@pytest.mark.parametrize("place", MODEL_PLACES, ids=[p[0] for p in MODEL_PLACES])
def test_deeply_nested_values_in_a_model_config_are_refused_with_the_depth(saved, tmp_path, place, kind, depth):
    label, write, reader, member = place
    value = (nested_lists if kind == "lists" else nested_dicts)(depth)
    path = write(tmp_path, saved, with_value(base_config(saved, label), value))
    # The value sits five levels down: the entry, its config, the layers list, a layer, its config.
    check_hostile(DEEP, f"{label}: {kind} nested {depth} levels", reader(path), FileFormatError,
                  rf"{member} is nested {depth + 5} levels", watch=(path,))


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("place", MODEL_PLACES, ids=[p[0] for p in MODEL_PLACES])
def test_sequential_inside_sequential_deep_is_refused_with_the_depth(saved, tmp_path, place, depth):
    label, write, reader, member = place
    path = write(tmp_path, saved, nested_sequentials(depth, keras=KERAS_FORM.get(label, True)))
    check_hostile(DEEP, f"{label}: Sequential inside Sequential {depth} levels", reader(path), FileFormatError,
                  rf"{member} is nested {3 * depth + 2} levels", watch=(path,))


@pytest.mark.parametrize("depth", DEPTHS)
def test_deep_metadata_json_is_refused(saved, tmp_path, depth):
    path = write_zip(tmp_path, saved, "m.cnnlab", metadata_json=nested_dicts(depth))
    check_hostile(DEEP, f"a .cnnlab metadata.json: dicts nested {depth} levels", load(path), FileFormatError,
                  rf"m\.cnnlab': metadata\.json is nested {depth} levels", watch=(path,))


@pytest.mark.parametrize("depth", DEPTHS)
def test_deep_training_config_is_refused(saved, tmp_path, depth):
    path = write_h5(tmp_path, saved, training_config=nested_lists(depth))
    check_hostile(DEEP, f"a legacy .h5 training_config: lists nested {depth} levels", load(path), FileFormatError,
                  rf"m\.h5': training_config attribute is nested {depth} levels", watch=(path,))


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("kind", ["lists", "dicts"])
def test_deep_backup_state_json_is_refused(tmp_path, kind, depth):
    backup = tmp_path / "backup"
    backup.mkdir()
    (backup / "state.json").write_text((nested_lists if kind == "lists" else nested_dicts)(depth))
    model = cnnlab.Sequential([layers.Input((4,)), layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((4, 4), "float32"), np.ones((4, 2), "float32")

    def resume():
        model.fit(x, y, epochs=1, verbose=0, callbacks=[cnnlab.callbacks.BackupAndRestore(str(backup))])

    check_hostile(DEEP, f"a BackupAndRestore state.json: {kind} nested {depth} levels", resume, FileFormatError,
                  rf"state\.json is nested {depth} levels", watch=(backup,))


@pytest.mark.parametrize("depth", (400, 100_000))
def test_deep_model_from_json_text_is_refused(depth):
    check_hostile(DEEP, f"model_from_json text: lists nested {depth} levels",
                  lambda: cnnlab.models.model_from_json(nested_lists(depth)), ConfigError,
                  rf"nested {depth} levels")


def test_strings_full_of_brackets_do_not_count_as_nesting(saved, tmp_path):
    config = json.loads(json.dumps(saved["keras_config"]))
    config["config"]["name"] = '[{\\"' * 5_000  # brackets and escaped quotes inside a string are text
    path = keras_file(tmp_path, saved, config)
    check_hostile(DEEP, "a .keras config.json: a name of 20,000 brackets and escaped quotes (loads)",
                  load(path), None, watch=(path,))


def test_models_nested_within_the_depth_bound_load(saved, tmp_path):
    depth = (MAX_JSON_DEPTH - 4) // 3  # each nested Sequential is three JSON levels: entry, config, layers
    config = json.loads(nested_sequentials(depth))
    config["config"]["build_input_shape"] = [None, 4]
    path = write_json(tmp_path, config)
    check_hostile(DEEP, f"cnnlab train --model config.json: {depth} nested Sequentials (builds)", cli_build(path),
                  None, watch=(path,))


# ------------------------------------------------------------------------------------------- Huge configs
@pytest.mark.parametrize("count", (MAX_LAYERS + 1, 50_000))
@pytest.mark.parametrize("place", MODEL_PLACES, ids=[p[0] for p in MODEL_PLACES])
def test_sequential_configs_with_too_many_layers_are_refused_before_building(saved, tmp_path, place, count):
    label, write, reader, member = place
    path = write(tmp_path, saved, sequential([1] * count, keras=KERAS_FORM.get(label, True)))
    check_hostile(HUGE, f"{label}: a Sequential of {count} layers", reader(path), FileFormatError,
                  rf"{member.split(':')[0]}.* describes {count} layers", watch=(path,))


def test_a_functional_config_with_too_many_layers_is_refused(saved, tmp_path):
    path = keras_file(tmp_path, saved, functional(MAX_LAYERS))  # plus its InputLayer: one over
    check_hostile(HUGE, f"a .keras config.json: a functional chain of {MAX_LAYERS + 1} layers", load(path),
                  FileFormatError, rf"config\.json describes {MAX_LAYERS + 1} layers", watch=(path,))


def test_layers_of_nested_models_count_together(saved, tmp_path):
    inner = [sequential([1] * 5_000) for _ in range(5)]
    config = {"module": "keras", "class_name": "Sequential", "registered_name": None,
              "config": {"name": "outer", "layers": inner, "build_input_shape": [None, 4]}}
    path = keras_file(tmp_path, saved, config)
    check_hostile(HUGE, "a .keras config.json: 5 nested Sequentials of 5,000 layers each", load(path),
                  FileFormatError, r"describes 25005 layers \(nested models included\)", watch=(path,))


@pytest.mark.parametrize("place", ["a .keras config.json", "cnnlab train --model config.json"])
def test_json_over_the_size_bound_is_refused_before_parsing(saved, tmp_path, place):
    text = '{"class_name": "Sequential", "config": {"name": "' + " " * MAX_JSON_BYTES + '"}}'
    if place.startswith("a .keras"):
        path, call, where = keras_file(tmp_path, saved, text), load, r"config\.json"
    else:
        path, call, where = write_json(tmp_path, text), cli_build, r"config\.json'"
    check_hostile(HUGE, f"{place}: {len(text) >> 20} MiB of JSON", call(path), FileFormatError,
                  rf"{where}.*(declares \d+ bytes|expands beyond|more than the {MAX_JSON_BYTES})", watch=(path,))


def test_loading_a_long_config_takes_time_linear_in_its_length():
    def seconds(n: int, make) -> float:
        config = make(n)
        start = time.perf_counter()
        cnnlab.models.model_from_json(json.dumps(config))
        return time.perf_counter() - start

    for make in (lambda n: sequential([2] * n, keras=False), functional):
        small, large = seconds(500, make), seconds(2_000, make)
        assert large < 8 * small, f"4x the layers took {large / small:.1f}x the time: not linear"


# --------------------------------------------------------------------------------- A weight budget on every path
# (case, layer entries after a (None, 4) input, the bytes the message must name): far beyond a 10 kB file.
BUDGETS = [
    ("Dense(units=10**7)", [dense_entry(10**7, "big", True)], 4 * (4 * 10**7 + 10**7)),
    ("Conv2D(filters=10**6)", [{"module": "keras.layers", "class_name": "Reshape", "registered_name": None,
                                "config": {"name": "r", "target_shape": [2, 2, 1]}},
                               {"module": "keras.layers", "class_name": "Conv2D", "registered_name": None,
                                "config": {"name": "big", "filters": 10**6, "kernel_size": [1, 1]}}],
     4 * (10**6 + 10**6)),
    ("40 x Dense(1000): each small, together 156 MB", [dense_entry(1000, f"d{i}", True) for i in range(40)],
     4 * (4 * 1000 + 1000 + 39 * (1000 * 1000 + 1000))),
    ("Dense(units=10**7) inside a nested Sequential",
     [{"module": "keras", "class_name": "Sequential", "registered_name": None,
       "config": {"name": "inner", "layers": [dense_entry(10**7, "big", True)]}}], 4 * (4 * 10**7 + 10**7)),
]


def _with_layers(entries: list, keras: bool) -> dict:
    config = sequential([], keras=keras)
    config["config"]["layers"] = [e if keras else _cnnlab_form(e) for e in entries]
    return config


def _cnnlab_form(entry: dict) -> dict:
    """A Keras 3 layer entry in cnnlab's own form (no module envelope), nested models too."""
    config = dict(entry["config"])
    if "layers" in config:
        config["layers"] = [_cnnlab_form(e) for e in config["layers"]]
    return {"class_name": entry["class_name"], "config": config}


@pytest.mark.parametrize("budget", BUDGETS, ids=[b[0] for b in BUDGETS])
@pytest.mark.parametrize("place", MODEL_PLACES[:3], ids=[p[0] for p in MODEL_PLACES[:3]])
def test_weights_beyond_what_the_file_holds_are_refused_before_allocating(saved, tmp_path, place, budget):
    label, write, reader, member = place
    name, entries, total = budget
    path = write(tmp_path, saved, _with_layers(entries, KERAS_FORM.get(label, True)))
    check_hostile(BUDGET, f"{label}: {name}", reader(path), FileFormatError,
                  rf"{member.split(':')[0]}: the config asks for \d+ weights .* of {total} bytes .*more than the "
                  r"weights the file holds", watch=(path,))


CONFIG_BUDGETS = [
    ("Dense(units=10**7) over a stated limit of 16 MiB", [dense_entry(10**7, "big", False)],
     4 * (4 * 10**7 + 10**7)),
    ("two Conv2D(filters=10**6)", [
        {"class_name": "Reshape", "config": {"name": "r", "target_shape": [2, 2, 1]}},
        {"class_name": "Conv2D", "config": {"name": "c1", "filters": 10**6, "kernel_size": 1}},
        {"class_name": "Conv2D", "config": {"name": "c2", "filters": 10**6, "kernel_size": 1}}],
     4 * (2 * 10**6 + 10**12 + 10**6)),
    # Each layer fits under the 8 GiB default, so a per-weight check would allocate 7.2 GB before refusing.
    ("3 x Dense(30000) on 30000 inputs: 10.8 GB, each under the limit",
     [dense_entry(30_000, f"d{i}", False) for i in range(3)], 4 * 3 * (30_000 * 30_000 + 30_000)),
]


@pytest.mark.parametrize("budget", CONFIG_BUDGETS, ids=[b[0] for b in CONFIG_BUDGETS])
def test_a_config_alone_is_held_to_the_stated_weight_limit(tmp_path, monkeypatch, budget):
    name, entries, total = budget
    if "16 MiB" in name:
        monkeypatch.setenv(WEIGHT_BUDGET_ENV, str(16 << 20))  # the stated limit, lowered to 16 MiB
    config = _with_layers(entries, keras=False)
    config["config"]["build_input_shape"] = [None, 30_000 if name.startswith("3 x") else 4]
    path = write_json(tmp_path, config)
    check_hostile(BUDGET, f"cnnlab train --model config.json: {name}", cli_build(path), FileFormatError,
                  rf"config\.json': the config asks for \d+ weights .* of {total} bytes .*more than the limit on "
                  rf"weights built from a config alone \(\${WEIGHT_BUDGET_ENV}\)", watch=(path,))


def test_cnnlab_train_refuses_the_config_and_writes_no_run_folder(tmp_path, capsys):
    from cnnlab.cli.main import main

    path = write_json(tmp_path, _with_layers([dense_entry(10**6, f"d{i}", False) for i in range(3)], keras=False))
    out = tmp_path / "run"
    assert main(["train", "--model", path, "--data", "digits", "--epochs", "1", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "the config asks for" in err and "CNNLAB_MAX_WEIGHT_BYTES" in err
    assert not out.exists()


def test_a_config_within_the_limit_still_trains_from_cnnlab_train(tmp_path):
    path = write_json(tmp_path, sequential([8, 3], keras=False))
    model = cli_models.build(path, CLI_INPUT, 3)
    assert [w.shape for w in model.get_weights()] == [(4, 8), (8,), (8, 3), (3,)]


def test_a_refused_plan_leaves_the_automatic_layer_names_as_they_were(tmp_path):
    path = write_json(tmp_path, _with_layers([{"class_name": "Dense", "config": {"units": 10**9}}], keras=False))
    before = layers.Dense(1).name
    with pytest.raises(FileFormatError):
        cli_build(path)()
    count = int(before.rsplit("_", 1)[-1]) if "_" in before else 0
    assert layers.Dense(1).name == f"dense_{count + 1}"


# ------------------------------------------------------------------------------- Odd dtypes and values (compile)
# (case, compile_config, the problem named for .keras/.cnnlab, for a legacy .h5 training_config)
COMPILE_CONFIGS = [
    ("a string", "adam", r"must be an object .* it holds a string", r"must hold a JSON object"),
    ("a list", ["adam", "mse"], r"must be an object .* it holds a JSON array", r"must hold a JSON object"),
    ("no optimizer", {"loss": "mse", "metrics": None}, r"has no 'optimizer'", r"has no 'optimizer_config'"),
    ("a number as optimizer", {"optimizer": 5, "loss": "mse"}, r"key 'optimizer' must be an optimizer",
     r"key 'optimizer_config' must be an optimizer"),
]


@pytest.mark.parametrize("odd", COMPILE_CONFIGS, ids=[c[0] for c in COMPILE_CONFIGS])
@pytest.mark.parametrize("fmt", [".keras", ".cnnlab", ".h5"])
def test_a_compile_config_of_the_wrong_shape_is_refused_naming_the_key(saved, tmp_path, fmt, odd):
    name, value, problem, h5_problem = odd
    if fmt == ".keras":
        path = keras_file(tmp_path, saved, dict(saved["keras_config"], compile_config=value))
        where = r"m\.keras': config\.json key 'compile_config'"
    elif fmt == ".cnnlab":
        path = write_zip(tmp_path, saved, "m.cnnlab", metadata_json=dict(saved["metadata"], compile_config=value))
        where = r"m\.cnnlab': metadata\.json key 'compile_config'"
    else:
        if isinstance(value, dict):  # a legacy .h5 names the optimizer optimizer_config
            value = {("optimizer_config" if k == "optimizer" else k): v for k, v in value.items()}
        path = write_h5(tmp_path, saved, training_config=json.dumps(value))
        where, problem = r"m\.h5': training_config", h5_problem
    check_hostile(ODD, f"{fmt} compile config: {name}", load(path), FileFormatError, f"{where}.*{problem}",
                  watch=(path,))


@pytest.mark.parametrize("fmt", [".keras", ".cnnlab"])
def test_an_odd_compile_config_is_ignored_with_compile_false(saved, tmp_path, fmt):
    if fmt == ".keras":
        path = keras_file(tmp_path, saved, dict(saved["keras_config"], compile_config="adam"))
    else:
        path = write_zip(tmp_path, saved, "m.cnnlab", metadata_json=dict(saved["metadata"], compile_config="adam"))
    check_hostile(ODD, f"{fmt} compile config: a string, loaded with compile=False",
                  lambda: cnnlab.models.load_model(path, compile=False), None, watch=(path,))


@pytest.mark.parametrize("fmt", [".keras", ".cnnlab"])
def test_an_empty_compile_config_loads_uncompiled_as_in_keras(saved, tmp_path, fmt):
    if fmt == ".keras":  # Keras 3 writes {} for a model that was never compiled
        path = keras_file(tmp_path, saved, dict(saved["keras_config"], compile_config={}))
    else:
        path = write_zip(tmp_path, saved, "m.cnnlab", metadata_json=dict(saved["metadata"], compile_config={}))
    check_hostile(ODD, f"{fmt} compile config: {{}} (never compiled), loads uncompiled", load(path), None,
                  watch=(path,))


def test_a_config_json_that_is_a_fifo_is_refused_without_blocking(tmp_path):
    import os

    path = tmp_path / "config.json"
    os.mkfifo(path)
    check_hostile(HUGE, "cnnlab train --model config.json: a FIFO (reading would wait forever)", cli_build(str(path)),
                  FileFormatError, r"config\.json' is not a regular file")
