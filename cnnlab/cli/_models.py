"""What ``--model`` / ``MODEL`` names: a zoo name, a ``.py`` file, a ``config.json``, a ``.cnnlab`` file or a run folder."""

from __future__ import annotations

import inspect
import os
import runpy
from typing import Any

from cnnlab import zoo
from cnnlab.errors import ConfigError, DatasetNotFoundError, unknown_name

RUN_MODEL_FILE = "model.cnnlab"


def _kind(spec: str) -> str:
    if os.path.isdir(spec):
        return "run"
    for suffix, kind in ((".py", "python"), (".json", "config"), (".cnnlab", "saved")):
        if spec.endswith(suffix):
            return kind
    return "zoo"


def build(spec: str, input_shape: tuple[int, int, int], num_classes: int, **zoo_options: Any):
    """A new (or, for a ``.cnnlab`` file or run folder, a trained) model for images of ``input_shape``."""
    kind = _kind(spec)
    if kind == "zoo":
        if not zoo.is_model(spec):
            raise unknown_name("model", spec, zoo.list_models(),
                               where="--model (a zoo name, file.py, config.json or model.cnnlab)")
        return zoo.create_model(spec, input_shape=tuple(input_shape), num_classes=num_classes, **zoo_options)
    if zoo_options:
        raise ConfigError(f"--variants other than 'none' apply to zoo models only; '{spec}' is a {kind} file. "
                          "Use a zoo name, or --variants none.")
    if kind == "python":
        return _from_python(spec, input_shape, num_classes)
    if kind == "config":
        return _from_config(spec, input_shape)
    return load_trained(spec)


def load_trained(spec: str):
    """A trained model: a ``.cnnlab`` file or a run folder holding ``model.cnnlab``."""
    from cnnlab.models import load_model

    path = os.path.join(spec, RUN_MODEL_FILE) if os.path.isdir(spec) else spec
    if os.path.isdir(spec) and not os.path.isfile(path):
        raise DatasetNotFoundError(f"'{spec}' is a folder without {RUN_MODEL_FILE}; give a run folder written by "
                                   "'cnnlab train' or a .cnnlab file.")
    if not path.endswith(".cnnlab"):
        hint = " (a zoo name builds an untrained model; train it first with 'cnnlab train')" if zoo.is_model(spec) else ""
        raise ConfigError(f"'{spec}' is not a trained model{hint}. Give a .cnnlab file or a run folder.")
    return load_model(path)


def _from_python(path: str, input_shape, num_classes: int):
    if not os.path.isfile(path):
        raise DatasetNotFoundError(f"--model: the file '{path}' does not exist.")
    namespace = runpy.run_path(path, run_name="cnnlab_user_model")  # the user's own code, run on purpose
    build_model = namespace.get("build_model")
    if not callable(build_model):
        raise ConfigError(f"--model: '{path}' must define a function build_model() returning a model "
                          "(it may take input_shape and num_classes keywords).")
    accepted = inspect.signature(build_model).parameters
    kwargs = {k: v for k, v in (("input_shape", tuple(input_shape)), ("num_classes", num_classes)) if k in accepted}
    model = build_model(**kwargs)
    if not hasattr(model, "compile"):
        raise ConfigError(f"--model: build_model() in '{path}' returned a {type(model).__name__}, not a cnnlab model.")
    _ensure_built(model, input_shape)
    return model


def _from_config(path: str, input_shape):
    from cnnlab.io.config_checks import build_within_budget, check_layer_count, config_weight_budget
    from cnnlab.io.registry import layer_from_config
    from cnnlab.io.safe_json import load_json_file

    fix = "Give --model a config.json written from model.get_config() (as {\"class_name\": ..., \"config\": ...})."
    try:
        entry = load_json_file(path, expect=dict, fix=fix)
    except FileNotFoundError as err:
        raise DatasetNotFoundError(f"--model: the file '{path}' does not exist.") from err
    check_layer_count(entry, source=path)

    def build():
        model = layer_from_config(entry)  # only cnnlab's own classes: no code runs from the file
        _ensure_built(model, input_shape)
        return model

    # No file backs these weights: plan them on the meta device first, or building would itself be the harm.
    limit, backing, budget_fix = config_weight_budget()
    return build_within_budget(build, limit, source=path, backing=backing, fix=budget_fix, plan_first=True)


def _ensure_built(model: Any, input_shape) -> None:
    if not model.built:
        model.build((None, *input_shape))


def describe(spec: str) -> str:
    """A short name for a model spec, used for default run folder names."""
    base = os.path.basename(os.path.normpath(spec))
    return base.removesuffix(".py").removesuffix(".json").removesuffix(".cnnlab") or "model"
