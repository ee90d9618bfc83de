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
            group = [metrics_mod.get(ident, loss=fn, where=f"compile argument {what}") for ident in items]
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
