"""Training, evaluation and prediction methods of ``Model`` (Keras's ``compile``/``fit``/...).

The loop is split as in Keras: one epoch iterator (``epoch_iterator.py``) owns
data intake and yields batches, ``train_step``/``test_step``/``predict_step``
compute, callbacks observe.
Losses and metrics accumulate on the device; they are read (a host sync)
only at epoch end or when the progress bar redraws.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F

from cnnlab.errors import ConfigError, DataError, NotCompiledError
from cnnlab import _warnings
from cnnlab.layers.logits import emitting_logits, logit_activation, output_layer
from cnnlab.training import compile_utils as cu
from cnnlab.training import data_adapters as da
from cnnlab.training.epoch_iterator import EpochIterator, fit_iterators, one_batch
from cnnlab.training.progress import logs_to_floats
from cnnlab.training.direct_step import DirectStep
from cnnlab.training.jit import CompiledForward
from cnnlab.training.threads import GOVERNOR
from cnnlab.eager import plain_outputs
from cnnlab.layers.base import has_added_losses, metric_attribute_count, metric_attributes
from cnnlab.optimizers.loss_scale_optimizer import LossScaleOptimizer
from cnnlab.training.checks import positive, verbosity

# The losses each output activation's logits can feed directly.
_LOGIT_LOSSES = {"softmax": ("SparseCategoricalCrossentropy", "CategoricalCrossentropy"),
                      "sigmoid": ("BinaryCrossentropy",)}


def unpack_x_y_sample_weight(data):
    """Split a batch into ``(x, y, sample_weight)`` (missing parts are None), as Keras does."""
    if isinstance(data, tuple):
        if len(data) == 1:
            return data[0], None, None
        if len(data) == 2:
            return data[0], data[1], None
        return data[0], data[1], data[2]
    return data, None, None


class Trainer:
    """Mixin giving ``Model`` its Keras training API."""

    _sync = None  # collectives of a multi-process fit/evaluate (cnnlab.distribute), else None
    _direct_step = None  # a DirectStep when fit may run the model's step without autograd's graph

    def __init__(self):
        self.optimizer = None
        self.compiled = False
        self.stop_training = False
        self.history = None
        self._compile_args = None
        self._autocast_dtype = None

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, weighted_metrics=None,
                run_eagerly=None, steps_per_execution=1, jit_compile=False, device=None, auto_scale_loss=True):
        """Configure training: optimizer, loss, metrics (names or objects), and the device.

        Args:
            optimizer: name (``"adam"``) or an optimizer object.
            loss: name, ``Loss`` object or callable; for several outputs one loss for all, a list in
                output order, or a dict keyed by output-layer name.
            metrics: names/objects (``"accuracy"`` is resolved by the loss), or one name; for several
                outputs a list of lists or a dict by output name (a flat list applies to every output).
            loss_weights: weights of the per-output losses (list or dict).
            weighted_metrics: metrics that also use ``sample_weight``/``class_weight``.
            jit_compile: ``True`` runs the forward pass (and so its backward) through ``torch.compile``, and
                warns once if a compiled step measures slower than an eager one; ``"auto"`` (Keras 3's
                default) and ``False`` run eagerly: on the CPU, compiled steps of the benchmarked CNNs measured
                slower than cnnlab's eager kernels (bench/compile_probe.py), so nothing is compiled unless asked.
            device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``... (default: CUDA when available).
            auto_scale_loss: under the ``mixed_float16`` policy, wrap the optimizer in a
                ``LossScaleOptimizer`` (Keras 3's default, True).

        Example:
            >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        """
        from cnnlab import backend, optimizers

        self.optimizer = optimizers.get(optimizer)
        self._device_choice = backend.resolve_device(device)
        backend.tune_for_device(self._device_choice)
        self.to(self._device_choice)
        self._compiled_loss = cu.CompiledLoss(loss, loss_weights) if loss is not None else None
        self._compiled_metrics = cu.CompiledMetrics(metrics, weighted_metrics)
        self._metrics_built = False
        if cu.output_names(self) is not None:
            self._build_metrics()  # graph models: wrong output names in loss/metrics fail here
        elif self._compiled_loss is not None:
            self._compiled_metrics.validate(self._compiled_loss)
        self._trainable_params = None
        if not (isinstance(jit_compile, bool) or jit_compile is None or jit_compile == "auto"):  # None: tf.keras 2
            raise ConfigError("compile(): jit_compile must be True, False or 'auto'. "
                              f"Received: jit_compile={jit_compile!r}")
        self._jit = jit_compile is True
        self._compiled_forward = None
        from cnnlab import mixed_precision

        self._autocast_dtype = mixed_precision.global_policy().autocast_dtype()
        if auto_scale_loss and mixed_precision.global_policy().name == "mixed_float16" \
                and not isinstance(self.optimizer, LossScaleOptimizer):
            self.optimizer = LossScaleOptimizer(self.optimizer, name="loss_scale_optimizer")
        mixed_precision.warn_if_slower(mixed_precision.global_policy(), self.device)
        self.compiled = True
        self._compile_args = (loss, metrics, loss_weights, weighted_metrics)

    def get_compile_config(self) -> dict | None:
        """Keras 3's compile config: the optimizer, loss and metrics (names, or objects as Keras serialises them).

        ``{}`` before ``compile``; None when an argument cannot be saved (e.g. a plain user function).
        """
        if not getattr(self, "compiled", False):
            return {}
        return cu.compile_config(self.optimizer, *self._compile_args)

    def compile_from_config(self, config: dict) -> None:
        """Compile with a config from :meth:`get_compile_config` (Keras 3 API)."""
        self._compile_from_config(config)

    def _compile_from_config(self, config: dict, custom_objects: dict | None = None) -> None:
        """Compile from a saved compile config (names, or Keras's serialised loss/metric/optimizer objects)."""
        from cnnlab import optimizers

        optimizer = optimizers.deserialize(config["optimizer"], custom_objects)
        self.compile(optimizer=optimizer, loss=cu.deserialize_entries(config.get("loss"), "loss", custom_objects),
                     metrics=cu.deserialize_entries(config.get("metrics"), "metric", custom_objects),
                     weighted_metrics=cu.deserialize_entries(config.get("weighted_metrics"), "metric", custom_objects),
                     loss_weights=config.get("loss_weights"))

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
    def metrics(self) -> list:
        """The loss tracker(s), every compiled metric (once matched to the outputs), then the metrics set as
        attributes of the model and its layers (``self.loss_tracker = metrics.Mean(name="loss")``), as in Keras."""
        compiled = [self._loss_tracker, *self._output_loss_trackers, *self._flat_metrics] \
            if getattr(self, "_metrics_built", False) else []
        seen = {id(m) for m in compiled}
        return compiled + [m for m in self._tracked_metrics() if id(m) not in seen]

    def _tracked_metrics(self) -> list:
        if not metric_attribute_count():
            return []
        found = []
        for layer in (self, *self._all_sublayers()):
            if layer is not self and isinstance(layer, Trainer):
                continue  # a nested model's own training metrics belong to its own fit
            found.extend(metric_attributes(layer))
        return found

    @property
    def metrics_names(self) -> list[str]:
        """Keras 3's names: ``"loss"``, then ``"compile_metrics"`` standing for all compiled metrics (Keras keeps
        them in one container), then the per-output losses and the metrics set as attributes."""
        names, compiled = [], {id(m) for m in getattr(self, "_flat_metrics", ())}
        for metric in self.metrics:
            if id(metric) not in compiled:
                names.append(metric.name)
            elif "compile_metrics" not in names:
                names.insert(1 if names[:1] == ["loss"] else 0, "compile_metrics")
        return names or ["loss"]

    # ------------------------------------------------------------ loss, metrics
    def _output_names(self, y_pred=None) -> list[str]:
        names = cu.output_names(self)
        if names is None:  # subclassed: name outputs like Keras, output_1, output_2...
            count = len(y_pred) if isinstance(y_pred, (list, tuple, dict)) else 1
            names = list(y_pred) if isinstance(y_pred, dict) else [f"output_{i + 1}" for i in range(count)]
        return names

    def _build_metrics(self, y_pred=None) -> None:
        """Match losses and metrics to the outputs; needs ``y_pred`` only for subclassed models."""
        from cnnlab import metrics as metrics_mod

        names = self._output_names(y_pred)
        loss = self._compiled_loss
        if loss is None:
            loss = cu.CompiledLoss(None)
            loss.fns = [None] * len(names)
        elif not loss.built:
            loss.build(names)
        self._compiled_metrics.build(names, loss)
        self._out_names = names
        # Set directly: the trainer's own tracker is not one of the user's metric attributes.
        self.__dict__["_loss_tracker"] = metrics_mod.Mean(name="loss")
        multi = len(names) > 1
        self._output_loss_trackers = [metrics_mod.Mean(name=f"{n}_loss") for n, fn in zip(names, loss.fns)
                                      if multi and fn is not None]
        self._flat_metrics = [m for group in (*self._compiled_metrics.unweighted, *self._compiled_metrics.weighted)
                              for m in group]
        self._metrics_built = True
        for metric in self.metrics:
            metric.to(self.device)

    def _ensure_metrics(self, y_pred) -> None:
        if not self._metrics_built:
            self._build_metrics(y_pred)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Loss of ``y_pred`` against ``y``, plus ``self.losses`` (add_loss values and regularisation penalties).

        Keras 3's signature; a model compiled without a loss returns the sum of ``self.losses``.
        """
        if self._compiled_loss is None:
            extra = self.losses
            if not extra:
                raise ConfigError(f"Model '{self.name}': no loss to compute. Pass loss=... to compile(), or add "
                                  "losses with add_loss() in a layer's call().")
            return torch.stack([e.reshape(()) for e in extra]).sum()
        self._ensure_metrics(y_pred)
        names = self._out_names
        total, terms = self._compiled_loss(cu.flatten_outputs(y, names), cu.flatten_outputs(y_pred, names),
                                           sample_weight)
        if self._output_loss_trackers:
            n = _batch_len(y_pred)
            for tracker, term in zip(self._output_loss_trackers, [t for t in terms if t is not None]):
                tracker.update_state(term.detach(), sample_weight=n)
        return self._add_penalties(total)

    def _add_penalties(self, total):
        extra = self.losses
        if extra:
            total = total + torch.stack([e.to(total.dtype).reshape(()) for e in extra]).sum()
        return total

    def compute_metrics(self, x, y, y_pred, sample_weight=None) -> dict:
        """Update the compiled metrics with one batch; return the running logs (0-d tensors, no host sync)."""
        self._ensure_metrics(y_pred)
        groups = self._compiled_metrics
        if len(self._out_names) == 1:
            y_pred = y_pred.detach()
            for metric in groups.unweighted[0]:
                metric.update_state(y, y_pred)
            for metric in groups.weighted[0]:
                metric.update_state(y, y_pred, sample_weight)
            return self.get_metrics_result()
        ys, preds = cu.flatten_outputs(y, self._out_names), cu.flatten_outputs(y_pred, self._out_names)
        for target, pred, plain, weighted in zip(ys, preds, groups.unweighted, groups.weighted):
            for metric in plain:
                metric.update_state(target, pred.detach())
            for metric in weighted:
                metric.update_state(target, pred.detach(), sample_weight)
        return self.get_metrics_result()

    def get_metrics_result(self) -> dict:
        """The current value of the loss tracker(s) and every metric, as 0-d tensors."""
        return {m.name: m.result() for m in self.metrics}

    def reset_metrics(self) -> None:
        """Zero the state of the loss tracker(s) and every metric."""
        for metric in self.metrics:
            metric.reset_state()

    # -------------------------------------------------------------------- steps
    def _output_layer(self):
        return output_layer(self)

    def _logits_loss(self):
        """``(loss on logits, activation)`` when the model ends in softmax/sigmoid and the loss allows it."""
        loss = self._compiled_loss
        if loss is None or loss.single is None:
            return None
        layer = self._output_layer()
        act = logit_activation(layer) if callable(getattr(layer, "activation", None)) else None
        if type(loss.single).__name__ in _LOGIT_LOSSES.get(act, ()) and not getattr(loss.single, "from_logits", True):
            return _plain_cross_entropy(loss.single.with_logits()), layer.activation
        return None

    def _forward(self, x, training: bool):
        forward = self
        if self._jit:
            if self._compiled_forward is None:
                self._compiled_forward = CompiledForward(self)
            forward = self._compiled_forward
        if training and self._autocast_dtype is not None:
            with torch.autocast(self.device.type, dtype=self._autocast_dtype):
                return forward(x, training=training)
        return forward(x, training=training)

    def train_step(self, data) -> dict:
        """One optimisation step on a batch; returns the running logs.

        ``data`` is ``(x, y)`` or ``(x, y, sample_weight)``. To customise
        training, override it in the Keras 3 (torch backend) style::

            def train_step(self, data):
                x, y = data[0], data[1]
                y_pred = self(x, training=True)
                loss = self.compute_loss(x, y, y_pred)
                self.zero_grad()
                loss.backward()
                weights = self.trainable_weights
                self.optimizer.apply([w.value.grad for w in weights], weights)
                self._loss_tracker.update_state(loss.detach(), sample_weight=len(x))
                return self.compute_metrics(x, y, y_pred)

        Gradients are torch's ``.grad``; ``optimizer.apply`` takes them with
        the weights (cnnlab ``Variable`` objects or their tensors).
        """
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        fast = self._fast_logits
        stepped = False  # whether the gradients are already in .grad (the direct step)
        if fast is not None and self._output_layer().activation is fast[1]:
            loss_fn, activation = fast
            direct = self._direct_step
            if direct is not None and self._direct_step_applies() and direct.covers(self, x, y, sample_weight):
                loss, z = direct.run(self, x, y, loss_fn)
                stepped = True
            else:
                with emitting_logits(self._output_layer()):
                    z = self._forward(x, training=True)
                loss = loss_fn(y, z, sample_weight)
                if self._has_penalties or has_added_losses():
                    loss = self._add_penalties(loss)
            with torch.no_grad():
                y_pred = activation(z.detach())
            self._ensure_metrics(y_pred)
        else:
            y_pred = self._forward(x, training=True)
            loss = self.compute_loss(x, y, y_pred, sample_weight)
        if self._trainable_params:
            if not stepped:
                (self.optimizer.scale_loss(loss) if self._scales_loss else loss).backward()
            if self._sync is not None:
                self._sync.all_reduce_gradients(self._trainable_params)
            # Also applies the weights' constraints, as Keras's does; a LossScaleOptimizer unscales, or skips a
            # step whose gradients overflowed.
            self.optimizer.step(self._trainable_params)
            for p in self._trainable_params:
                p.grad = None
        self._loss_tracker.update_state(loss.detach(), sample_weight=_batch_len(x))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def test_step(self, data) -> dict:
        """Loss and metrics on one batch, in inference mode; returns the running logs."""
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        y_pred = self(x, training=False)
        loss = self.compute_loss(x, y, y_pred, sample_weight, training=False)
        self._loss_tracker.update_state(loss.detach(), sample_weight=_batch_len(x))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data):
        """Model outputs for one batch ``(x,)``, in inference mode."""
        x, _, _ = unpack_x_y_sample_weight(data)
        return self(x, training=False)

    def _apply_constraints(self) -> None:
        """Kept for callers of the older API: the optimizer now applies the weights' constraints at each step."""

    def _prepare_training(self) -> None:
        self._trainable_params = [v.value for v in self.trainable_weights]
        self._check_trainable_set()
        if not self._trainable_params:
            # Keras trains anyway (the loss may come only from add_loss) and just warns; once per fit here.
            _warnings.warn(f"Model '{self.name}' does not have any trainable weights: fit computes the loss and "
                           f"metrics but changes no weight.")
        overridden = type(self).train_step is not Trainer.train_step
        # Only a scaling optimizer costs the step a call: float32 training runs exactly as before.
        self._scales_loss = isinstance(self.optimizer, LossScaleOptimizer) or \
            getattr(self.optimizer, "loss_scale_factor", None) is not None
        self._fast_logits = None if overridden else self._logits_loss()
        self._has_penalties = any(v.regularizer is not None for v in self.weights) or any(
            layer.activity_regularizer is not None for layer in [self, *self._all_sublayers()])
        self._direct_step = DirectStep.plan(self) if self._fast_logits is not None else None

    def _direct_step_applies(self) -> bool:
        """Whether this step may skip autograd's graph (``cnnlab.training.direct_step``): nothing changes the
        plain float32 step (jit, mixed precision, loss scaling, penalties)."""
        return not (self._jit or self._autocast_dtype is not None or self._scales_loss or self._has_penalties)

    def _check_trainable_set(self) -> None:
        """Refuse weights made trainable after the optimizer's first step, with the fix.

        Keras 3 keeps training the old set until the next ``compile()`` and says nothing (its warning is never
        reached), so an unfrozen base silently stays frozen; cnnlab's optimizer cannot take new variables
        either, so it says so before the first step of this ``fit``.
        """
        optimizer = self.optimizer
        known = getattr(optimizer, "_index", None)
        if not getattr(optimizer, "built", False) or known is None:
            return
        new = [v.name for v, p in zip(self.trainable_weights, self._trainable_params) if id(p) not in known]
        if new:
            raise ConfigError(
                f"Model '{self.name}': {len(new)} weights became trainable after the optimizer's first step "
                f"(e.g. base_model.trainable = True after fit()), such as {new[0]!r}. Call model.compile(...) "
                "again before fit(), as the Keras transfer-learning guide does when it unfreezes a base model "
                "(a low learning rate for fine-tuning). Received: "
                f"{len(new)} new trainable weights")

    # --------------------------------------------------------------------- data
    def _callbacks(self, callbacks, verbose, epochs, data: EpochIterator, in_fit: bool):
        from cnnlab.callbacks import CallbackList

        return CallbackList(callbacks, add_history=in_fit, add_progbar=verbose != 0, model=self, epochs=epochs,
                            steps=data.num_batches, verbose=verbose)

    # ---------------------------------------------------------------------- fit
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1):
        """Train for ``epochs`` epochs; returns a ``History`` (Keras's ``Model.fit`` semantics).

        ``validation_split`` takes the last fraction of the arrays, before any
        shuffling; ``initial_epoch`` starts the epoch count there; a generator
        with ``steps_per_epoch`` may be infinite.

        Example:
            >>> history = model.fit(x_train, y_train, epochs=5, validation_split=0.2)
            >>> history.history["val_accuracy"]
        """
        self._require_compiled("fit")
        batch_size = positive("batch_size", 32 if batch_size is None else batch_size)
        epochs = positive("epochs", epochs)
        validation_freq = positive("validation_freq", validation_freq)
        verbose = verbosity(verbose)
        self._sync = _replica_sync()
        data, val = fit_iterators(self, x, y, sample_weight, batch_size=batch_size, shuffle=bool(shuffle),
                                  steps=steps_per_epoch, class_weight=class_weight, validation_split=validation_split,
                                  validation_data=validation_data, validation_batch_size=validation_batch_size,
                                  validation_steps=validation_steps, sync=self._sync)
        self._build_before_the_loop(data)
        self._prepare_training()
        callbacks = self._callbacks(callbacks, verbose, epochs, data, in_fit=True)
        self.stop_training = False
        self._resume_epoch = None
        callbacks.on_train_begin()
        if self._sync is not None:
            self._sync.start_training(self)
        epoch = initial_epoch if self._resume_epoch is None else max(initial_epoch, self._resume_epoch)
        logs = {}
        GOVERNOR.start()
        try:
            while epoch < epochs and not self.stop_training:
                logs = self._run_epoch(epoch, data, callbacks)
                if val is not None and (epoch + 1) % validation_freq == 0:
                    val_logs = self._evaluate_loop(val, callbacks)
                    logs.update({f"val_{k}": v for k, v in val_logs.items()})
                callbacks.on_epoch_end(epoch, logs)
                if self._sync is not None:  # every replica stops at the same epoch
                    self.stop_training = self._sync.any_rank(self.stop_training)
                epoch += 1
        except KeyboardInterrupt:
            self.stop_training = True
            callbacks.on_train_end(logs)
            raise
        finally:
            GOVERNOR.stop()
        callbacks.on_train_end(logs)
        self._sync = None
        return callbacks.history

    def _run_epoch(self, epoch: int, data: EpochIterator, callbacks) -> dict:
        callbacks.on_epoch_begin(epoch)
        self.reset_metrics()
        ran = False
        for step, batch in data:
            callbacks.on_train_batch_begin(step)
            if self._sync is None or _batch_len(batch[0]):
                with plain_outputs():
                    batch_logs = self.train_step(_pack(batch))
                GOVERNOR.tick()
            else:  # an empty shard of the last batch still joins the all-reduce
                batch_logs = self._sync.idle_step(self)
            ran = True
            callbacks.on_train_batch_end(step, batch_logs)
            if self._sync is not None:
                self.stop_training = self._sync.any_rank(self.stop_training)
            if self.stop_training:
                break
        if not ran:
            raise DataError("fit: the training data yielded no batches. Check the data and steps_per_epoch.")
        if self._sync is not None:
            self._sync.end_epoch(self, self.metrics)
        return logs_to_floats(self._metrics_result_or_logs(batch_logs))

    def _metrics_result_or_logs(self, logs) -> dict:
        """The metrics' results when a step's logs name exactly them; else the logs a custom step returned."""
        result = self.get_metrics_result()
        if isinstance(logs, dict) and set(logs) != set(result):
            return logs
        return result

    # ----------------------------------------------------------------- evaluate
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False):
        """Loss and metrics on data: ``[loss, *metrics]`` (a scalar with no metrics, a dict with return_dict).

        Example:
            >>> loss, acc = model.evaluate(x_test, y_test, verbose=0)
        """
        self._require_compiled("evaluate")
        batch_size = positive("batch_size", 32 if batch_size is None else batch_size)
        verbose = verbosity(verbose)
        self._sync = _replica_sync()
        data = EpochIterator(self, x, y, sample_weight, batch_size=batch_size, steps=steps, what="evaluate",
                             sync=self._sync)
        self._build_before_the_loop(data)
        logs = self._evaluate_loop(data, self._callbacks(callbacks, verbose, 1, data, in_fit=False))
        self._sync = None
        return logs if return_dict else _unpack(logs)

    def _build_before_the_loop(self, data: EpochIterator) -> None:
        """A subclassed model creates its weights on the first batch, where Keras's fit and evaluate build it
        symbolically (batch None): summary() then shows None as the batch axis, as Keras's does."""
        if not self.built:
            with torch.no_grad():
                self(data.first_inputs(), training=False)
            self._built_symbolically = True

    def _evaluate_loop(self, data, callbacks) -> dict:
        callbacks.on_test_begin()
        self.reset_metrics()
        batch_logs = None
        with torch.no_grad():
            for step, batch in data:
                callbacks.on_test_batch_begin(step)
                with plain_outputs():
                    batch_logs = self.test_step(_pack(batch))
                callbacks.on_test_batch_end(step, batch_logs)
        if batch_logs is None:
            raise DataError("evaluate: the data yielded no batches. Check the data and steps.")
        if self._sync is not None:
            self._sync.reduce_metric_states(self.metrics)
        logs = logs_to_floats(self._metrics_result_or_logs(batch_logs))
        self.reset_metrics()
        callbacks.on_test_end(logs)
        return logs

    # ------------------------------------------------------------------ predict
    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Model outputs as NumPy (a list for several outputs), computed in inference mode.

        Example:
            >>> probabilities = model.predict(x_test, verbose=0)   # shape (n, 10)
        """
        batch_size = positive("batch_size", 32 if batch_size is None else batch_size)
        verbose = verbosity(verbose)
        data = EpochIterator(self, x, batch_size=batch_size, steps=steps, what="predict", check=False)
        cbs = self._callbacks(callbacks, verbose, 1, data, in_fit=False)
        cbs.on_predict_begin()
        outputs = []
        with torch.inference_mode():
            for step, batch in data:
                cbs.on_predict_batch_begin(step)
                with plain_outputs():
                    out = self.predict_step(batch)
                outputs.append(out)
                cbs.on_predict_batch_end(step, {"outputs": out})
        cbs.on_predict_end()
        if not outputs:
            raise DataError("predict: the data yielded no batches. Check x and steps.")
        return da.concat_outputs(outputs)

    # ----------------------------------------------------------- batch methods
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One training step on one batch; returns ``[loss, *metrics]`` for that batch."""
        self._require_compiled("train_on_batch")
        batch = one_batch(self, x, y, sample_weight, class_weight, "train_on_batch")
        if self._trainable_params is None:
            self._prepare_training()
        self.reset_metrics()
        with plain_outputs():
            logs = logs_to_floats(self.train_step(_pack(batch)))
        return logs if return_dict else _unpack(logs)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss and metrics on one batch, without updating the weights."""
        from cnnlab.callbacks import CallbackList

        self._require_compiled("test_on_batch")
        batch = one_batch(self, x, y, sample_weight, what="test_on_batch")
        logs = self._evaluate_loop([(0, batch)], CallbackList(None, add_history=False))
        return logs if return_dict else _unpack(logs)

    def predict_on_batch(self, x):
        """Outputs for one batch, as NumPy."""
        x_t, _, _ = one_batch(self, x, what="predict_on_batch")
        with torch.inference_mode():
            with plain_outputs():
                return da.concat_outputs([self.predict_step((x_t,))])


def _replica_sync():
    """The collectives of the running multi-process strategy, or None in one process (checked once per call)."""
    from cnnlab import distribute

    return distribute.current().replica_sync


def _plain_cross_entropy(loss):
    """``loss`` (on logits), with the common case -- sparse labels, no weights, batch mean -- as one fused op."""
    if type(loss).__name__ != "SparseCategoricalCrossentropy" or loss.reduction != "sum_over_batch_size" \
            or loss._fn_kwargs.get("axis", -1) != -1 or loss.dtype is not None:
        return loss

    def fast(y_true, logits, sample_weight=None):
        if sample_weight is None and y_true.dim() == 1 and y_true.dtype == torch.int64 and logits.dim() == 2 \
                and logits.dtype == torch.float32:
            return F.cross_entropy(logits, y_true)
        return loss(y_true, logits, sample_weight)

    return fast


def _pack(batch: tuple) -> tuple:
    """``(x, y)`` when there is no sample weight, as Keras hands batches to ``train_step``."""
    return batch if batch[2] is not None else batch[:2]


def _batch_len(x) -> int:
    return int(da.leaves(x)[0].shape[0])


def _unpack(logs: dict):
    values = list(logs.values())
    return values[0] if len(values) == 1 else values
