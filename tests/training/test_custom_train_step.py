"""train_step / test_step overrides and training loops as the Keras 3 torch guides write them.

"Customizing what happens in fit() with PyTorch", "Writing a training loop from scratch in PyTorch" and
"Training & evaluation with the built-in methods" (custom losses, metrics and add_loss).
"""

import numpy as np
import pytest
import torch

import cnnlab as keras
from cnnlab import layers, ops

RNG = np.random.default_rng(0)
X = RNG.random((64, 32), dtype=np.float32)
Y = RNG.random((64, 1), dtype=np.float32)


class CustomModel(keras.Model):
    def train_step(self, data):
        x, y = data
        self.zero_grad()
        y_pred = self(x, training=True)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        loss.backward()
        trainable_weights = [v for v in self.trainable_weights]
        gradients = [v.value.grad for v in trainable_weights]
        with torch.no_grad():
            self.optimizer.apply(gradients, trainable_weights)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        x, y = data
        y_pred = self(x, training=False)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


def _functional(cls=CustomModel):
    inputs = keras.Input(shape=(32,))
    outputs = layers.Dense(1)(inputs)
    return cls(inputs, outputs)


def test_guide_custom_train_step_on_a_functional_subclass_trains_and_logs_loss_and_mae():
    model = _functional()
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    before = model.evaluate(X, Y, verbose=0)
    history = model.fit(X, Y, epochs=3, verbose=0)
    assert set(history.history) == {"loss", "mae"}
    assert history.history["loss"][-1] < history.history["loss"][0]
    loss, mae = model.evaluate(X, Y, verbose=0)
    assert loss < before[0]
    predictions = model.predict(X, verbose=0)
    assert mae == pytest.approx(float(np.abs(predictions - Y).mean()), rel=1e-4)
    assert loss == pytest.approx(float(((predictions - Y) ** 2).mean()), rel=1e-4)


def test_guide_step_runs_the_overridden_step_not_the_built_in_one():
    calls = []

    class Counting(CustomModel):
        def train_step(self, data):
            calls.append(len(data[0]))
            return super().train_step(data)

    model = _functional(Counting)
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, Y, epochs=1, batch_size=16, verbose=0)
    assert calls == [16, 16, 16, 16]


def test_guide_loss_tracker_and_metrics_property_with_compile_without_loss():
    loss_tracker = keras.metrics.Mean(name="loss")
    mae_metric = keras.metrics.MeanAbsoluteError(name="mae")

    class TrackerModel(keras.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.loss_fn = keras.losses.MeanSquaredError()

        def train_step(self, data):
            x, y = data
            self.zero_grad()
            y_pred = self(x, training=True)
            loss = self.loss_fn(y, y_pred)
            loss.backward()
            trainable_weights = [v for v in self.trainable_weights]
            gradients = [v.value.grad for v in trainable_weights]
            with torch.no_grad():
                self.optimizer.apply(gradients, trainable_weights)
            loss_tracker.update_state(loss)
            mae_metric.update_state(y, y_pred)
            return {"loss": loss_tracker.result(), "mae": mae_metric.result()}

        @property
        def metrics(self):
            return [loss_tracker, mae_metric]

    model = _functional(TrackerModel)
    with _no_warning():
        model.compile(optimizer="adam")
    history = model.fit(X, Y, epochs=2, verbose=0)
    assert set(history.history) == {"loss", "mae"}
    assert history.history["loss"][1] < history.history["loss"][0]


class _no_warning:
    def __enter__(self):
        import warnings

        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("error")

    def __exit__(self, *exc):
        self._catch.__exit__(*exc)


def test_metric_attributes_of_a_model_are_in_its_metrics():
    class Tracked(keras.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.extra = keras.metrics.Mean(name="extra")

    model = _functional(Tracked)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    assert [m.name for m in model.metrics] == ["loss", "mae", "extra"]


def test_custom_step_returning_its_own_logs_keeps_them():
    class Logs(keras.Model):
        def train_step(self, data):
            return {"custom": torch.tensor(3.0)}

    model = _functional(Logs)
    model.compile(optimizer="adam")
    assert model.fit(X, Y, epochs=1, verbose=0).history == {"custom": [3.0]}


def test_sample_weight_variant_passes_weights_to_compute_loss():
    class Weighted(keras.Model):
        def train_step(self, data):
            x, y, sample_weight = data
            self.zero_grad()
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred, sample_weight=sample_weight)
            loss.backward()
            weights = self.trainable_weights
            with torch.no_grad():
                self.optimizer.apply([v.value.grad for v in weights], weights)
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred, sample_weight=sample_weight)
            return {m.name: m.result() for m in self.metrics}

    model = _functional(Weighted)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse", metrics=["mae"])
    weights = np.zeros(64, np.float32)
    weights[:8] = 1.0
    logs = model.fit(X, Y, sample_weight=weights, batch_size=64, epochs=1, verbose=0).history
    predictions = model.predict(X, verbose=0)
    squared = ((predictions - Y) ** 2).mean(axis=1)
    assert logs["loss"][0] == pytest.approx(float((squared * weights).sum() / 64), rel=1e-4)


