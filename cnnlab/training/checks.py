"""Checks of what users pass to ``fit``/``evaluate``: arguments, labels against the loss, class weights.

Each runs once per call (not per step) and raises a cnnlab error that names
the argument, says what was expected and got, and how to fix it.
"""

from __future__ import annotations

import numpy as np
import torch

from cnnlab.errors import ArgumentTypeError, ConfigError, DataError
from cnnlab.io.limits import MAX_CLASSES
from cnnlab.training import compile_utils as cu

VERBOSE_CHOICES = (0, 1, 2, "auto")


def positive(name: str, value) -> int:
    """``value`` as an int >= 1, else a ConfigError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name} must be a positive int (1 or more). Received: {name}={value!r}")
    return int(value)


def verbosity(verbose) -> int:
    """Keras's ``verbose``: ``"auto"`` means the progress bar (1)."""
    if verbose == "auto":
        return 1
    if isinstance(verbose, bool) or verbose not in (0, 1, 2):
        raise ConfigError(f"verbose must be 0 (silent), 1 (progress bar), 2 (one line per epoch) or 'auto'. "
                          f"Received: verbose={verbose!r}")
    return int(verbose)


def _output_units(model) -> list[int | None]:
    """The last-axis size of each output (None when unknown or not a class axis)."""
    try:
        return [t.shape[-1] if len(t.shape) == 2 else None for t in model.outputs]
    except Exception:  # subclassed models have no symbolic outputs
        layer = model._output_layer() if hasattr(model, "_output_layer") else None
        return [getattr(layer, "units", None)]


def check_labels(model, y, what: str) -> None:
    """Check labels against each output's loss: sparse vs one-hot, and class ids within the output size."""
    compiled = model._compiled_loss
    names = cu.output_names(model)
    if names is not None and not compiled.built:
        compiled.build(names)
    fns = compiled.fns if compiled.built else [compiled.single]
    targets = cu.flatten_outputs(y, compiled.names if compiled.built else None)
    for loss, target, units in zip(fns, targets, _output_units(model)):
        if loss is None or not isinstance(target, torch.Tensor):
            continue
        _check_finite_labels(target, what)
        if getattr(loss, "expects_sparse_labels", False):
            _check_sparse(loss, target, units, what)
        elif getattr(loss, "expects_one_hot", False):
            _check_one_hot(loss, target, units, what)


def _check_finite_labels(y: torch.Tensor, what: str) -> None:
    if not y.dtype.is_floating_point or bool(torch.isfinite(y).all()):
        return
    rows = ~torch.isfinite(y.reshape(len(y), -1)).all(dim=1)
    first = int(torch.nonzero(rows)[0, 0])
    value = float(y.reshape(len(y), -1)[first][~torch.isfinite(y.reshape(len(y), -1)[first])][0])
    raise DataError(f"{what}: y holds NaN or inf labels in {int(rows.sum())} of {len(y)} samples (first at sample "
                    f"{first}: {value}). Drop those samples or fix their labels, e.g. keep = np.isfinite(y); "
                    f"x, y = x[keep], y[keep]. Received: y[{first}] contains {value}")


def _check_sparse(loss, y: torch.Tensor, units, what: str) -> None:
    name = type(loss).__name__
    if y.ndim == 2 and y.shape[1] > 1:
        raise DataError(
            f"{what}: the loss {name} expects integer class labels of shape (n,), but y has shape "
            f"{tuple(y.shape)} (one-hot?). Use loss='categorical_crossentropy', or pass y.argmax(axis=1). "
            f"Received: y with shape {tuple(y.shape)}"
        )
    if y.dtype.is_floating_point and not bool(torch.equal(y, torch.round(y))):
        raise DataError(f"{what}: {name} needs whole-number class ids in y; y holds fractions. "
                        "Pass integer labels, e.g. y.astype('int64').")
    low, high = int(y.min()), int(y.max())  # one sync per fit, not per step
    if low < 0 or (units is not None and high >= units):
        top = units - 1 if units else "n-1"
        if low < 0:
            fix = "Class ids count from 0: fix the labels (e.g. y - y.min(), or np.unique(y, return_inverse=True)[1])."
        elif high < MAX_CLASSES:
            fix = f"Make the last layer Dense({high + 1}) or fix the labels (e.g. np.unique(y, return_inverse=True)[1])."
        else:  # Dense(10**10) is no fix: these are ids from somewhere else (hashes, file numbers...)
            fix = ("These are not class ids: map them to 0..classes-1, e.g. np.unique(y, return_inverse=True)[1].")
        raise DataError(
            f"{what}: labels must be class ids in [0, {top}] for an output layer of {units} units; y holds values "
            f"from {low} to {high} ({y.dtype}). {fix} Received: y.min()={low}, y.max()={high}"
        )


