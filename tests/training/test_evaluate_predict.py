"""``evaluate``/``predict``/batch methods, several inputs and outputs, and checkpoints through a real fit."""

import os

import numpy as np
import pytest
import torch

import cnnlab
from cnnlab import callbacks, layers
from cnnlab.utils import set_random_seed


def _data(n=48, features=4, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, features), dtype=np.float32), rng.integers(0, classes, n)


def _mlp(metrics=("accuracy",)):
    model = cnnlab.Sequential([layers.Input((4,)), layers.Dense(8, activation="relu"),
                               layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=list(metrics))
    return model


def _two_in_two_out():
    a, b = layers.Input((4,), name="a"), layers.Input((3,), name="b")
    hidden = layers.Dense(8, activation="relu")(layers.Concatenate()([a, b]))
    cls = layers.Dense(3, activation="softmax", name="cls")(hidden)
    reg = layers.Dense(1, name="reg")(hidden)
    return cnnlab.Model([a, b], [cls, reg])


def test_evaluate_returns_scalar_list_or_dict():
    x, y = _data()
    assert isinstance(_mlp(metrics=()).evaluate(x, y, verbose=0), float)
    model = _mlp()
    loss, accuracy = model.evaluate(x, y, verbose=0)
    probs = model.predict(x, verbose=0)
    assert accuracy == pytest.approx(float((probs.argmax(1) == y).mean()))
    assert loss == pytest.approx(float(-np.log(probs[np.arange(len(y)), y].astype(np.float64)).mean()), rel=1e-5)
    assert model.evaluate(x, y, verbose=0, return_dict=True) == pytest.approx({"loss": loss, "accuracy": accuracy})


def test_predict_returns_numpy_of_all_samples_in_order():
    x, _ = _data(50)
    model = _mlp()
    out = model.predict(x, batch_size=7, verbose=0)
    assert isinstance(out, np.ndarray) and out.shape == (50, 3)
    np.testing.assert_allclose(out, model.predict_on_batch(x), rtol=1e-6)
    assert model.predict(torch.from_numpy(x), verbose=0).shape == (50, 3)


def test_train_test_predict_on_batch():
    x, y = _data(16)
    model = _mlp()
    loss, _ = model.test_on_batch(x, y)
    assert loss == pytest.approx(model.evaluate(x, y, batch_size=16, verbose=0)[0], rel=1e-6)
    before = model.get_weights()
    logs = model.train_on_batch(x, y, return_dict=True)
    assert set(logs) == {"loss", "accuracy"} and logs["loss"] == pytest.approx(loss, rel=1e-6)
    assert not np.array_equal(before[0], model.get_weights()[0])
    assert model.test_on_batch(x, y)[0] < loss


def test_multi_output_losses_weights_and_metric_names():
    set_random_seed(0)
    model = _two_in_two_out()
    model.compile("sgd", loss=["sparse_categorical_crossentropy", "mse"], loss_weights=[1.0, 0.5],
                  metrics=[["accuracy"], ["mae"]])
    xa, y1 = _data(32)
    xb = np.random.default_rng(1).random((32, 3), dtype=np.float32)
    y2 = np.random.default_rng(2).random((32, 1), dtype=np.float32)
    logs = model.evaluate([xa, xb], [y1, y2], batch_size=32, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "cls_loss", "reg_loss", "cls_accuracy", "reg_mae"}
    probs, reg = model.predict([xa, xb], verbose=0)
    ce = -np.log(probs[np.arange(32), y1].astype(np.float64)).mean()
    mse = ((reg - y2) ** 2).mean()
    assert logs["cls_loss"] == pytest.approx(ce, rel=1e-5)
    assert logs["reg_loss"] == pytest.approx(mse, rel=1e-5)
    assert logs["loss"] == pytest.approx(ce + 0.5 * mse, rel=1e-5)
    assert logs["reg_mae"] == pytest.approx(np.abs(reg - y2).mean(), rel=1e-5)
    assert logs["cls_accuracy"] == pytest.approx((probs.argmax(1) == y1).mean())
    history = model.fit([xa, xb], [y1, y2], epochs=1, verbose=0)
    assert set(history.history) == set(logs)


def test_dict_inputs_outputs_losses_and_metrics_by_name():
    model = _two_in_two_out()
    model.compile("adam", loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"},
                  loss_weights={"cls": 2.0, "reg": 1.0}, metrics={"cls": "accuracy"})
    xa, y1 = _data(32)
    xb, y2 = np.ones((32, 3), np.float32), np.zeros((32, 1), np.float32)
    logs = model.evaluate({"a": xa, "b": xb}, {"cls": y1, "reg": y2}, verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(2 * logs["cls_loss"] + logs["reg_loss"], rel=1e-5)
    assert set(logs) == {"loss", "cls_loss", "reg_loss", "cls_accuracy"}
    out = model.predict({"a": xa, "b": xb}, verbose=0)
    assert isinstance(out, list) and [o.shape for o in out] == [(32, 3), (32, 1)]
    with pytest.raises(cnnlab.errors.ConfigError, match="outputs are\\s+\\['cls', 'reg'\\]|names outputs"):
        model.compile("adam", loss={"clss": "mse"})


def test_callback_hooks_fire_in_keras_order_for_fit_evaluate_predict():
    x, y = _data(16)
    events = []
    hooks = {name: (lambda n: lambda *args: events.append(n))(name) for name in cnnlab.callbacks.base.HOOK_NAMES
             if name not in ("on_batch_begin", "on_batch_end")}
    model = _mlp()
    model.fit(x, y, batch_size=8, validation_data=(x, y), verbose=0, callbacks=[callbacks.LambdaCallback(**hooks)])
    assert events == ["on_train_begin", "on_epoch_begin", "on_train_batch_begin", "on_train_batch_end",
                      "on_train_batch_begin", "on_train_batch_end", "on_test_begin", "on_test_batch_begin",
                      "on_test_batch_end", "on_test_batch_begin", "on_test_batch_end", "on_test_end",
                      "on_epoch_end", "on_train_end"]
    events.clear()
    model.predict(x, batch_size=16, verbose=0, callbacks=[callbacks.LambdaCallback(**hooks)])
    assert events == ["on_predict_begin", "on_predict_batch_begin", "on_predict_batch_end", "on_predict_end"]


def test_model_checkpoint_save_best_only_and_load_gives_same_predictions(tmp_path):
    set_random_seed(0)
    x, y = _data(64)
    model = _mlp()
    path = str(tmp_path / "best-{epoch:02d}-{val_loss:.2f}.cnnlab")
    history = model.fit(x, y, epochs=4, validation_split=0.25, verbose=0,
                        callbacks=[callbacks.ModelCheckpoint(path, save_best_only=True)])
    val_losses = history.history["val_loss"]
    improved = [e for e, v in enumerate(val_losses) if v == min(val_losses[:e + 1])]
    expected = {f"best-{e + 1:02d}-{val_losses[e]:.2f}.cnnlab" for e in improved}
    assert set(os.listdir(tmp_path)) == expected
    last = tmp_path / f"best-{improved[-1] + 1:02d}-{val_losses[improved[-1]]:.2f}.cnnlab"
    loaded = cnnlab.models.load_model(str(last))
    if improved[-1] == 3:
        np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    # compile info survives: evaluate works at once and reports the checkpoint's val_loss
    assert loaded.evaluate(x[48:], y[48:], verbose=0)[0] == pytest.approx(val_losses[improved[-1]], rel=1e-5)


def test_weights_only_checkpoint_writes_safetensors(tmp_path):
    x, y = _data()
    model = _mlp()
    path = tmp_path / "w.weights.safetensors"
    model.fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.ModelCheckpoint(str(path), save_weights_only=True,
                                                                                  monitor="loss")])
    other = _mlp()
    other.load_weights(str(path))
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), other.get_weights()))


def test_loaded_model_continues_training_like_the_original(tmp_path):
    x, y = _data(64)
    model = _mlp()
    model.fit(x, y, epochs=2, verbose=0)
    model.save(str(tmp_path / "m.cnnlab"))
    loaded = cnnlab.models.load_model(str(tmp_path / "m.cnnlab"))
    for m in (model, loaded):
        set_random_seed(5)
        m.fit(x, y, epochs=2, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), loaded.get_weights()))


def test_early_stopping_restores_best_weights_in_real_fit():
    x, y = _data(64)
    model = _mlp()
    best = {}

    class Remember(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if not best or logs["val_loss"] < best["val_loss"]:
                best.update(val_loss=logs["val_loss"], weights=self.model.get_weights())

    model.compile(cnnlab.optimizers.SGD(learning_rate=5.0), "sparse_categorical_crossentropy")  # erratic val_loss
    stopper = callbacks.EarlyStopping(patience=2, restore_best_weights=True)
    model.fit(x, y, epochs=30, validation_split=0.25, verbose=0, callbacks=[Remember(), stopper])
    assert stopper.stopped_epoch > 0
    assert all(np.array_equal(a, b) for a, b in zip(best["weights"], model.get_weights()))
