"""What ``compile`` was given, matched to the model's outputs: losses, loss weights and metrics.

A model with one output uses the loss and metrics as given. A model with
several outputs (a list, or a dict keyed by output-layer name) gets, as in
Keras:

- ``loss``: one loss for every output, a list in output order, or a dict
  ``{output_name: loss}`` (outputs left out get no loss);
- ``loss_weights``: a list or a dict of the same shape (default 1.0 each);
- ``metrics``: a list of lists (one list per output), a dict
  ``{output_name: metric or [metrics]}``, or a flat list applied to every
  output (tf.keras 2 did this; Keras 3 asks for a list of lists);
- logs ``loss`` (the weighted total), ``<output>_loss`` per output with a
  loss, and ``<output>_<metric>`` for each metric.

``metrics`` ignore ``sample_weight``/``class_weight``; ``weighted_metrics``
use them (Keras 3 semantics).
"""

from __future__ import annotations

from typing import Any

import torch

from cnnlab.errors import ConfigError


def flatten_outputs(value: Any, names: list[str] | None) -> list:
    """A model's outputs or targets as a list in output order (dicts are read by output name)."""
    if isinstance(value, dict):
        if names is None:
            return list(value.values())
        missing = [n for n in names if n not in value]
        if missing and len(value) == len(names):
            raise ConfigError(
                f"the targets are a dict with keys {sorted(value)}, but the model's outputs are named {names}. "
                f"Key the dict by output-layer name. Received: keys {sorted(value)}"
            )
        return [value.get(n) for n in names]
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def output_names(model) -> list[str] | None:
    """Output-layer names of a functional or Sequential model; None for a subclassed one."""
    try:
        outputs = model.outputs
    except Exception:  # subclassed models have no symbolic outputs
        return None
    return [t.node.layer.name for t in outputs]


def _per_output(value: Any, names: list[str], what: str, default: Any) -> list:
    """Spread a compile argument over the outputs: one value, a list in order, or a dict by name."""
    n = len(names)
    if isinstance(value, dict):
        unknown = [k for k in value if k not in names]
        if unknown:
            raise ConfigError(
                f"compile argument {what} names outputs {unknown} that the model does not have; its outputs are "
                f"{names}. Received: {what} keys {sorted(value)}"
            )
        return [value.get(name, default) for name in names]
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ConfigError(
                f"compile argument {what} is a list of {len(value)} entries but the model has {n} outputs "
                f"({names}); give one entry per output, or a dict keyed by output name. Received: {what}={value!r}"
            )
        return list(value)
    return [value] * n


class CompiledLoss:
    """The per-output losses and weights; calling it gives the weighted total and the per-output terms.

    Args:
        loss: what ``compile`` got for ``loss``.
        loss_weights: what ``compile`` got for ``loss_weights`` (None: 1.0 each).
    """

    def __init__(self, loss: Any, loss_weights: Any = None) -> None:
        from cnnlab import losses

        self._raw, self._raw_weights = loss, loss_weights
        self._resolve = lambda ident: None if ident is None else losses.get(ident, where="compile argument loss")
        # Resolving now makes an unknown name fail in compile(), where the user wrote it.
        single = not isinstance(loss, (list, tuple, dict))
        self.single = self._resolve(loss) if single else None
        if not single:
            for ident in (loss.values() if isinstance(loss, dict) else loss):
                self._resolve(ident)
        self.fns: list | None = None
        self.weights: list[float] | None = None
        self.names: list[str] | None = None

    @property
    def built(self) -> bool:
        return self.fns is not None

    def build(self, names: list[str]) -> None:
        """Match the losses to the outputs ``names``."""
        if len(names) == 1 and isinstance(self._raw, (list, tuple)) and len(self._raw) == 1:
            self.fns = [self._resolve(self._raw[0])]
        elif len(names) == 1 and isinstance(self._raw, dict):
            self.fns = [self._resolve(_per_output(self._raw, names, "loss", None)[0])]
        elif self.single is not None:
            self.fns = [self.single] * len(names)
        else:
            self.fns = [self._resolve(ident) for ident in _per_output(self._raw, names, "loss", None)]
        weights = [1.0] * len(names) if self._raw_weights is None else _per_output(
            self._raw_weights, names, "loss_weights", 1.0)
        bad = [w for w in weights if isinstance(w, bool) or not isinstance(w, (int, float))]
        if bad:
            raise ConfigError(f"compile(): loss_weights must be numbers, one per output (or a dict by output name), "
                              f"e.g. loss_weights=[1.0, 0.5]. Received: loss_weights={str(self._raw_weights)[:80]}")
        self.weights = [float(w) for w in weights]
        self.names = names

    def __call__(self, y: list, y_pred: list, sample_weight=None) -> tuple[torch.Tensor, list]:
        total, terms = 0, []
        for fn, weight, target, pred in zip(self.fns, self.weights, y, y_pred):
            if fn is None:
                terms.append(None)
                continue
            if target is None:
                raise ConfigError("a model output has a loss but no target was given for it. Pass y for every "
                                  "output that has a loss.")
            term = fn(target, pred, sample_weight)
            terms.append(term)
            total = total + (term if weight == 1.0 else weight * term)
        if isinstance(total, int):
            raise ConfigError("compile(loss=...) gives no loss for any output; pass a loss for at least one output.")
        return total, terms


