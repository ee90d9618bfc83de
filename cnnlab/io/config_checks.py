"""Checks on a model config read from a file, made before the model is built (trust: bounded time and memory).

- :func:`check_layer_count`: at most ``MAX_LAYERS`` layers, nested models included, counted before building.
- :func:`build_within_budget`: the weights a config creates are bounded by what backs them, the weights its file
  holds or, for a config alone, :func:`~cnnlab.io.limits.max_weight_bytes`.
- :func:`checked_compile_config`: a compile config is an object naming an optimizer.

How the weight budget is computed. Every weight's shape is learnt by building the model on PyTorch's ``meta``
device, where tensors have shapes and dtypes but no storage: the same code path as the real build (each layer's
``build`` and shape inference), so no second, analytical copy of every layer's weight arithmetic can drift from
it. The total is compared with the budget and refused, naming it, before anything is allocated; then the model is
built for real. The meta build costs about as much as the real one (plus ~0.5 s the first time a process uses
PyTorch's meta kernels), so a path whose budget is backed by a file's stored weights does not pay it up front:
there the real build runs under ``layers.base.weight_budget``, which checks each weight against what is left of
the budget before allocating it (so no more than the file holds is ever allocated), and the meta plan only
words the refusal with the total.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from cnnlab.errors import FileFormatError
from cnnlab.io.limits import (
    MAX_LAYERS,
    WEIGHT_BUDGET_ENV,
    WEIGHT_BUDGET_SLACK_BYTES,
    max_weight_bytes,
    weight_budget_check,
)
from cnnlab.layers import base as _layer_base
from cnnlab.layers.base import weight_budget

_FILE_FIX = "The file is corrupt or crafted; re-save the model from its source."


# --------------------------------------------------------------------------------------------- layer count
def count_layers(entry: Any) -> int:
    """Layer entries in a model config (``config.layers`` lists), nested models' layers included."""
    count, pending = 0, [entry]
    while pending:
        item = pending.pop()
        config = item.get("config") if isinstance(item, dict) else None
        layers = config.get("layers") if isinstance(config, dict) else None
        if isinstance(layers, list):
            count += len(layers)
            pending.extend(layers)
    return count


def check_layer_count(entry: Any, *, source, member: str | None = None) -> int:
    """Refuse a config of more than ``MAX_LAYERS`` layers before any is built; return the count.

    Raises:
        FileFormatError: naming the file, the member and the count.
    """
    count = count_layers(entry)
    if count > MAX_LAYERS:
        where = f"'{source}': {member}" if member else f"'{source}'"
        raise FileFormatError(f"{where} describes {count} layers (nested models included), more than the "
                              f"{MAX_LAYERS} cnnlab builds from a file (io/limits.py MAX_LAYERS). Refusing to build "
                              f"it. {_FILE_FIX}")
    return count


# --------------------------------------------------------------------------------------------- weight budget
@dataclass(frozen=True)
class WeightPlan:
    """What a model built from a config would allocate: weights and other tensor state, in bytes."""

    total: int
    count: int
    largest: str  # "layer 'dense' kernel (784, 10000000) float32", for messages


def plan_weights(build: Callable[[], Any]) -> WeightPlan:
    """Run ``build()`` on the meta device and sum the bytes of every parameter and buffer of what it returns.

    Nothing is allocated and nothing visible changes: automatic layer names and the global RNG are as before.
    Raises whatever ``build`` raises.
    """
    with _names_kept(), torch.random.fork_rng(devices=[]), torch.device("meta"), _StayOnMeta():
        model = build()
    total, count, largest, largest_bytes = 0, 0, "", -1
    tensors = {}
    for name, tensor in (*model.named_parameters(), *model.named_buffers()):
        tensors.setdefault(id(tensor), (name, tensor))
    for variable in getattr(model, "weights", []):
        tensors[id(variable.value)] = (variable.path, variable.value)
    for name, tensor in tensors.values():
        nbytes = tensor.numel() * tensor.element_size()
        total, count = total + nbytes, count + 1
        if nbytes > largest_bytes:
            layer, _, weight = name.rpartition("/")
            owner = f"layer '{layer}' {weight}" if layer else weight
            largest = f"{owner} {tuple(tensor.shape)} {str(tensor.dtype).removeprefix('torch.')}"
            largest_bytes = nbytes
    return WeightPlan(total, count, largest)


@contextlib.contextmanager
def _names_kept():
    """Automatic layer names (``dense``, ``dense_1``, ...) as they were before the block: a plan, or a build
    that failed, leaves no trace in the names the user's next layers get."""
    names = dict(_layer_base._NAME_COUNTS)
    try:
        yield
    finally:
        _restore_names(names)


def _restore_names(names: dict) -> None:
    _layer_base._NAME_COUNTS.clear()
    _layer_base._NAME_COUNTS.update(names)


class _StayOnMeta(TorchFunctionMode):
    """``tensor.to(device)``/``.cpu()`` keep a meta tensor on meta (changing only its dtype): layers move a new
    weight to their device, which for the first weight of a layer is the CPU."""

    _MOVES = (torch.Tensor.to, torch.Tensor.cpu, torch.Tensor.cuda)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in self._MOVES and args and isinstance(args[0], torch.Tensor) and args[0].is_meta:
            dtype = kwargs.get("dtype") or next((a for a in args[1:] if isinstance(a, torch.dtype)), None)
            return args[0] if dtype in (None, args[0].dtype) else args[0].to(device="meta", dtype=dtype)
        return func(*args, **kwargs)