def test_training_loop_from_scratch_with_keras_optimizer_and_loss():
    inputs = keras.Input(shape=(32,), name="digits")
    x1 = layers.Dense(16, activation="relu")(inputs)
    outputs = layers.Dense(3, name="predictions")(x1)
    model = keras.Model(inputs=inputs, outputs=outputs)
    optimizer = keras.optimizers.Adam(learning_rate=1e-2)
    loss_fn = keras.losses.CategoricalCrossentropy(from_logits=True)
    optimizer.build(model.trainable_variables)
    train_acc_metric = keras.metrics.CategoricalAccuracy()
    targets = torch.nn.functional.one_hot(torch.as_tensor(RNG.integers(0, 3, 64)), 3).float()
    first = None
    for _ in range(20):
        logits = model(torch.as_tensor(X))
        loss = loss_fn(targets, logits)
        model.zero_grad()
        trainable_weights = [v for v in model.trainable_weights]
        loss.backward()
        gradients = [v.value.grad for v in trainable_weights]
        with torch.no_grad():
            optimizer.apply(gradients, trainable_weights)
        train_acc_metric.update_state(targets, logits)
        first = first if first is not None else float(loss.detach().numpy())
    assert float(loss.detach().numpy()) < first
    assert 0.0 <= float(train_acc_metric.result()) <= 1.0
    train_acc_metric.reset_state()
    assert float(train_acc_metric.result()) == 0.0


def test_plain_torch_loop_with_torch_optimizer_trains_a_cnnlab_model():
    model = keras.Sequential([layers.Input((32,)), layers.Dense(1)])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    x, y = torch.as_tensor(X), torch.as_tensor(Y)
    losses = []
    for _ in range(10):
        loss = torch.nn.functional.mse_loss(model(x), y)
        model.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
    assert losses[-1] < losses[0]


def test_add_loss_layer_in_the_low_level_loop_and_in_fit():
    class ActivityRegularizationLayer(layers.Layer):
        def call(self, inputs):
            self.add_loss(1e-2 * torch.sum(inputs))
            return inputs

    inputs = keras.Input(shape=(32,))
    hidden = ActivityRegularizationLayer()(layers.Dense(8, activation="relu")(inputs))
    model = keras.Model(inputs, layers.Dense(1)(hidden))
    out = model(torch.as_tensor(X))
    assert len(model.losses) == 1
    total = torch.sum(*model.losses)
    assert float(total.detach()) == pytest.approx(1e-2 * float(model.layers[1](torch.as_tensor(X)).sum()), rel=1e-4)
    del out
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse")
    loss = model.evaluate(X, Y, batch_size=64, verbose=0)
    hidden_values = model.layers[1](torch.as_tensor(X)).detach().numpy()
    predictions = model.predict(X, verbose=0)
    expected = float(((predictions - Y) ** 2).mean() + 1e-2 * hidden_values.sum())
    assert loss == pytest.approx(expected, rel=1e-4)
    history = model.fit(X, Y, batch_size=64, epochs=1, verbose=0)
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-4)