class CompiledMetrics:
    """The metrics of each output, with Keras names (``<output>_<metric>`` when there are several outputs)."""

    def __init__(self, metrics: Any, weighted_metrics: Any = None) -> None:
        self._raw = _normalise(metrics)
        self._raw_weighted = _normalise(weighted_metrics)
        self.unweighted: list[list] = []
        self.weighted: list[list] = []
        self.output_losses: list = []

    def validate(self, loss: CompiledLoss) -> None:
        """Resolve every name once, so an unknown metric fails in compile()."""
        from cnnlab import metrics as metrics_mod

        for group in (self._raw, self._raw_weighted):
            items = group.values() if isinstance(group, dict) else group
            for item in items:
                for ident in (item if isinstance(item, (list, tuple)) else [item]):
                    if isinstance(ident, str):
                        metrics_mod.get(ident, loss=loss.single, where="compile argument metrics")

    def build(self, names: list[str], loss: CompiledLoss) -> None:
        """Create the metric objects for outputs ``names``, resolving ``"accuracy"`` by each output's loss."""
        self.unweighted = self._build(self._raw, names, loss, "metrics")
        self.weighted = self._build(self._raw_weighted, names, loss, "weighted_metrics")
        taken = {m.name for group in self.unweighted for m in group}
        for group in self.weighted:
            for metric in group:
                if metric.name in taken:  # the same metric asked for both ways: keep both, apart
                    metric.name = f"weighted_{metric.name}"

    @staticmethod
    def _build(raw, names: list[str], loss: CompiledLoss, what: str) -> list[list]:
        from cnnlab import metrics as metrics_mod

        if isinstance(raw, dict):
            per_output = _per_output(raw, names, what, None)
        elif len(names) > 1 and raw and all(isinstance(item, (list, tuple)) or item is None for item in raw):
            per_output = _per_output(raw, names, what, None)
        else:
            per_output = [raw] * len(names)
        groups = []
        for name, fn, items in zip(names, loss.fns, per_output):
            items = [] if items is None else (list(items) if isinstance(items, (list, tuple)) else [items])
            # None stands for "no metric here" (Keras allows metrics=[None, ["accuracy"]] for two outputs).
            group = [metrics_mod.get(ident, loss=fn, where=f"compile argument {what}") for ident in items
                     if ident is not None]
            if len(names) > 1:
                # Fresh objects per output; a user's Metric instance is shared only on one output.
                for metric in group:
                    metric.name = f"{name}_{metric.name}"
            groups.append(group)
        if len(names) > 1 and not isinstance(raw, dict):
            _check_distinct_objects(groups)
        return groups