def build_within_budget(build: Callable[[], Any], available: int, *, source, backing: str,
                        fix: str = _FILE_FIX, plan_first: bool = False):
    """``build()``, refused before allocating when its weights need more than ``available`` bytes.

    Args:
        build: builds the model from the config (and builds its weights).
        available: the bytes of weights that back the config.
        source: the file, named in every message (a ``FileFormatError`` from the build gets it too).
        backing: what ``available`` is, for the message.
        fix: the sentence that says what to do when refused.
        plan_first: plan on the meta device before building: for a budget no file's content backs, where
            building up to the budget would itself be the harm.

    Raises:
        FileFormatError: the weights need more than ``available`` (the total named), or the config is bad.
    """
    if plan_first:
        plan = _plan_or_none(build)
        if plan is not None:
            _check_plan(plan, available, source, backing, fix)
    names = dict(_layer_base._NAME_COUNTS)
    try:
        with weight_budget(available):
            return build()
    except FileFormatError as err:
        _restore_names(names)
        if not plan_first:  # was it the budget? the plan says, and names the total
            plan = _plan_or_none(build)
            if plan is not None:
                _check_plan(plan, available, source, backing, fix, cause=err)
        if f"'{source}'" in str(err):
            raise
        raise FileFormatError(f"'{source}': {err}") from err  # the config alone does not say which file


def build_from_file(entry: Any, build: Callable[[], Any], *, source, member: str, stored_bytes: int):
    """``build()`` for the model config ``entry`` read from ``member`` of file ``source``, whose weights take at
    most ``stored_bytes``: the layer count is checked first, then the weights against what the file holds."""
    check_layer_count(entry, source=source, member=member)
    return build_within_budget(build, stored_bytes + WEIGHT_BUDGET_SLACK_BYTES, source=source,
                               backing=f"the weights the file holds, plus {WEIGHT_BUDGET_SLACK_BYTES >> 20} MiB for "
                                       "weights files do not store")


def _plan_or_none(build) -> WeightPlan | None:
    """The plan, or None when the config cannot be built (the real build then raises the same error, or, for a
    layer that cannot run on the meta device, builds under the per-weight budget)."""
    try:
        return plan_weights(build)
    except Exception:  # noqa: BLE001  the real build reports any failure of the config itself
        return None


def _check_plan(plan: WeightPlan, available: int, source, backing: str, fix: str, cause=None) -> None:
    what = f"the config asks for {plan.count} weights (the largest: {plan.largest})"
    try:
        weight_budget_check(plan.total, available, source=source, what=what, backing=backing, fix=fix)
    except FileFormatError as err:
        raise err from cause


def config_weight_budget() -> tuple[int, str, str]:
    """``(bytes, backing, fix)`` for a model built from a config alone, such as ``cnnlab train --model
    config.json``: :func:`~cnnlab.io.limits.max_weight_bytes`."""
    limit = max_weight_bytes()
    return (limit, f"the limit on weights built from a config alone (${WEIGHT_BUDGET_ENV})",
            f"Check the sizes in the config (units, filters, kernel_size); if the model really is this large, "
            f"set {WEIGHT_BUDGET_ENV} to a larger number of bytes.")


# ---------------------------------------------------------------------------------------- compile config
def checked_compile_config(value: Any, source, where: str, optimizer_key: str = "optimizer") -> dict | None:
    """A compile config read from a file: None (not compiled: absent, null or empty, as Keras reads it) or an
    object naming an optimizer.

    Args:
        value: the parsed JSON value.
        source: the file.
        where: the place in it, e.g. ``"config.json key 'compile_config'"``.
        optimizer_key: the key that names the optimizer (``"optimizer_config"`` in a legacy ``.h5``).

    Raises:
        FileFormatError: a string, a list or a number, or an object without a usable optimizer.
    """
    if not value and isinstance(value, (dict, list, str, type(None))):  # Keras writes {} for an uncompiled model
        return None
    fix = "Load the model with compile=False and call model.compile(...), or re-save it from its source."
    if not isinstance(value, dict):
        raise FileFormatError(f"'{source}': {where} must be an object such as {{\"{optimizer_key}\": \"adam\", "
                              f"\"loss\": ...}}; it holds a {_kind(value)}: {str(value)[:80]!r}. {fix}")
    optimizer = value.get(optimizer_key)
    if optimizer is None:
        raise FileFormatError(f"'{source}': {where} has no '{optimizer_key}' (keys: "
                              f"{', '.join(map(repr, list(value)[:10])) or 'none'}), so the model cannot be "
                              f"compiled as saved. {fix}")
    if not isinstance(optimizer, (str, dict)) or not optimizer:
        raise FileFormatError(f"'{source}': {where} key '{optimizer_key}' must be an optimizer name or its config "
                              f"object; it holds a {_kind(optimizer)}: {str(optimizer)[:80]!r}. {fix}")
    return value


def _kind(value: Any) -> str:
    return {dict: "JSON object", list: "JSON array", str: "string", bool: "boolean", int: "number",
            float: "number"}.get(type(value), type(value).__name__)
