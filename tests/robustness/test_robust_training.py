"""Bad inputs to compile, fit, evaluate, predict, the optimizers and the callbacks."""

from __future__ import annotations

import numpy as np
import torch
from robust_record import Bad, cases, check_accepted, check_bad

import cnnlab
from cnnlab import callbacks, layers, optimizers
from cnnlab.errors import (ArgumentTypeError, CheckpointError, ConfigError, DataError, NotCompiledError,
                           ShapeError, UnknownNameError)

RNG = np.random.default_rng(0)
X = RNG.random((12, 6, 6, 1), dtype=np.float32)
Y = RNG.integers(0, 3, 12)


def _model(compiled: bool = True, bn: bool = False):
    stack = [layers.Input((6, 6, 1)), layers.Conv2D(2, 3)]
    stack += [layers.BatchNormalization()] if bn else []
    stack += [layers.Flatten(), layers.Dense(3, activation="softmax")]
    model = cnnlab.Sequential(stack)
    if compiled:
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"], device="cpu")
    return model


def _fit(**kwargs):
    args = {"x": X, "y": Y, "epochs": 1, "verbose": 0, **kwargs}
    return _model().fit(**args)


def _compile(**kwargs):
    args = {"optimizer": "adam", "loss": "sparse_categorical_crossentropy", **kwargs}
    return _model(False).compile(**args)


CO, FI, EV, PR = "compile", "fit", "evaluate", "predict"

TRAINING = [
    Bad(CO, "optimizer as a number", lambda t: _compile(optimizer=3), ArgumentTypeError, "optimizer"),
    Bad(CO, "loss as a number", lambda t: _compile(loss=3), ArgumentTypeError, "loss"),
    Bad(CO, "misspelt loss", lambda t: _compile(loss="sparse_categorical_crossentropi"), UnknownNameError,
        "sparse_categorical_crossentropy"),
    Bad(CO, "misspelt metric", lambda t: _compile(metrics=["acuracy"]), UnknownNameError, "accuracy"),
    Bad(FI, "before compile", lambda t: _model(False).fit(X, Y, verbose=0), NotCompiledError, "compile"),
    Bad(FI, "x of strings", lambda t: _fit(x=np.full((12, 6, 6, 1), "a")), DataError, "x"),
    Bad(FI, "x of Python objects", lambda t: _fit(x=np.empty((12, 6, 6, 1), object)), DataError, "x"),
    Bad(FI, "x is None", lambda t: _fit(x=None), DataError, "x"),
    Bad(FI, "y missing", lambda t: _fit(y=None), DataError, "y"),
    Bad(FI, "empty arrays", lambda t: _fit(x=X[:0], y=Y[:0]), DataError, "empty"),
    Bad(FI, "labels of strings", lambda t: _fit(y=np.array(["cat"] * 12)), DataError, "y"),
    Bad(FI, "negative labels", lambda t: _fit(y=-np.ones(12, int)), DataError, "label"),
    Bad(FI, "label equal to the number of classes", lambda t: _fit(y=np.full(12, 3)), DataError, "label"),
    Bad(FI, "fractional float labels for a sparse loss", lambda t: _fit(y=np.full(12, 0.5)), DataError, "label"),
    Bad(FI, "NaN in labels", lambda t: _fit(y=np.full(12, np.nan)), DataError, "y|label"),
    Bad(FI, "channels-first images", lambda t: _fit(x=X.transpose(0, 3, 1, 2)), ShapeError, "channels"),
    Bad(FI, "images flattened to vectors", lambda t: _fit(x=X.reshape(len(X), -1)), ShapeError, "shape"),
    Bad(FI, "images of the wrong size", lambda t: _fit(x=np.zeros((12, 8, 8, 1), np.float32)), ShapeError,
        "8, 8|shape"),
    Bad(FI, "inf in x", lambda t: _fit(x=np.where(X > 0.5, np.inf, X)), DataError, "inf"),
    Bad(FI, "epochs as a string", lambda t: _fit(epochs="5"), ConfigError, "epochs"),
    Bad(FI, "validation_split above 1", lambda t: _fit(validation_split=1.5), ConfigError, "validation_split"),
    Bad(FI, "validation_split negative", lambda t: _fit(validation_split=-0.1), ConfigError, "validation_split"),
    Bad(FI, "validation_data of one element", lambda t: _fit(validation_data=(X,)), ArgumentTypeError,
        "validation_data"),
    Bad(FI, "validation_data with wrong image size",
        lambda t: _fit(validation_data=(np.zeros((4, 5, 5, 1), np.float32), Y[:4])), ShapeError, "5, 5|shape"),
    Bad(FI, "class_weight as a list", lambda t: _fit(class_weight=[1.0, 2.0, 1.0]), ArgumentTypeError,
        "class_weight"),
    Bad(FI, "sample_weight of the wrong length", lambda t: _fit(sample_weight=np.ones(5)), DataError,
        "sample_weight"),
    Bad(FI, "steps_per_epoch zero", lambda t: _fit(steps_per_epoch=0), DataError, "steps_per_epoch"),
    Bad(FI, "verbose 5", lambda t: _fit(verbose=5), ConfigError, "verbose"),
    Bad(FI, "a callback class not an instance", lambda t: _fit(callbacks=[callbacks.EarlyStopping]),
        ArgumentTypeError, "EarlyStopping"),
    Bad(FI, "generator yielding strings", lambda t: _fit(x=iter([("a", "b")]), y=None), DataError, "batch|x"),
    Bad(FI, "generator yielding nothing", lambda t: _fit(x=iter([]), y=None), DataError, "batches|data"),
    Bad(EV, "before compile", lambda t: _model(False).evaluate(X, Y, verbose=0), NotCompiledError, "compile"),
    Bad(EV, "y missing", lambda t: _model().evaluate(X, verbose=0), DataError, "y"),
    Bad(EV, "x and y of different lengths", lambda t: _model().evaluate(X, Y[:5], verbose=0), DataError,
        "same number"),
    Bad(EV, "channels-first images", lambda t: _model().evaluate(X.transpose(0, 3, 1, 2), Y, verbose=0),
        ShapeError, "channels"),
    Bad(EV, "labels out of range", lambda t: _model().evaluate(X, Y + 7, verbose=0), DataError, "label"),
    Bad(EV, "batch_size zero", lambda t: _model().evaluate(X, Y, batch_size=0, verbose=0), ConfigError,
        "batch_size"),
    Bad(PR, "strings", lambda t: _model().predict(np.full((2, 6, 6, 1), "x"), verbose=0), DataError, "x"),
    Bad(PR, "a Python string path", lambda t: _model().predict("digit.png", verbose=0), ArgumentTypeError,
        "predict|x"),
    Bad(PR, "empty array", lambda t: _model().predict(X[:0], verbose=0), DataError, "predict|empty"),
    Bad(PR, "a single image without batch axis", lambda t: _model().predict(X[0], verbose=0), ShapeError,
        "conv2d|batch"),
    Bad(PR, "negative batch_size", lambda t: _model().predict(X, batch_size=-1, verbose=0), ConfigError,
        "batch_size"),
]


