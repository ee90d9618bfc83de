"""Subclassed-model summaries against Keras 3: "?" exactly where Keras builds a layer in ``__init__``.

A subclassed model has no symbolic nodes, so Keras knows a layer's output shape only if the layer was built
on its first call; layers it builds at construction print "?" (cnnlab.inspect.summary.KERAS_BUILT_AT_INIT).
Each case runs one layer in a subclassed model in both libraries and compares the whole summary text.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import cnnlab  # noqa: E402
import cnnlab.inspect  # noqa: E402
from cnnlab.inspect.summary import KERAS_BUILT_AT_INIT  # noqa: E402
from cnnlab.layers.base import reset_names  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_compat import keras_summary, normalise_names  # noqa: E402

IMAGES, SEQUENCES, VOLUMES = (2, 8, 8, 3), (2, 8, 3), (2, 4, 4, 4, 3)
# (layer name, constructor args, input shape): every class Keras builds at init, and neighbours that it does not.
CASES = [
    ("Activation", ("relu",), IMAGES), ("ELU", (), IMAGES), ("LeakyReLU", (), IMAGES), ("ReLU", (), IMAGES),
    ("Softmax", (), IMAGES), ("Dropout", (0.5,), IMAGES), ("AlphaDropout", (0.1,), IMAGES),
    ("GaussianDropout", (0.1,), IMAGES), ("GaussianNoise", (0.1,), IMAGES), ("ActivityRegularization", (), IMAGES),
    ("SpatialDropout1D", (0.5,), SEQUENCES), ("SpatialDropout2D", (0.5,), IMAGES),
    ("SpatialDropout3D", (0.5,), VOLUMES), ("MaxPooling1D", (), SEQUENCES), ("MaxPooling2D", (), IMAGES),
    ("MaxPooling3D", (), VOLUMES), ("AveragePooling1D", (2,), SEQUENCES), ("AveragePooling2D", (2,), IMAGES),
    ("AveragePooling3D", (2,), VOLUMES), ("GlobalAveragePooling1D", (), SEQUENCES),
    ("GlobalAveragePooling2D", (), IMAGES), ("GlobalAveragePooling3D", (), VOLUMES),
    ("GlobalMaxPooling1D", (), SEQUENCES), ("GlobalMaxPooling2D", (), IMAGES), ("GlobalMaxPooling3D", (), VOLUMES),
    ("Identity", (), IMAGES), ("Reshape", ((-1,),), IMAGES), ("UnitNormalization", (), IMAGES),
    # built on first call in Keras: their shapes are shown
    ("Flatten", (), IMAGES), ("UpSampling1D", (), SEQUENCES), ("UpSampling2D", (), IMAGES),
    ("Cropping2D", (1,), IMAGES), ("ZeroPadding3D", (), VOLUMES), ("Permute", ((2, 1, 3),), IMAGES),
    ("Conv1D", (2, 3), SEQUENCES), ("Conv3DTranspose", (2, 3), VOLUMES), ("SeparableConv2D", (2, 3), IMAGES),
    ("DepthwiseConv1D", (3,), SEQUENCES), ("BatchNormalization", (), IMAGES), ("GroupNormalization", (3,), IMAGES),
    ("LayerNormalization", (), IMAGES), ("Rescaling", (1 / 255,), IMAGES), ("Resizing", (4, 4), IMAGES),
    ("CenterCrop", (4, 4), IMAGES), ("RandomFlip", (), IMAGES),
]


def _subclassed(lib, name, args, shape):
    class Net(lib.Model):
        def __init__(self):
            super().__init__()
            self.inner = getattr(lib.layers, name)(*args)

        def call(self, x):
            return self.inner(x)

    model = Net()
    model(np.random.default_rng(0).random(shape, dtype=np.float32))
    return model


@pytest.mark.parametrize("name, args, shape", CASES, ids=[c[0] for c in CASES])
def test_subclassed_summary_matches_keras(name, args, shape):
    keras.backend.clear_session()
    reset_names()
    ours = cnnlab.inspect.render_summary(_subclassed(cnnlab, name, args, shape))
    theirs = keras_summary(_subclassed(keras, name, args, shape))
    assert normalise_names(ours) == normalise_names(theirs)


def test_every_built_at_init_name_has_a_case():
    assert KERAS_BUILT_AT_INIT <= {case[0] for case in CASES}


def test_a_user_subclass_with_its_own_build_is_shown_as_keras_does():
    def build(lib):
        class MyReLU(lib.layers.ReLU):
            def build(self, input_shape):
                self.built = True

        class Net(lib.Model):
            def __init__(self):
                super().__init__()
                self.act, self.plain = MyReLU(), lib.layers.ReLU()

            def call(self, x):
                return self.plain(self.act(x))

        model = Net()
        model(np.zeros(IMAGES, "float32"))
        return model

    keras.backend.clear_session()
    reset_names()
    assert normalise_names(cnnlab.inspect.render_summary(build(cnnlab))) == normalise_names(keras_summary(build(keras)))


@pytest.mark.parametrize("first", ["fit", "call then fit", "build then call"])
def test_subclassed_summary_batch_axis_matches_keras(first):
    x, y = np.zeros((12, 6, 6, 1), "float32"), np.zeros((12, 2), "float32")

    def build(lib):
        class Net(lib.Model):
            def __init__(self):
                super().__init__()
                self.conv, self.flat, self.dense = lib.layers.Conv2D(2, 3), lib.layers.Flatten(), lib.layers.Dense(2)

            def call(self, t):
                return self.dense(self.flat(self.conv(t)))

        model = Net()
        model.compile(optimizer="sgd", loss="mse")
        if first == "call then fit":
            model(x[:2])
        if first == "build then call":
            model.build((None, 6, 6, 1))
            model(x[:3])
        else:
            model.fit(x, y, batch_size=5, epochs=1, verbose=0)
        return model

    keras.backend.clear_session()
    reset_names()
    ours = cnnlab.inspect.render_summary(build(cnnlab))
    theirs = keras_summary(build(keras))
    # Keras adds an "Optimizer params" line once trained; the layer table and totals must agree.
    assert normalise_names(ours.split(" Optimizer params")[0]) == normalise_names(theirs.split(" Optimizer params")[0])