def test_fit_with_only_add_loss_losses_and_no_compiled_loss():
    class Penalty(layers.Layer):
        def call(self, inputs):
            self.add_loss(ops.mean(ops.square(inputs)))
            return inputs

    inputs = keras.Input(shape=(32,))
    model = keras.Model(inputs, Penalty()(layers.Dense(4)(inputs)))
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1))
    history = model.fit(X, Y, epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_custom_loss_function_and_loss_subclass_in_compile():
    def custom_mean_squared_error(y_true, y_pred):
        return ops.mean(ops.square(y_true - y_pred), axis=-1)

    class CustomMSE(keras.losses.Loss):
        def __init__(self, regularization_factor=0.1, name="custom_mse"):
            super().__init__(name=name)
            self.regularization_factor = regularization_factor

        def call(self, y_true, y_pred):
            mse = ops.mean(ops.square(y_true - y_pred), axis=-1)
            reg = ops.mean(ops.square(0.5 - y_pred), axis=-1)
            return mse + reg * self.regularization_factor

    for loss in (custom_mean_squared_error, CustomMSE()):
        model = keras.Sequential([layers.Input((32,)), layers.Dense(1)])
        model.compile(optimizer="adam", loss=loss)
        history = model.fit(X, Y, epochs=2, verbose=0)
        assert np.isfinite(history.history["loss"]).all()


def test_overridden_compute_loss_with_loss_tracker_as_in_keras_docstring():
    class MyModel(keras.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.loss_tracker = keras.metrics.Mean(name="loss")

        def compute_loss(self, x, y, y_pred, sample_weight, training=True):
            loss = ops.mean((y_pred - y) ** 2)
            self.loss_tracker.update_state(loss.detach())
            return loss

        def reset_metrics(self):
            self.loss_tracker.reset_state()

        @property
        def metrics(self):
            return [self.loss_tracker]

    inputs = layers.Input(shape=(32,), name="my_input")
    model = MyModel(inputs, layers.Dense(1)(inputs))
    model.compile(keras.optimizers.SGD(), loss="mse")
    history = model.fit(X, Y, epochs=2, verbose=0)
    assert list(history.history) == ["loss"]


def test_removing_the_softmax_after_compile_stops_the_logits_shortcut():
    rng = np.random.default_rng(3)
    x = rng.random((16, 32), dtype=np.float32)
    y = rng.integers(0, 3, 16)
    model = keras.Sequential([layers.Input((32,)), layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="sparse_categorical_crossentropy")
    model.train_on_batch(x, y)
    model.layers[-1].activation = None
    outputs = model.predict(x, verbose=0)
    probabilities = np.clip(outputs / outputs.sum(axis=1, keepdims=True), 1e-7, 1 - 1e-7)
    expected = float(-np.log(probabilities[np.arange(16), y]).mean())
    assert model.train_on_batch(x, y) == pytest.approx(expected, rel=1e-4)


def test_guide_gan_style_compile_override_with_extra_optimizers():
    class Pair(keras.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.d_loss_tracker = keras.metrics.Mean(name="d_loss")

        def compile(self, d_optimizer, loss_fn):
            super().compile()
            self.d_optimizer = d_optimizer
            self.loss_fn = loss_fn

        @property
        def metrics(self):
            return [self.d_loss_tracker]

        def train_step(self, data):
            x, y = data
            self.zero_grad()
            loss = self.loss_fn(y, self(x, training=True))
            loss.backward()
            weights = self.trainable_weights
            with torch.no_grad():
                self.d_optimizer.apply([w.value.grad for w in weights], weights)
            self.d_loss_tracker.update_state(loss.detach())
            return {"d_loss": self.d_loss_tracker.result()}

    model = _functional(Pair)
    model.compile(d_optimizer=keras.optimizers.Adam(learning_rate=1e-2), loss_fn=keras.losses.MeanSquaredError())
    history = model.fit(X, Y, epochs=2, verbose=0)
    assert history.history["d_loss"][1] < history.history["d_loss"][0]
