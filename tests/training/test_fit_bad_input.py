"""Issue-4 bad inputs: each raises the exact cnnlab error naming the argument, with a fix."""

import os
import warnings

import numpy as np
import torch
import pytest

import cnnlab
from cnnlab import callbacks, layers
from cnnlab.errors import ConfigError, DataError, ShapeError, UnknownNameError
from cnnlab.errors import NotCompiledError


def _model(compiled=True, loss="sparse_categorical_crossentropy"):
    model = cnnlab.Sequential([layers.Input((4,)), layers.Dense(3, activation="softmax")])
    if compiled:
        model.compile("adam", loss, metrics=["accuracy"])
    return model


X = np.random.default_rng(0).random((20, 4), dtype=np.float32)
Y = np.arange(20) % 3


def test_fit_before_compile():
    with pytest.raises(NotCompiledError, match=r"must be compiled before fit\(\). Call model.compile\("):
        _model(compiled=False).fit(X, Y)


def test_x_and_y_of_different_lengths():
    with pytest.raises(DataError, match=r"fit: x and y must have the same number.*20 inputs and 19 labels.*"
                                        r"same split.*Received: len\(x\)=20, len\(y\)=19"):
        _model().fit(X, Y[:19], verbose=0)


def test_labels_outside_output_range():
    with pytest.raises(DataError, match=r"class ids in \[0, 2\].*3 units.*from 0 to 5.*Dense\(6\)"):
        _model().fit(X, Y + (Y == 2) * 3, verbose=0)  # 2 becomes 5
    with pytest.raises(DataError, match=r"evaluate: labels must be.*from -1 to 2"):
        _model().evaluate(X, Y - (Y == 0), verbose=0)


def test_one_hot_labels_with_sparse_loss_and_the_reverse():
    one_hot = np.eye(3, dtype=np.float32)[Y]
    with pytest.raises(DataError, match=r"expects integer class labels.*one-hot.*categorical_crossentropy.*argmax"):
        _model().fit(X, one_hot, verbose=0)
    with pytest.raises(DataError, match=r"expects one-hot labels of shape \(n, 3\).*sparse_categorical_crossentropy"
                                        r".*to_categorical"):
        _model(loss="categorical_crossentropy").fit(X, Y, verbose=0)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_in_inputs(bad):
    x = X.copy()
    x[7, 2] = bad
    with pytest.raises(DataError, match=r"x contains NaN or inf \(first at sample 7\).*nan_to_num"):
        _model().fit(x, Y, verbose=0)


@pytest.mark.parametrize("row", [0, 7, 11])
def test_nan_found_in_any_chunk_of_the_finite_check(monkeypatch, row):
    from cnnlab.training import data_adapters

    monkeypatch.setattr(data_adapters, "_FINITE_CHUNK", 2 * X[0].size)  # two samples per chunk
    x = X.copy()
    x[row, -1] = np.nan
    with pytest.raises(DataError, match=rf"x contains NaN or inf \(first at sample {row}\)"):
        _model().fit(x, Y, verbose=0)
    _model().fit(X, Y, verbose=0)  # clean data passes every chunk


