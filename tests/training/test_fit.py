"""``Model.fit`` with the real trainer: Keras semantics of each argument, checked against NumPy."""

import numpy as np
import pytest
import torch

import cnnlab
from cnnlab import callbacks, constraints, layers, regularizers
from cnnlab.errors import ConfigError
from cnnlab.utils import set_random_seed


def _data(n=64, features=4, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, features), dtype=np.float32), rng.integers(0, classes, n)


def _mlp(features=4, classes=3, optimizer="sgd", metrics=("accuracy",), **dense_kwargs):
    model = cnnlab.Sequential([layers.Input((features,)), layers.Dense(classes, activation="softmax", **dense_kwargs)])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=list(metrics))
    return model


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _numpy_sparse_ce(model, x, y, sample_weight=None):
    """Keras's sum-over-batch-size cross-entropy for a one-Dense softmax model, in NumPy."""
    kernel, bias = model.get_weights()
    per_sample = -np.log(_softmax(x.astype(np.float64) @ kernel + bias)[np.arange(len(y)), y])
    weights = np.ones(len(y)) if sample_weight is None else sample_weight
    return float((per_sample * weights).sum() / len(y))


def test_history_has_keras_keys_per_epoch():
    x, y = _data()
    history = _mlp().fit(x, y, epochs=3, validation_split=0.25, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 3 for v in history.history.values())
    assert history.epoch == [0, 1, 2]


def test_validation_split_takes_last_fraction_before_shuffling():
    # Labels 0 in the first 48 samples and 2 in the last 16: if the split were taken after
    # shuffling (or from the front), val would contain class 0 and val_loss would match it.
    x, y = _data(64)
    y = np.r_[np.zeros(48, int), np.full(16, 2)]
    model = _mlp()
    val_losses = []
    model.fit(x, y, epochs=1, validation_split=0.25, shuffle=True, verbose=0,
              callbacks=[callbacks.LambdaCallback(on_epoch_end=lambda e, logs: val_losses.append(logs["val_loss"]))])
    assert val_losses[0] == pytest.approx(_numpy_sparse_ce(model, x[48:], y[48:]), rel=1e-5)


def test_validation_data_tuple_gives_val_metrics_of_that_data():
    x, y = _data()
    vx, vy = _data(20, seed=1)
    model = _mlp()
    history = model.fit(x, y, epochs=1, validation_data=(vx, vy), verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(_numpy_sparse_ce(model, vx, vy), rel=1e-5)


def test_sample_weight_loss_equals_numpy_weighted_mean():
    x, y = _data(16)
    weights = np.linspace(0.0, 2.0, 16).astype(np.float32)
    model = _mlp()
    loss = model.evaluate(x, y, sample_weight=weights, batch_size=16, verbose=0, return_dict=True)["loss"]
    assert loss == pytest.approx(_numpy_sparse_ce(model, x, y, weights), rel=1e-5)


def test_class_weight_scales_loss_by_class_and_leaves_accuracy_unweighted():
    x, y = _data(16)
    model = _mlp(optimizer=cnnlab.optimizers.SGD(learning_rate=0.0))  # lr 0: the logged loss is of these weights
    class_weight = {0: 0.5, 1: 1.0, 2: 3.0}
    expected = _numpy_sparse_ce(model, x, y, np.array([class_weight[c] for c in y]))
    accuracy = float((model.predict(x, verbose=0).argmax(1) == y).mean())
    logs = model.fit(x, y, batch_size=16, class_weight=class_weight, verbose=0, shuffle=False).history
    assert logs["loss"][0] == pytest.approx(expected, rel=1e-5)
    assert logs["accuracy"][0] == pytest.approx(accuracy)  # Keras 3: `metrics` ignore sample weights


def test_shuffle_false_visits_batches_in_order_and_true_permutes():
    x = np.arange(12, dtype=np.float32).reshape(12, 1)
    y = np.zeros(12, int)
    seen = []

    class Record(cnnlab.Sequential):
        def train_step(self, data):
            seen.append(data[0][:, 0].tolist())
            return super().train_step(data)

    model = Record([layers.Input((1,)), layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=4, shuffle=False, verbose=0)
    assert seen == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    seen.clear()
    set_random_seed(3)
    model.fit(x, y, batch_size=4, shuffle=True, verbose=0)
    flat = sum(seen, [])
    assert sorted(flat) == list(range(12)) and flat != list(range(12))


def test_initial_epoch_starts_count_and_runs_remaining_epochs():
    x, y = _data()
    epochs = []
    history = _mlp().fit(x, y, epochs=5, initial_epoch=3, verbose=0,
                         callbacks=[callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: epochs.append(e))])
    assert epochs == [3, 4] and len(history.history["loss"]) == 2


def test_steps_per_epoch_with_infinite_generator():
    x, y = _data()
    calls = {"n": 0}

    def forever():
        while True:
            calls["n"] += 1
            yield x[:8], y[:8]

    batches = []
    _mlp().fit(forever(), steps_per_epoch=3, epochs=2, verbose=0,
               callbacks=[callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: batches.append(b))])
    assert batches == [0, 1, 2, 0, 1, 2]
    assert calls["n"] == 6  # the generator is not rewound or over-read