def _check_one_hot(loss, y: torch.Tensor, units, what: str) -> None:
    if y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1 and units not in (None, 1)):
        raise DataError(
            f"{what}: the loss {type(loss).__name__} expects one-hot labels of shape (n, {units}), but y has shape "
            f"{tuple(y.shape)}. Use loss='sparse_categorical_crossentropy' for integer labels, or "
            f"cnnlab.utils.to_categorical(y). Received: y with shape {tuple(y.shape)}"
        )


class ClassWeights:
    """A ``{class_id: weight}`` dict as a lookup table that turns labels into sample weights."""

    def __init__(self, class_weight: dict) -> None:
        if not isinstance(class_weight, dict) or not class_weight:
            raise ArgumentTypeError(
                f"class_weight must be a dict {{class_id: weight}}, e.g. {{0: 1.0, 1: 5.0}}. Received: {class_weight!r}"
            )
        bad = [k for k in class_weight if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0
               or k >= MAX_CLASSES]
        if bad:
            raise ConfigError(f"class_weight keys must be class ids (ints from 0 to {MAX_CLASSES - 1:,}). "
                              f"Received: keys {bad[:10]}")
        for key, weight in class_weight.items():
            _check_class_weight(key, weight)
        self.table = torch.zeros(max(class_weight) + 1, dtype=torch.float32)
        self.known = torch.zeros(max(class_weight) + 1, dtype=torch.bool)
        for key, weight in class_weight.items():
            self.table[int(key)] = float(weight)
            self.known[int(key)] = True

    def weights_for(self, y, sample_weight=None):
        """Per-sample weights for labels ``y`` (class ids or one-hot), times ``sample_weight`` if given."""
        labels = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y)
        ids = labels.argmax(dim=-1) if labels.ndim == 2 and labels.shape[1] > 1 else labels.reshape(-1)
        ids = ids.to(torch.int64)
        table, known = self.table.to(ids.device), self.known.to(ids.device)
        if bool((ids >= len(table)).any()) or not bool(known[ids.clamp(0, len(table) - 1)].all()):
            missing = sorted(set(ids.unique().tolist()) - set(torch.nonzero(known).flatten().tolist()))
            raise ConfigError(f"class_weight has no weight for classes {missing}. Give every class a weight. "
                              f"Received: class_weight keys {torch.nonzero(known).flatten().tolist()}")
        weights = table[ids]
        if sample_weight is None:
            return weights
        return weights * torch.as_tensor(np.asarray(sample_weight, dtype=np.float32)
                                         if not isinstance(sample_weight, torch.Tensor) else sample_weight,
                                         device=weights.device)


def _check_class_weight(key, weight) -> None:
    """A class weight is a finite number >= 0: NaN or inf poisons the loss, a negative one trains away from the class."""
    number = isinstance(weight, (int, float, np.integer, np.floating)) and not isinstance(weight, bool)
    if not number or not np.isfinite(weight) or weight < 0:
        raise ConfigError(f"class_weight[{key}] must be a finite number >= 0 (e.g. 1.0, or 5.0 for a rare class); got "
                          f"{weight!r}, which would make the loss NaN or push training away from that class. "
                          f"Fix the weight. Received: class_weight={{{key}: {weight!r}, ...}}")


def class_weight_table(class_weight: dict, y, model) -> ClassWeights:
    """Build the lookup for ``class_weight``; Keras allows it only for models with one output."""
    if isinstance(y, (list, tuple, dict)) or len(cu.output_names(model) or [None]) > 1:
        raise ConfigError("class_weight is only supported for models with a single output; for several outputs "
                          "pass sample_weight instead. Received: class_weight with a multi-output model")
    return ClassWeights(class_weight)
