"""Training, evaluation and prediction methods of ``Model`` (Keras's ``compile``/``fit``/...).

The loop is split as in Keras: adapters (``data_adapters.py``) yield batches,
``train_step``/``test_step``/``predict_step`` compute, callbacks observe.
Losses and metrics accumulate on the device; they are read (a host sync)
only at epoch end or when the progress bar redraws.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import torch

from cnnlab.errors import ArgumentTypeError, CnnlabError, ConfigError, DataError
from cnnlab.training import data_adapters as da


class NotCompiledError(CnnlabError, RuntimeError):
    """``fit``/``evaluate`` called before ``compile``."""


_LOGIT_ACTIVATIONS = {"softmax": ("SparseCategoricalCrossentropy", "CategoricalCrossentropy"),
                      "sigmoid": ("BinaryCrossentropy",)}


class Trainer:
    """Mixin giving ``Model`` its Keras training API."""

    def __init__(self):
        self.optimizer = None
        self.compiled = False
        self.stop_training = False
        self.history = None
        self._compile_config = None

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, weighted_metrics=None,
                run_eagerly=None, steps_per_execution=1, jit_compile=False, device=None):
        """Configure training: optimizer, loss, metrics (names or objects), and the device.

        Args:
            optimizer: name (``"adam"``) or an optimizer object.
            loss: name, ``Loss`` object or callable; a list/dict for several outputs.
            metrics: list of names/objects (``"accuracy"`` is resolved by the loss), or one name.
            loss_weights: weights of the per-output losses.
            jit_compile: ``True`` runs the forward pass through ``torch.compile``.
            device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``... (default: CUDA when available).
        """
        from cnnlab import backend, losses, optimizers

        self.optimizer = optimizers.get(optimizer)
        self._device_choice = backend.resolve_device(device)
        self.to(self._device_choice)
        if loss is None:
            warnings.warn("compile() without a loss: fit() will fail unless train_step is overridden.", stacklevel=2)
        self._losses = [losses.get(l) for l in _as_list(loss)] if loss is not None else []
        self._loss_weights = list(_as_list(loss_weights)) if loss_weights is not None else None
        if isinstance(metrics, (str,)) or callable(metrics) and not isinstance(metrics, (list, tuple)):
            metrics = [metrics]
        self._metric_ids = list(metrics or []) + list(weighted_metrics or [])
        self._metrics = None  # built at the first batch, when y's shape is known
        self._jit = bool(jit_compile)
        self._compiled_forward = None
        self.compiled = True
        self._compile_config = _compile_config(optimizer, loss, metrics, loss_weights)

    def _compile_from_config(self, config: dict) -> None:
        from cnnlab import optimizers

        self.compile(optimizer=optimizers.deserialize(config["optimizer"]), loss=config.get("loss"),
                     metrics=config.get("metrics"), loss_weights=config.get("loss_weights"))

    def _require_compiled(self, what: str) -> None:
        if not getattr(self, "compiled", False):
            raise NotCompiledError(
                f"Model '{self.name}' must be compiled before {what}(). Call model.compile(optimizer='adam', "
                "loss='sparse_categorical_crossentropy', metrics=['accuracy']) first."
            )

    @property
    def device(self) -> torch.device:
        return getattr(self, "_device_choice", None) or self._device()

    @property
    def metrics_names(self) -> list[str]:
        return ["loss"] + [m.name for m in (self._metrics or [])]

    # ------------------------------------------------------------ loss, metrics
    def _output_layer(self):
        stack = getattr(self, "_stack", None)
        if stack:
            return stack[-1]
        outputs = getattr(self, "_outputs", None)
        if outputs and len(outputs) == 1:
            return outputs[0].node.layer
        return None

    def _logits_loss(self):
        """The loss to use on logits when the model ends in softmax/sigmoid, else None."""
        if len(self._losses) != 1:
            return None
        layer = self._output_layer()
        fn = getattr(layer, "activation", None)
        act = getattr(fn, "__name__", None)
        loss = self._losses[0]
        if hasattr(layer, "_emit_logits") and type(loss).__name__ in _LOGIT_ACTIVATIONS.get(act, ()) \
                and not getattr(loss, "from_logits", True):
            return loss.with_logits(), fn
        return None

    def _build_metrics(self, y, y_pred) -> None:
        from cnnlab import metrics as metrics_mod

        loss = self._losses[0] if self._losses else None
        built = [metrics_mod.get(ident, loss=loss, where="compile argument metrics") for ident in self._metric_ids]
        self._metrics = built
        self._loss_tracker = metrics_mod.Mean(name="loss")

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Loss of ``y_pred`` against ``y`` plus regularisation penalties (Keras 3 signature)."""
        if not self._losses:
            raise ConfigError(f"Model '{self.name}' was compiled without a loss; pass loss=... to compile().")
        preds = y_pred if isinstance(y_pred, (list, tuple)) else [y_pred]
        targets = y if isinstance(y, (list, tuple)) else [y]
        loss_fns = self._losses if len(self._losses) == len(preds) else self._losses * len(preds)
        weights = self._loss_weights or [1.0] * len(preds)
        total = 0
        for fn, target, pred, weight in zip(loss_fns, targets, preds, weights):
            total = total + weight * fn(target, pred, sample_weight)
        extra = self.losses
        if extra:
            total = total + torch.stack([e.to(total.dtype).reshape(()) for e in extra]).sum()
        return total

    def compute_metrics(self, x, y, y_pred, sample_weight=None, loss=None, batch_size=None) -> dict:
        """Update the loss tracker and metrics; return the batch logs (0-d tensors, no host sync)."""
        if loss is not None:
            self._loss_tracker.update_state(loss.detach(), sample_weight=batch_size)
        y_main = y[0] if isinstance(y, (list, tuple)) else y
        p_main = y_pred[0] if isinstance(y_pred, (list, tuple)) else y_pred
        for metric in self._metrics:
            metric.update_state(y_main, p_main.detach(), sample_weight)
        return self._logs()

    def _logs(self) -> dict:
        logs = {"loss": self._loss_tracker.result()}
        for metric in self._metrics:
            logs[metric.name] = metric.result()
        return logs

    def _reset_metrics(self) -> None:
        for metric in [self._loss_tracker, *self._metrics]:
            metric.reset_state()

    # -------------------------------------------------------------------- steps
    @contextlib.contextmanager
    def _emitting_logits(self):
        layer = self._output_layer()
        layer._emit_logits = True
        try:
            yield
        finally:
            layer._emit_logits = False

    def _forward(self, x, training: bool):
        if self._jit:
            if self._compiled_forward is None:
                self._compiled_forward = torch.compile(self)
            return self._compiled_forward(x, training=training)
        return self(x, training=training)

    def train_step(self, data) -> dict:
        """One optimisation step on ``data = (x, y, sample_weight)``; returns batch logs."""
        x, y, sample_weight = data
        logits = self._logits_loss() if self._fast_logits else None
        if logits is not None:
            loss_fn, activation = logits
            with self._emitting_logits():
                z = self._forward(x, training=True)
            loss = loss_fn(y, z, sample_weight)
            extra = self.losses
            if extra:
                loss = loss + torch.stack([e.reshape(()) for e in extra]).sum()
            with torch.no_grad():
                y_pred = activation(z.detach())
        else:
            y_pred = self._forward(x, training=True)
            loss = self.compute_loss(x, y, y_pred, sample_weight)
        loss.backward()
        self.optimizer.step(self._trainable_params)
        for p in self._trainable_params:
            p.grad = None
        self._apply_constraints()
        return self.compute_metrics(x, y, y_pred, sample_weight, loss=loss, batch_size=_batch_len(x))

    def test_step(self, data) -> dict:
        """Loss and metrics on one batch, in inference mode."""
        x, y, sample_weight = data
        y_pred = self(x, training=False)
        loss = self.compute_loss(x, y, y_pred, sample_weight, training=False)
        return self.compute_metrics(x, y, y_pred, sample_weight, loss=loss, batch_size=_batch_len(x))

    def predict_step(self, data):
        """Model outputs for one batch ``(x,)``."""
        x = data[0] if isinstance(data, tuple) else data
        return self(x, training=False)

    def _apply_constraints(self) -> None:
        if self._constraints:
            with torch.no_grad():
                for var in self._constraints:
                    var.value.copy_(var.constraint(var.value))

    def _prepare_training(self) -> None:
        self._trainable_params = [v.value for v in self.trainable_weights]
        if not self._trainable_params:
            raise ConfigError(f"Model '{self.name}' has no trainable weights: all layers are frozen (trainable=False).")
        # The optimizer's own constraint handling covers variables it knows; keep it in one place here.
        self._constraints = [v for v in self.trainable_weights if v.constraint is not None]
        self._fast_logits = type(self).train_step is Trainer.train_step and self._logits_loss() is not None

    # --------------------------------------------------------------------- data
    def _adapter(self, x, y, sample_weight, batch_size, shuffle, steps, what, has_targets=True, check=True):
        device = self.device
        if da.is_array(x):
            x_t = _map(x, lambda a: da.to_device_tensor(a, "x", device))
            if check:
                for leaf in da._leaves(x):
                    da.warn_if_unscaled(leaf, "x")
                for leaf in da._leaves(x_t):
                    da.check_finite(leaf, "x")
            y_t = None
            if y is not None:
                if not da.is_array(y):
                    y = np.asarray(y)
                y_t = _map(y, lambda a: da.to_device_tensor(a, "y", device, labels=True))
                nx, ny = da.num_samples(x_t, "x"), da.num_samples(y_t, "y")
                if nx != ny:
                    raise DataError(
                        f"{what}: x and y must have the same number of samples; got {nx} inputs and {ny} labels. "
                        "Check that they come from the same split."
                    )
                if check:
                    self._check_labels(y_t, what)
            elif has_targets and what != "predict":
                raise DataError(f"{what}: y is missing. Pass labels: model.{what}(x, y).")
            sw_t = None if sample_weight is None else da.to_device_tensor(sample_weight, "sample_weight", device)
            if x_t is not None and da.num_samples(x_t) == 0:
                raise DataError(f"{what}: x is empty (0 samples).")
            return x_t, y_t, sw_t
        return da.make_adapter(x, y, sample_weight, batch_size, shuffle, steps, device, has_targets, what), None, None

    def _check_labels(self, y, what: str) -> None:
        if not self._losses or isinstance(y, (list, tuple, dict)):
            return
        loss = self._losses[0]
        units = _output_units(self)
        if getattr(loss, "expects_sparse_labels", False):
            if y.ndim == 2 and y.shape[1] > 1:
                raise DataError(
                    f"{what}: the loss {type(loss).__name__} expects integer class labels of shape (n,), but y has "
                    f"shape {tuple(y.shape)} (one-hot?). Use loss='categorical_crossentropy', or pass "
                    "y.argmax(axis=1)."
                )
            if y.dtype.is_floating_point:
                if not bool(torch.equal(y, torch.round(y))):
                    raise DataError(f"{what}: sparse labels must be whole numbers (class ids); y holds fractions.")
            low, high = int(y.min()), int(y.max())
            if low < 0 or (units is not None and high >= units):
                raise DataError(
                    f"{what}: labels must be class ids in [0, {units - 1 if units else 'n-1'}] for an output layer "
                    f"of {units} units; y holds values from {low} to {high}. Make the last layer Dense({high + 1}) "
                    "or fix the labels."
                )
        elif getattr(loss, "expects_one_hot", False):
            if y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1 and units not in (None, 1)):
                raise DataError(
                    f"{what}: the loss {type(loss).__name__} expects one-hot labels of shape (n, {units}), but y has "
                    f"shape {tuple(y.shape)}. Use loss='sparse_categorical_crossentropy' for integer labels, or "
                    "cnnlab.utils.to_categorical(y)."
                )

    # ---------------------------------------------------------------------- fit
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1):
        """Train for ``epochs`` epochs; returns a ``History`` (see Keras's ``Model.fit``)."""
        from cnnlab.callbacks import CallbackList

        self._require_compiled("fit")
        batch_size = _positive("batch_size", 32 if batch_size is None else batch_size)
        epochs = _positive("epochs", epochs)
        verbose = _verbosity(verbose)
        if validation_split and validation_data is not None:
            validation_split = 0.0
        if class_weight is not None:
            sample_weight = _class_weights(class_weight, y, sample_weight)
        train = self._adapter(x, y, sample_weight, batch_size, shuffle, steps_per_epoch, "fit")
        val = None
        if validation_split:
            if not da.is_array(x):
                raise ConfigError("validation_split works with arrays only; pass validation_data=... for generators.")
            train, val = da.split_validation(*train, validation_split)
            val = da.ArrayAdapter(*val, validation_batch_size or batch_size, False)
        elif validation_data is not None:
            val = self._validation_tuple(validation_data, validation_batch_size or batch_size)
        adapter = train if not isinstance(train, tuple) else da.ArrayAdapter(*train, batch_size, bool(shuffle),
                                                                            steps_per_epoch)
        self._prepare_training()
        callbacks = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=self,
                                 epochs=epochs, steps=adapter.full_steps if hasattr(adapter, "full_steps") else None,
                                 verbose=verbose)
        self.stop_training = False
        self._resume_epoch = None
        callbacks.on_train_begin()
        epoch = initial_epoch if self._resume_epoch is None else max(initial_epoch, self._resume_epoch)
        logs = {}
        try:
            while epoch < epochs and not self.stop_training:
                logs = self._run_epoch(epoch, adapter, callbacks)
                if val is not None and (epoch + 1) % validation_freq == 0 and not self.stop_training:
                    val_logs = self._evaluate_adapter(val, callbacks=None)
                    logs.update({f"val_{k}": v for k, v in val_logs.items()})
                callbacks.on_epoch_end(epoch, logs)
                epoch += 1
        except KeyboardInterrupt:
            self.stop_training = True
            callbacks.on_train_end(logs)
            raise
        callbacks.on_train_end(logs)
        return callbacks.history

    def _run_epoch(self, epoch: int, adapter, callbacks) -> dict:
        callbacks.on_epoch_begin(epoch)
        if self._metrics is not None:
            self._reset_metrics()
        for step, batch in enumerate(adapter):
            callbacks.on_train_batch_begin(step)
            if self._metrics is None:
                with torch.no_grad():
                    self._build_metrics(batch[1], self(batch[0]))
            batch_logs = self.train_step(batch)
            callbacks.on_train_batch_end(step, batch_logs)
            if self.stop_training:
                break
        if self._metrics is None:
            raise DataError("fit: the training data yielded no batches.")
        return {k: float(v) for k, v in self._logs().items()}

    def _validation_tuple(self, validation_data, batch_size):
        if isinstance(validation_data, tuple) and len(validation_data) in (2, 3):
            vx, vy = validation_data[0], validation_data[1]
            vsw = validation_data[2] if len(validation_data) == 3 else None
            val = self._adapter(vx, vy, vsw, batch_size, False, None, "fit (validation_data)")
            return val if not isinstance(val, tuple) else da.ArrayAdapter(*val, batch_size, False)
        if isinstance(validation_data, (list, tuple)) or isinstance(validation_data, np.ndarray):
            raise ArgumentTypeError(
                "validation_data must be a tuple (x_val, y_val) or (x_val, y_val, sample_weight), or an iterable "
                f"of batches. Received: a {type(validation_data).__name__} of length {len(validation_data)}"
            )
        return da.make_adapter(validation_data, None, None, batch_size, False, None, self.device)

    # ----------------------------------------------------------------- evaluate
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False):
        """Loss and metrics on data: ``[loss, *metrics]`` (a scalar with no metrics, a dict with return_dict)."""
        self._require_compiled("evaluate")
        batch_size = _positive("batch_size", 32 if batch_size is None else batch_size)
        data = self._adapter(x, y, sample_weight, batch_size, False, steps, "evaluate")
        adapter = data if not isinstance(data, tuple) else da.ArrayAdapter(*data, batch_size, False, steps)
        from cnnlab.callbacks import CallbackList

        cbs = CallbackList(callbacks, add_history=False, add_progbar=_verbosity(verbose) != 0, model=self,
                           epochs=1, steps=getattr(adapter, "full_steps", None), verbose=_verbosity(verbose))
        logs = self._evaluate_adapter(adapter, cbs)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def _evaluate_adapter(self, adapter, callbacks) -> dict:
        if callbacks is not None:
            callbacks.on_test_begin()
        with torch.no_grad():
            if self._metrics is not None:
                self._reset_metrics()
            for step, batch in enumerate(adapter):
                if callbacks is not None:
                    callbacks.on_test_batch_begin(step)
                if self._metrics is None:
                    self._build_metrics(batch[1], self(batch[0]))
                batch_logs = self.test_step(batch)
                if callbacks is not None:
                    callbacks.on_test_batch_end(step, batch_logs)
        logs = {k: float(v) for k, v in self._logs().items()}
        self._reset_metrics()
        if callbacks is not None:
            callbacks.on_test_end(logs)
        return logs

    # ------------------------------------------------------------------ predict
    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Model outputs as NumPy (a list for several outputs)."""
        batch_size = _positive("batch_size", 32 if batch_size is None else batch_size)
        if da.is_array(x):
            x_t = _map(x, lambda a: da.to_device_tensor(a, "x", self.device))
            adapter = da.ArrayAdapter(x_t, None, None, batch_size, False, steps)
        else:
            adapter = da.make_adapter(x, None, None, batch_size, False, steps, self.device, has_targets=False,
                                      what="predict")
        from cnnlab.callbacks import CallbackList

        cbs = CallbackList(callbacks, add_history=False, add_progbar=_verbosity(verbose) != 0, model=self,
                           epochs=1, steps=getattr(adapter, "full_steps", None), verbose=_verbosity(verbose))
        cbs.on_predict_begin()
        outputs = []
        with torch.inference_mode():
            for step, batch in enumerate(adapter):
                cbs.on_predict_batch_begin(step)
                out = self.predict_step(batch)
                outputs.append(out)
                cbs.on_predict_batch_end(step, {"outputs": out})
        cbs.on_predict_end()
        if not outputs:
            raise DataError("predict: the data yielded no batches.")
        if isinstance(outputs[0], (list, tuple)):
            return [torch.cat([o[i] for o in outputs]).cpu().numpy() for i in range(len(outputs[0]))]
        return torch.cat(outputs).cpu().numpy()

    # ----------------------------------------------------------- batch methods
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One training step on one batch; returns ``[loss, *metrics]`` for that batch."""
        self._require_compiled("train_on_batch")
        if class_weight is not None:
            sample_weight = _class_weights(class_weight, y, sample_weight)
        batch = self._adapter(x, y, sample_weight, 1, False, None, "train_on_batch")
        if getattr(self, "_trainable_params", None) is None or self._metrics is None:
            self._prepare_training()
        if self._metrics is None:
            with torch.no_grad():
                self._build_metrics(batch[1], self(batch[0]))
        self._reset_metrics()
        logs = {k: float(v) for k, v in self.train_step(batch).items()}
        return logs if return_dict else _unpack(logs)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss and metrics on one batch, without updating the weights."""
        self._require_compiled("test_on_batch")
        batch = self._adapter(x, y, sample_weight, 1, False, None, "test_on_batch")
        logs = self._evaluate_adapter([batch], None)
        return logs if return_dict else _unpack(logs)

    def predict_on_batch(self, x):
        """Outputs for one batch, as NumPy."""
        with torch.inference_mode():
            out = self(x, training=False)
        return [o.cpu().numpy() for o in out] if isinstance(out, (list, tuple)) else out.cpu().numpy()


def _as_list(value):
    if isinstance(value, dict):
        return list(value.values())
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _map(value, fn):
    if isinstance(value, (list, tuple)):
        return type(value)(fn(v) for v in value)
    if isinstance(value, dict):
        return {k: fn(v) for k, v in value.items()}
    return fn(value)


def _batch_len(x) -> int:
    leaf = da._leaves(x)[0]
    return int(leaf.shape[0])


def _positive(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name} must be a positive int. Received: {name}={value!r}")
    return int(value)


def _verbosity(verbose) -> int:
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2):
        raise ConfigError(f"verbose must be 0 (silent), 1 (progress bar), 2 (one line per epoch) or 'auto'. "
                          f"Received: verbose={verbose!r}")
    return int(verbose)


def _unpack(logs: dict):
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


def _output_units(model) -> int | None:
    try:
        shape = model.outputs[0].shape
    except Exception:  # subclassed models have no symbolic output
        layer = model._output_layer() if hasattr(model, "_output_layer") else None
        return getattr(layer, "units", None)
    return shape[-1] if len(shape) == 2 else None


def _class_weights(class_weight: dict, y, sample_weight):
    if not isinstance(class_weight, dict):
        raise ArgumentTypeError(f"class_weight must be a dict {{class_id: weight}}. Received: {class_weight!r}")
    labels = np.asarray(y)
    ids = labels.argmax(axis=-1) if labels.ndim == 2 and labels.shape[1] > 1 else labels.reshape(-1).astype(int)
    missing = sorted(set(np.unique(ids).tolist()) - set(class_weight))
    if missing:
        raise ConfigError(f"class_weight has no weight for classes {missing}. Give every class a weight.")
    weights = np.array([class_weight[i] for i in ids], dtype=np.float32)
    return weights if sample_weight is None else weights * np.asarray(sample_weight, dtype=np.float32)


def _compile_config(optimizer, loss, metrics, loss_weights) -> dict | None:
    """What ``compile`` got, when it can be written as plain JSON (names and configs)."""
    from cnnlab import optimizers

    try:
        opt = optimizers.serialize(optimizers.get(optimizer) if isinstance(optimizer, str) else optimizer)
    except Exception:  # a custom optimizer object: the model still saves, without compile info
        return None
    plain = lambda v: v is None or isinstance(v, (str, int, float)) or (  # noqa: E731
        isinstance(v, (list, tuple)) and all(isinstance(i, (str, int, float)) for i in v))
    if not (plain(loss) and plain(metrics) and plain(loss_weights)):
        return None
    return {"optimizer": opt, "loss": loss, "metrics": metrics, "loss_weights": loss_weights}