@cases(*TRAINING)
def test_bad_training_input_is_explained(case, tmp_path):
    check_bad(case, tmp_path)


def test_inputs_keras_accepts_train_evaluate_and_predict(tmp_path):
    check_accepted(FI, "one callback not in a list (Keras flattens it)", lambda: _fit(callbacks=callbacks.History()))
    check_accepted(CB, "ModelCheckpoint into a folder that does not exist yet (created, as in Keras)",
                   lambda: _fit(callbacks=[callbacks.ModelCheckpoint(str(tmp_path / "new" / "m.cnnlab"))]))
    assert (tmp_path / "new" / "m.cnnlab").is_file()
    check_accepted(FI, "float64 images", lambda: _fit(x=X.astype(np.float64)))
    check_accepted(FI, "whole-number float labels", lambda: _fit(y=Y.astype(np.float32)))
    check_accepted(FI, "uint8 labels", lambda: _fit(y=Y.astype(np.uint8)))
    check_accepted(FI, "torch tensors", lambda: _fit(x=torch.from_numpy(X), y=torch.from_numpy(Y)))
    check_accepted(FI, "one sample, batch_size=1", lambda: _fit(x=X[:1], y=Y[:1], batch_size=1))
    check_accepted(FI, "last batch of one sample", lambda: _fit(x=X[:5], y=Y[:5], batch_size=4))
    history = check_accepted(FI, "BatchNormalization with batches of one",
                             lambda: _model(bn=True).fit(X[:3], Y[:3], batch_size=1, epochs=1, verbose=0))
    assert np.isfinite(history.history["loss"][0])
    check_accepted(EV, "one sample", lambda: _model().evaluate(X[:1], Y[:1], verbose=0))
    out = check_accepted(PR, "one sample", lambda: _model().predict(X[:1], verbose=0))
    assert out.shape == (1, 3)
    out = check_accepted(PR, "NaN images (predict does not train)",
                         lambda: _model().predict(np.full((2, 6, 6, 1), np.nan, np.float32), verbose=0))
    assert out.shape == (2, 3)


OP, CB = "optimizers", "callbacks"

