"""Trust round 2, "A plain round trip": compile, save before any training, load -- in every format.

Each save and each load is a recorded case (handled: it must work, in bounded time and memory), and the
loaded model must hold the same weights and train on.
"""

from __future__ import annotations

import numpy as np
import pytest

import cnnlab
from cnnlab import layers
from robust_record import check_hostile

FAMILY = "A plain round trip"
OPTIMIZERS = {"adam": lambda: cnnlab.optimizers.Adam(name="adam"), "sgd": lambda: cnnlab.optimizers.SGD(name="sgd"),
              "sgd-momentum": lambda: cnnlab.optimizers.SGD(momentum=0.9, name="sgd"),
              "rmsprop": lambda: cnnlab.optimizers.RMSprop(name="rmsprop"),
              "adamw": lambda: cnnlab.optimizers.AdamW(name="adamw")}
STATES = ("compiled, never trained", "trained one step", "not compiled")


def _model():
    return cnnlab.Sequential([layers.Input((6, 6, 1)), layers.Conv2D(2, 3, name="conv"), layers.Flatten(name="flat"),
                              layers.Dense(3, activation="softmax", name="out")])


def _data():
    rng = np.random.default_rng(0)
    return rng.random((4, 6, 6, 1)).astype("float32"), np.arange(4) % 3


# An uncompiled model has no optimizer: one case per format for it.
COMBINATIONS = [(opt, state) for opt in sorted(OPTIMIZERS) for state in STATES[:2]] + [("adam", STATES[2])]


@pytest.mark.parametrize(("optimizer", "state"), COMBINATIONS)
@pytest.mark.parametrize("suffix", [".cnnlab", ".keras", ".h5", ".weights.h5"])
def test_saved_then_loaded_in_every_state(tmp_path, suffix, optimizer, state):
    x, y = _data()
    model = _model()
    if state != "not compiled":
        model.compile(OPTIMIZERS[optimizer](), "sparse_categorical_crossentropy")
    if state == "trained one step":
        model.fit(x, y, batch_size=4, verbose=0)
    path = tmp_path / f"m{suffix}"
    case = f"{suffix}, {optimizer if state != 'not compiled' else 'no optimizer'}, {state}"
    save = model.save_weights if suffix == ".weights.h5" else model.save
    check_hostile(FAMILY, f"save {case}", lambda: save(path), None)

    loaded = {}

    def load():
        if suffix == ".weights.h5":
            fresh = _model()
            if state != "not compiled":
                fresh.compile(OPTIMIZERS[optimizer](), "sparse_categorical_crossentropy")
            fresh.load_weights(path)
            loaded["model"] = fresh
        else:
            loaded["model"] = cnnlab.load_model(path)

    check_hostile(FAMILY, f"load {case}", load, None, watch=(path,))
    restored = loaded["model"]
    for got, expected in zip(restored.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(got, expected)
    if state != "not compiled":
        assert type(restored.optimizer) is type(model.optimizer)
        restored.fit(x, y, batch_size=4, verbose=0)  # the restored state takes a step