def test_steps_per_epoch_caps_array_batches():
    x, y = _data(64)
    batches = []
    _mlp().fit(x, y, batch_size=8, steps_per_epoch=2, verbose=0,
               callbacks=[callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: batches.append(b))])
    assert batches == [0, 1]


def test_validation_freq_validates_every_nth_epoch():
    x, y = _data()
    seen = []
    _mlp().fit(x, y, epochs=4, validation_split=0.25, validation_freq=2, verbose=0,
               callbacks=[callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen.append("val_loss" in logs))])
    assert seen == [False, True, False, True]


def test_list_of_batches_and_dataloader_inputs_train():
    x, y = _data(32)
    model = _mlp()
    history = model.fit([(x[:16], y[:16]), (x[16:], y[16:])], epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
                                         batch_size=8)
    history = model.fit(loader, epochs=1, validation_data=loader, verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(_numpy_sparse_ce(model, x, y), rel=1e-5)


def test_stop_training_from_callback_ends_fit_after_that_batch():
    x, y = _data(64)
    batches = []

    class StopAtTwo(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            batches.append(batch)
            if batch == 2:
                self.model.stop_training = True

    history = _mlp().fit(x, y, batch_size=8, epochs=5, verbose=0, callbacks=[StopAtTwo()])
    assert batches == [0, 1, 2] and len(history.history["loss"]) == 1


def test_set_random_seed_makes_cpu_fits_bit_identical():
    x, y = _data(64)

    def run():
        set_random_seed(7)
        model = cnnlab.Sequential([layers.Input((4,)), layers.Dense(8, activation="relu"), layers.Dropout(0.3),
                                   layers.Dense(3, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"], device="cpu")
        history = model.fit(x, y, epochs=3, batch_size=16, validation_split=0.2, verbose=0)
        return model.get_weights(), history.history

    (w1, h1), (w2, h2) = run(), run()
    assert all(np.array_equal(a, b) for a, b in zip(w1, w2))
    assert h1 == h2


def test_l2_regularizer_adds_l2_times_sum_of_squares_to_loss():
    x, y = _data(16)
    set_random_seed(0)
    plain = _mlp(metrics=())
    set_random_seed(0)
    reg = _mlp(metrics=(), kernel_regularizer=regularizers.L2(0.05))
    reg.set_weights(plain.get_weights())
    kernel = plain.get_weights()[0]
    difference = reg.evaluate(x, y, verbose=0) - plain.evaluate(x, y, verbose=0)
    assert difference == pytest.approx(0.05 * float((kernel.astype(np.float64) ** 2).sum()), rel=1e-4)


def test_constraints_hold_after_fit():
    x, y = _data(64)
    model = cnnlab.Sequential([
        layers.Input((4,)),
        layers.Dense(8, activation="relu", kernel_constraint=constraints.MaxNorm(0.5)),
        layers.Dense(3, activation="softmax", kernel_constraint=constraints.NonNeg()),
    ])
    model.compile(cnnlab.optimizers.SGD(learning_rate=1.0), "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    kernel1, _, kernel2, _ = model.get_weights()
    assert np.sqrt((kernel1 ** 2).sum(axis=0)).max() <= 0.5 + 1e-6  # MaxNorm: per output unit, over inputs
    assert kernel2.min() >= 0.0


def test_schedule_and_lr_callbacks_change_rate_during_fit():
    x, y = _data(32)
    schedule = cnnlab.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    model = _mlp(optimizer=cnnlab.optimizers.SGD(learning_rate=schedule))
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)  # 4 steps: 0.1 * 0.5**4
    assert float(model.optimizer.learning_rate) == pytest.approx(0.1 * 0.5 ** 4)

    model = _mlp(optimizer=cnnlab.optimizers.SGD(learning_rate=0.1))
    history = model.fit(x, y, epochs=3, verbose=0,
                        callbacks=[callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))])
    assert float(model.optimizer.learning_rate) == pytest.approx(0.1 / 3)
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.1 / 3])

    model = _mlp(optimizer=cnnlab.optimizers.SGD(learning_rate=0.0))  # lr 0: loss never improves
    model.fit(x, y, epochs=3, verbose=0,
              callbacks=[callbacks.ReduceLROnPlateau(monitor="loss", patience=1, factor=0.5, min_lr=0.0)])
    assert float(model.optimizer.learning_rate) == 0.0
    model = _mlp(optimizer=cnnlab.optimizers.SGD(learning_rate=1e-9))
    model.fit(x, y, epochs=3, verbose=0,
              callbacks=[callbacks.ReduceLROnPlateau(monitor="loss", patience=1, factor=0.5, min_delta=1.0)])
    assert float(model.optimizer.learning_rate) < 1e-9


def test_batchnorm_moving_stats_change_in_fit_only():
    x, y = _data(64)
    x = x * 5 + 3
    model = cnnlab.Sequential([layers.Input((4,)), layers.BatchNormalization(), layers.Dense(3, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    moving = lambda: [w.copy() for w in model.layers[0].get_weights()[2:]]  # noqa: E731
    before = moving()
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)
    model.test_on_batch(x, y)
    model.predict_on_batch(x)
    assert all(np.array_equal(a, b) for a, b in zip(before, moving()))
    model.fit(x, y, epochs=1, verbose=0)
    assert not np.array_equal(before[0], moving()[0])
    after_fit = moving()
    model.train_on_batch(x, y)
    assert not np.array_equal(after_fit[0], moving()[0])


def test_dropout_active_only_in_training_methods():
    x = np.ones((200, 50), np.float32)
    model = cnnlab.Sequential([layers.Input((50,)), layers.Dropout(0.5), layers.Dense(1, use_bias=False,
                                                                                     kernel_initializer="ones")])
    model.compile(cnnlab.optimizers.SGD(learning_rate=0.0), "mse")
    # Inference: no dropout, output is exactly sum of 50 ones.
    assert np.all(model.predict(x, verbose=0) == 50.0)
    assert np.all(model.predict_on_batch(x) == 50.0)
    assert model.evaluate(x, np.full((200, 1), 50.0), verbose=0) == 0.0
    # Training: dropped units make outputs vary around 50, so the MSE to 50 is > 0.
    assert model.train_on_batch(x, np.full((200, 1), 50.0)) > 1.0
    assert model.fit(x, np.full((200, 1), 50.0), verbose=0).history["loss"][0] > 1.0
    assert np.all(model(torch.from_numpy(x)).detach().numpy() == 50.0)  # fit leaves the model in inference mode


def test_softmax_fast_path_loss_equals_probability_loss():
    x, y = _data(48)
    model = _mlp()
    probs = model.predict(x, verbose=0).astype(np.float64)
    expected = -np.log(probs[np.arange(len(y)), y]).mean()
    assert model.evaluate(x, y, verbose=0, return_dict=True)["loss"] == pytest.approx(expected, rel=1e-5)
    # Training uses the logits path: with lr 0 its logged loss is the same number.
    model.compile(cnnlab.optimizers.SGD(learning_rate=0.0), "sparse_categorical_crossentropy")
    assert model.fit(x, y, batch_size=48, verbose=0).history["loss"][0] == pytest.approx(expected, rel=1e-5)


def test_overridden_train_step_in_keras3_torch_style():
    x, y = _data(64)

    class Custom(cnnlab.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(3, activation="softmax")

        def call(self, inputs):
            return self.dense(inputs)

        def train_step(self, data):
            x, y = data
            y_pred = self(x, training=True)
            loss = self.compute_loss(x, y, y_pred)
            self.zero_grad()
            loss.backward()
            weights = self.trainable_weights
            self.optimizer.apply([w.value.grad for w in weights], weights)
            self._loss_tracker.update_state(loss.detach(), sample_weight=len(x))
            return self.compute_metrics(x, y, y_pred)

    model = Custom()
    model.compile(cnnlab.optimizers.SGD(learning_rate=0.5), "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=5, verbose=0)
    assert set(history.history) == {"loss", "accuracy"}
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_batch_logs_are_tensors_and_progress_bar_does_not_sync_each_step(monkeypatch, capsys):
    x, y = _data(256)
    model = _mlp()
    kinds = []
    from cnnlab.metrics import Mean

    reads = {"n": 0}
    original = torch.Tensor.item

    def counting_item(self):
        reads["n"] += 1
        return original(self)

    monkeypatch.setattr(torch.Tensor, "item", counting_item)
    monkeypatch.setattr(torch.Tensor, "__float__", lambda self: (reads.__setitem__("n", reads["n"] + 1),
                                                                 original(self))[1])
    model.fit(x, y, batch_size=4, epochs=1, verbose=1,
              callbacks=[callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: kinds.append(
                  {type(v) for v in logs.values()}))])
    assert kinds and all(k == {torch.Tensor} for k in kinds)
    assert reads["n"] < 16  # 64 steps: far fewer reads than steps
    assert "64/64" in capsys.readouterr().out
    assert isinstance(Mean().result(), torch.Tensor)


def test_verbose_modes_print_bar_line_or_nothing(capsys):
    x, y = _data(32)
    model = _mlp()
    model.fit(x, y, epochs=2, verbose=0)
    assert capsys.readouterr().out == ""
    model.fit(x, y, epochs=2, verbose=2, validation_split=0.25)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "val_loss" in out and "━" not in out
    model.fit(x, y, epochs=1, verbose="auto")
    out = capsys.readouterr().out
    assert "1/1" in out and "loss:" in out
    with pytest.raises(cnnlab.errors.ConfigError, match="verbose"):
        model.fit(x, y, verbose=3)


def test_device_cpu_and_missing_cuda_gives_clear_error():
    model = _mlp()
    model.compile("sgd", "sparse_categorical_crossentropy", device="cpu")
    assert model.device == torch.device("cpu")
    assert cnnlab.utils.list_devices()[0] == "cpu"
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert cnnlab.utils.gpu_device_name() == ""
    with pytest.raises(cnnlab.errors.ConfigError, match=r"CUDA was requested but is not available.*device='cpu'"):
        model.compile("sgd", "sparse_categorical_crossentropy", device="cuda")


@pytest.mark.slow  # torch.compile's first call takes ~5 s on 2 cores
def test_jit_compile_trains_tiny_model():
    x, y = _data(32)
    model = _mlp()
    model.compile(cnnlab.optimizers.SGD(learning_rate=0.5), "sparse_categorical_crossentropy", jit_compile=True)
    try:
        history = model.fit(x, y, epochs=3, batch_size=32, verbose=0)
    except Exception as err:  # a machine without a C++ compiler cannot run inductor
        pytest.skip(f"torch.compile unavailable here: {err}")
    assert history.history["loss"][-1] < history.history["loss"][0]


@pytest.mark.parametrize("value, compiled", [("auto", False), (None, False), (False, False), (True, True)])
def test_jit_compile_auto_runs_eagerly(value, compiled):
    model = cnnlab.Sequential([layers.Input((4,)), layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", jit_compile=value)
    assert model._jit is compiled


@pytest.mark.parametrize("bad", ["yes", 1, "xla"])
def test_jit_compile_refuses_other_values(bad):
    model = cnnlab.Sequential([layers.Input((4,)), layers.Dense(2, activation="softmax")])
    with pytest.raises(ConfigError, match=r"jit_compile must be True, False or 'auto'.*Received: jit_compile="):
        model.compile("sgd", "sparse_categorical_crossentropy", jit_compile=bad)


def test_fast_loss_path_matches_the_general_loss_with_and_without_penalties():
    """fit's fused sparse cross-entropy (no weights, batch mean) and penalty skip give the general path's losses."""
    x, y = _data(32)

    def losses(kernel_regularizer, fast):
        set_random_seed(0)
        model = _mlp(metrics=(), kernel_regularizer=kernel_regularizer)
        model._prepare_training()
        if not fast:
            model._fast_logits = None  # the general path: softmax output, loss on probabilities, all penalties
        batch = (torch.from_numpy(x[:16]), torch.from_numpy(y[:16]).long())
        return [float(model.train_step(batch)["loss"]) for _ in range(3)]

    for regularizer in (None, regularizers.L2(0.05)):
        np.testing.assert_allclose(losses(regularizer, True), losses(regularizer, False), rtol=1e-5)