OPTIMIZERS_AND_CALLBACKS = [
    Bad(OP, "SGD negative learning rate", lambda t: optimizers.SGD(learning_rate=-1.0), ConfigError,
        "learning_rate"),
    Bad(OP, "SGD learning rate as a string", lambda t: optimizers.SGD(learning_rate="fast"), ArgumentTypeError,
        "learning_rate"),
    Bad(OP, "SGD momentum above 1", lambda t: optimizers.SGD(momentum=1.5), ConfigError, "momentum"),
    Bad(OP, "SGD negative momentum", lambda t: optimizers.SGD(momentum=-0.1), ConfigError, "momentum"),
    Bad(OP, "Adam with legacy lr=", lambda t: optimizers.Adam(lr=0.1), ArgumentTypeError, "learning_rate"),
    Bad(OP, "Adam negative epsilon", lambda t: optimizers.Adam(epsilon=-1.0), ConfigError, "epsilon"),
    Bad(OP, "Adam beta_1 above 1", lambda t: optimizers.Adam(beta_1=1.5), ConfigError, "beta_1"),
    Bad(OP, "RMSprop negative rho", lambda t: optimizers.RMSprop(rho=-0.5), ConfigError, "rho"),
    Bad(OP, "clipnorm and clipvalue together", lambda t: optimizers.SGD(clipnorm=1.0, clipvalue=1.0), ConfigError,
        "clip"),
    Bad(OP, "negative clipnorm", lambda t: optimizers.Adam(clipnorm=-1.0), ConfigError, "clipnorm"),
    Bad(OP, "get() of a misspelt name", lambda t: optimizers.get("adamm"), UnknownNameError, "adam"),
    Bad(OP, "schedule with zero decay_steps",
        lambda t: optimizers.schedules.ExponentialDecay(0.1, decay_steps=0, decay_rate=0.9), ConfigError,
        "decay_steps"),
    Bad(CB, "ModelCheckpoint filepath None", lambda t: callbacks.ModelCheckpoint(None), ArgumentTypeError,
        "filepath"),
    Bad(CB, "ModelCheckpoint .txt file", lambda t: _fit(callbacks=[callbacks.ModelCheckpoint(str(t / "best.txt"))]),
        ConfigError, "best.txt"),
    Bad(CB, "ModelCheckpoint mode 'maximum'", lambda t: callbacks.ModelCheckpoint(str(t / "m.cnnlab"),
                                                                                  mode="maximum"),
        ConfigError, "mode"),
    Bad(CB, "ModelCheckpoint monitor as a number", lambda t: callbacks.ModelCheckpoint(str(t / "m.cnnlab"),
                                                                                       monitor=3),
        ArgumentTypeError, "monitor"),
    Bad(CB, "ModelCheckpoint save_freq zero", lambda t: callbacks.ModelCheckpoint(str(t / "m.cnnlab"), save_freq=0),
        ConfigError, "save_freq"),
    Bad(CB, "ModelCheckpoint save_freq 'batch'",
        lambda t: callbacks.ModelCheckpoint(str(t / "m.cnnlab"), save_freq="batch"), ConfigError, "save_freq"),
    Bad(CB, "ModelCheckpoint path is a directory",
        lambda t: _fit(callbacks=[callbacks.ModelCheckpoint(str(_dir(t, "m.cnnlab")))]), CheckpointError,
        "m.cnnlab"),
    Bad(CB, "EarlyStopping negative patience", lambda t: callbacks.EarlyStopping(patience=-1), ConfigError,
        "patience"),
    Bad(CB, "EarlyStopping patience 1.5", lambda t: callbacks.EarlyStopping(patience=1.5), ConfigError,
        "patience"),
    Bad(CB, "EarlyStopping mode 'upward'", lambda t: callbacks.EarlyStopping(mode="upward"), ConfigError, "mode"),
    Bad(CB, "ReduceLROnPlateau factor 1", lambda t: callbacks.ReduceLROnPlateau(factor=1.0), ConfigError,
        "factor"),
    Bad(CB, "CSVLogger filename None", lambda t: callbacks.CSVLogger(None), ArgumentTypeError, "filename"),
    Bad(CB, "CSVLogger into a missing directory",
        lambda t: _fit(callbacks=[callbacks.CSVLogger(str(t / "no" / "log.csv"))]), CheckpointError, "log.csv"),
    Bad(CB, "LearningRateScheduler of a number", lambda t: callbacks.LearningRateScheduler(0.1), ArgumentTypeError,
        "schedule"),
    Bad(CB, "BackupAndRestore backup_dir None", lambda t: callbacks.BackupAndRestore(None), ConfigError,
        "backup_dir"),
    Bad(CB, "BackupAndRestore backup_dir is a file",
        lambda t: _fit(callbacks=[callbacks.BackupAndRestore(str(_file(t, "backup")))]), CheckpointError,
        "backup"),
    Bad(CB, "LambdaCallback hook not a function", lambda t: callbacks.LambdaCallback(on_epoch_end=3),
        ArgumentTypeError, "on_epoch_end"),
    Bad(CB, "TensorBoard log_dir is a file",
        lambda t: _fit(callbacks=[callbacks.TensorBoard(str(_file(t, "logs")))]), CheckpointError, "logs"),
]


def _dir(tmp_path, name):
    path = tmp_path / name
    path.mkdir()
    return path


def _file(tmp_path, name):
    path = tmp_path / name
    path.write_text("not a folder")
    return path


@cases(*OPTIMIZERS_AND_CALLBACKS)
def test_bad_optimizer_or_callback_argument_is_explained(case, tmp_path):
    check_bad(case, tmp_path)
