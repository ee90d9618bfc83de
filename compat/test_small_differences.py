"""Small user-visible behaviours compared with real Keras 3: messages and shapes a learner reads."""

from __future__ import annotations

import re

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import cnnlab  # noqa: E402
from cnnlab.layers.base import reset_names  # noqa: E402


def _subclassed(k):
    class Net(k.Model):
        def __init__(self):
            super().__init__()
            self.conv = k.layers.Conv2D(6, 3, activation="relu")
            self.flat = k.layers.Flatten()
            self.out = k.layers.Dense(10)

        def call(self, x):
            return self.out(self.flat(self.conv(x)))

    return Net()


def _data():
    rng = np.random.default_rng(0)
    return rng.random((50, 12, 12, 1)).astype("float32"), rng.integers(0, 10, 50)


def _fit(k, model, **kwargs):
    x, y = _data()
    model.compile("adam", k.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model.fit(x, y, batch_size=16, epochs=1, verbose=0, **kwargs)


def _summary(model) -> str:
    lines = []
    model.summary(print_fn=lines.append)
    return re.sub(r"(?<=[a-z0-9])_(\d+)\b", lambda m: "_" * len(m.group(0)), "".join(lines))


def test_subclassed_summary_after_fit_shows_no_batch_size_as_keras():
    keras.backend.clear_session()
    reset_names()
    k_model, c_model = _subclassed(keras), _subclassed(cnnlab)
    _fit(keras, k_model)
    _fit(cnnlab, c_model)  # 50 samples in batches of 16: the last partial batch (2) must not show
    assert _summary(c_model) == _summary(k_model)


def test_model_checkpoint_verbose_message_matches_keras(tmp_path, capsys):
    messages = {}
    for name, k in (("keras", keras), ("cnnlab", cnnlab)):
        checkpoint = k.callbacks.ModelCheckpoint(str(tmp_path / f"{name}.weights.h5"), monitor="val_loss",
                                                 save_best_only=True, save_weights_only=True, verbose=1)
        capsys.readouterr()
        _fit(k, _subclassed(k), validation_split=0.2, callbacks=[checkpoint])
        out = capsys.readouterr().out
        messages[name] = re.sub(r"\d+\.\d+", "<loss>", out.replace(name, "<name>"))
    assert messages["cnnlab"] == messages["keras"]
    assert "improved from None" in messages["keras"]  # Keras 3.15 (tf.keras 2 printed inf)


def test_subclassed_summary_after_a_first_evaluate_shows_no_batch_size_as_keras():
    keras.backend.clear_session()
    reset_names()
    k_model, c_model = _subclassed(keras), _subclassed(cnnlab)
    x, y = _data()
    for k, model in ((keras, k_model), (cnnlab, c_model)):
        model.compile("adam", k.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.evaluate(x, y, batch_size=16, verbose=0)
    assert _summary(c_model) == _summary(k_model)