def test_images_missing_the_size_one_channel_axis_train_as_keras_adds_it():
    model = cnnlab.Sequential([layers.Input((28, 28, 1)), layers.Conv2D(2, 3), layers.Flatten(),
                               layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(np.zeros((4, 28, 28), np.float32), np.zeros(4, int), verbose=0)
    assert model.predict(np.zeros((2, 28, 28), np.float32), verbose=0).shape == (2, 3)


def test_images_missing_a_channel_axis_of_three_still_fail_with_the_fix():
    model = cnnlab.Sequential([layers.Input((28, 28, 3)), layers.Conv2D(2, 3), layers.Flatten(),
                               layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    with pytest.raises(ShapeError, match=r"expects 4-D input.*got shape \(4, 28, 28\)\. Add a channel axis"):
        model.fit(np.zeros((4, 28, 28), np.float32), np.zeros(4, int), verbose=0)


@pytest.mark.parametrize("arg", ["batch_size", "epochs"])
@pytest.mark.parametrize("value", [0, -1, 2.5])
def test_batch_size_or_epochs_below_one(arg, value):
    with pytest.raises(ConfigError, match=rf"{arg} must be a positive int.*Received: {arg}={value}"):
        _model().fit(X, Y, verbose=0, **{arg: value})


@pytest.mark.parametrize("kind, kwargs, suggestion", [
    ("optimizer", {"optimizer": "adamm"}, "adam"),
    ("loss", {"loss": "sparse_categorical_crossentropyy"}, "sparse_categorical_crossentropy"),
    ("metric", {"metrics": ["acuracy"]}, "accuracy"),
])
def test_unknown_names_fail_in_compile_with_did_you_mean(kind, kwargs, suggestion):
    args = {"optimizer": "adam", "loss": "sparse_categorical_crossentropy", **kwargs}
    with pytest.raises(UnknownNameError, match=rf"unknown {kind}.*Did you mean '{suggestion}'"):
        _model(compiled=False).compile(**args)


def test_monitor_never_in_logs_warns_once():
    stopper = callbacks.EarlyStopping(monitor="val_acc")
    with pytest.warns(UserWarning, match="val_acc") as caught:
        _model().fit(X, Y, epochs=3, validation_split=0.25, verbose=0, callbacks=[stopper])
    assert len([w for w in caught if "val_acc" in str(w.message)]) == 1


def test_unscaled_uint8_images_warn_once_suggesting_division(monkeypatch):
    from cnnlab.training import data_adapters

    monkeypatch.setattr(data_adapters, "_WARNED_UNSCALED", set())
    x = (X * 255).astype(np.uint8)
    model = _model()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(x, Y, epochs=1, verbose=0)
        model.fit(x, Y, epochs=1, verbose=0)
    messages = [str(w.message) for w in caught if "uint8" in str(w.message)]
    assert len(messages) == 1 and "/ 255.0" in messages[0]


def test_failing_fit_with_checkpoint_leaves_no_half_written_file(tmp_path):
    x, y = X.copy(), Y.copy()

    def poison(epoch, logs):
        if epoch == 1:
            raise RuntimeError("disk on fire")

    model = _model()
    with pytest.raises(RuntimeError, match="disk on fire"):
        model.fit(x, y, epochs=4, verbose=0, callbacks=[
            callbacks.ModelCheckpoint(str(tmp_path / "m.cnnlab"), monitor="loss"),
            callbacks.LambdaCallback(on_epoch_end=poison)])
    assert os.listdir(tmp_path) == ["m.cnnlab"]  # the complete epoch-1 file only, no temp files
    assert cnnlab.models.load_model(str(tmp_path / "m.cnnlab")).predict(x, verbose=0).shape == (20, 3)


def test_class_weight_missing_a_class():
    with pytest.raises(ConfigError, match=r"class_weight has no weight for classes \[2\]"):
        _model().fit(X, Y, class_weight={0: 1.0, 1: 1.0}, verbose=0)


def test_validation_split_with_generator():
    with pytest.raises(ConfigError, match="validation_split works with arrays only.*validation_data"):
        _model().fit(iter([(X, Y)]), validation_split=0.2, verbose=0)


def test_huge_but_finite_inputs_pass_the_finite_check():
    """A float32 sum of 3e38-sized values overflows to inf: the exact per-value check must still let them through."""
    from cnnlab.training import data_adapters

    x = torch.full((4, 3), 3e38)
    assert not bool(torch.isfinite(x.sum()))
    data_adapters.check_finite(x, "x")  # no error
    x[2, 1] = float("inf")
    with pytest.raises(DataError, match=r"first at sample 2"):
        data_adapters.check_finite(x, "x")


def test_loss_weights_that_are_not_numbers_are_refused_with_an_example():
    import cnnlab as keras
    from cnnlab.errors import ConfigError

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="out")])
    with pytest.raises(ConfigError, match=r"loss_weights must be numbers.*e\.g\. loss_weights=\[1\.0, 0\.5\]"):
        model.compile("sgd", "mse", loss_weights=[[1.0]])


def test_a_none_metric_means_no_metric_for_that_output():
    import cnnlab as keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="out")])
    model.compile("sgd", "mse", metrics=[None])
    history = model.fit(np.zeros((2, 3), "float32"), np.zeros((2, 2), "float32"), verbose=0)
    assert set(history.history) == {"loss"}