def _normalise(metrics: Any) -> Any:
    if metrics is None:
        return []
    if isinstance(metrics, (list, tuple, dict)):
        return metrics
    return [metrics]  # a bare name or object: metrics="accuracy"


def _check_distinct_objects(groups: list[list]) -> None:
    seen: set[int] = set()
    for group in groups:
        for metric in group:
            if id(metric) in seen:
                raise ConfigError(
                    f"the metric object {metric!r} is used for several outputs; each output needs its own "
                    "object. Pass metric names (e.g. 'accuracy') or one new object per output."
                )
            seen.add(id(metric))


# ----------------------------------------------------------------------------------------- saving
# Keras 3 writes every object of a compile config as {"module", "class_name", "config", "registered_name"}.
_KERAS_MODULES = {"loss": "keras.losses", "metric": "keras.metrics", "optimizer": "keras.optimizers"}


class Unsaveable(Exception):
    """A compile argument that cannot be written as JSON (a user function, an object without a config)."""


def compile_config(optimizer: Any, loss: Any, metrics: Any, loss_weights: Any, weighted_metrics: Any) -> dict | None:
    """Keras 3's ``compile_config`` for what ``compile`` got (names, or objects by their configs).

    Returns None when some argument cannot be saved (a user function, a custom optimizer object without
    a config): the model still saves, without its compile settings.
    """
    try:
        return {"optimizer": _keras_object(optimizer, "optimizer"), "loss": _entry(loss, "loss"),
                "loss_weights": _plain_json(loss_weights), "metrics": _entry(metrics, "metric"),
                "weighted_metrics": _entry(weighted_metrics, "metric"), "run_eagerly": False,
                "steps_per_execution": 1, "jit_compile": False}
    except Unsaveable:
        return None


def _entry(value: Any, kind: str) -> Any:
    if value is None or isinstance(value, (str, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [_entry(v, kind) for v in value]
    if isinstance(value, dict):
        return {str(k): _entry(v, kind) for k, v in value.items()}
    return _keras_object(value, kind)


def _keras_object(obj: Any, kind: str) -> dict | str:
    from cnnlab import losses, metrics, optimizers

    module = {"loss": losses, "metric": metrics, "optimizer": optimizers}[kind]
    if not hasattr(obj, "get_config"):
        name = getattr(obj, "__name__", None)
        if callable(obj) and name and getattr(module, name, None) is obj:
            return name  # a built-in function such as losses.sparse_categorical_crossentropy: saved by name
        raise Unsaveable(f"{kind} {obj!r}")
    try:
        config = module.serialize(obj)
    except Exception as err:  # a wrapped user function, or a config that is not JSON
        raise Unsaveable(f"{kind} {obj!r}") from err
    cls = type(obj)
    builtin = cls.__module__.split(".")[0] == "cnnlab"
    return {"module": _KERAS_MODULES[kind] if builtin else cls.__module__, "class_name": config["class_name"],
            "config": _plain_json(config["config"]), "registered_name": None if builtin else cls.__name__}


def _plain_json(value: Any) -> Any:
    """``value`` if it is JSON-ready (names, numbers, lists, dicts of them), else Unsaveable."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain_json(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _plain_json(v) for k, v in value.items()}
    raise Unsaveable(repr(value))


def deserialize_entries(value: Any, kind: str, custom_objects: dict | None = None) -> Any:
    """The inverse of :func:`compile_config` for a loss or metrics entry (objects rebuilt, names kept)."""
    from cnnlab import losses, metrics

    if isinstance(value, (list, tuple)):
        return [deserialize_entries(v, kind, custom_objects) for v in value]
    if not isinstance(value, dict):
        return value
    if "class_name" not in value:  # per-output dict
        return {k: deserialize_entries(v, kind, custom_objects) for k, v in value.items()}
    if value["class_name"] == "function" and isinstance(value.get("config"), str):
        return value["config"]  # Keras writes a function as its registered name
    module = losses if kind == "loss" else metrics
    return module.deserialize(value, custom_objects)
