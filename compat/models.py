"""Models built the same way with Keras and with cnnlab: pass the module (``keras`` or ``cnnlab``).

Used by ``make_golden_summaries.py`` (real Keras writes the golden summaries),
by cnnlab's summary tests (cnnlab must print the same text) and by the
compat tests (same weights give the same outputs).
"""

from __future__ import annotations

import numpy as np


def issue_a(k):
    """Two 5x5 conv blocks with separate ReLU layers, then Dense 64 and Dense 10."""
    L = k.layers
    return k.Sequential([
        L.Conv2D(32, 5, input_shape=(28, 28, 1)), L.ReLU(), L.MaxPooling2D(2),
        L.Conv2D(64, 5), L.ReLU(), L.MaxPooling2D(2),
        L.Flatten(), L.Dense(64), L.ReLU(), L.Dense(10),
    ])


def issue_b(k):
    """'same' 3x3 convs with 3x3 average pooling, Dense 100, Dropout, Dense 10 (39,478 params)."""
    L = k.layers
    return k.Sequential([
        L.Input(shape=(28, 28, 1)),
        L.Conv2D(32, 3, padding="same", activation="relu"), L.AveragePooling2D(3),
        L.Conv2D(32, 3, padding="same", activation="relu"), L.AveragePooling2D(3),
        L.Flatten(), L.Dense(100, activation="relu"), L.Dropout(0.5), L.Dense(10, activation="softmax"),
    ])


def lenet5(k):
    """LeNet-5 on 28x28x1: 6@5x5 same, pool 2, 16@5x5 valid, pool 2, Dense 120, 84, 10."""
    L = k.layers
    return k.Sequential([
        L.Input(shape=(28, 28, 1)),
        L.Conv2D(6, 5, padding="same", activation="tanh"), L.AveragePooling2D(2),
        L.Conv2D(16, 5, activation="tanh"), L.AveragePooling2D(2),
        L.Flatten(), L.Dense(120, activation="tanh"), L.Dense(84, activation="tanh"),
        L.Dense(10, activation="softmax"),
    ])


def batchnorm(k):
    """Conv -> BatchNormalization -> ReLU -> GAP -> Dense (BN: 4C params, 2C non-trainable)."""
    L = k.layers
    return k.Sequential([
        L.Input(shape=(16, 16, 3)),
        L.Conv2D(8, 3, use_bias=False), L.BatchNormalization(), L.ReLU(),
        L.GlobalAveragePooling2D(), L.Dense(10, activation="softmax"),
    ])


def branching(k):
    """Functional model with two branches merged by Add, then Concatenate with a skip."""
    L = k.layers
    inputs = L.Input(shape=(16, 16, 3))
    a = L.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    b = L.Conv2D(8, 1)(inputs)
    added = L.Add()([a, b])
    merged = L.Concatenate()([added, a])
    x = L.MaxPooling2D(2)(merged)
    x = L.GlobalAveragePooling2D()(x)
    outputs = L.Dense(10, activation="softmax")(x)
    return k.Model(inputs, outputs)


def functional_chain(k):
    """A functional model without merges: Keras prints it without "Connected to"."""
    L = k.layers
    inputs = L.Input(shape=(12, 12, 1))
    x = L.Conv2D(4, 3)(inputs)
    x = L.Flatten()(x)
    return k.Model(inputs, L.Dense(3)(x))


def subclassed(k):
    """A subclassed model, called once on a batch of 2 images."""
    L = k.layers

    class Net(k.Model):
        def __init__(self):
            super().__init__()
            self.conv = L.Conv2D(8, 3, activation="relu")
            self.pool = L.MaxPooling2D(2)
            self.flat = L.Flatten()
            self.out = L.Dense(10)

        def call(self, x):
            return self.out(self.flat(self.pool(self.conv(x))))

    model = Net()
    model(np.zeros((2, 12, 12, 1), dtype="float32"))
    return model


def conv_variants(k):
    """Conv2D valid/same, strides 2 (uneven 'same' padding), dilation, groups; ZeroPadding2D, Rescaling."""
    L = k.layers
    inputs = L.Input(shape=(15, 15, 4))
    x = L.Rescaling(1 / 127.5, offset=-1.0)(inputs)
    x = L.ZeroPadding2D(((1, 2), (0, 1)))(x)
    x = L.Conv2D(8, 3, strides=2, padding="same")(x)
    x = L.Conv2D(8, 3, dilation_rate=2, padding="same")(x)
    x = L.Conv2D(8, (3, 2), dilation_rate=(1, 2))(x)
    x = L.Conv2D(8, 3, padding="same", groups=2)(x)
    x = L.Conv2D(6, 2, strides=2)(x)
    return k.Model(inputs, L.Flatten()(x))


def pool_variants(k):
    """Max and average pooling, valid and same (odd sizes: TF pads unevenly), with strides."""
    L = k.layers
    inputs = L.Input(shape=(13, 11, 3))
    a = L.MaxPooling2D(3, strides=2, padding="same")(inputs)
    b = L.AveragePooling2D(3, strides=2, padding="same")(inputs)
    c = L.MaxPooling2D(1, strides=2, padding="valid")(inputs)  # (13 - 1)/2 + 1 = 7, (11 - 1)/2 + 1 = 6
    d = L.AveragePooling2D(2, padding="same")(inputs)
    x = L.Concatenate()([a, b, c, d])
    x = L.AveragePooling2D((2, 3), strides=(1, 2))(x)
    return k.Model(inputs, L.GlobalMaxPooling2D()(x))


def activations(k):
    """ReLU (with max_value), LeakyReLU, Softmax, Activation, Dropout, BatchNormalization on 2-D input."""
    L = k.layers
    return k.Sequential([
        L.Input(shape=(20,)),
        L.Dense(16), L.ReLU(max_value=1.0), L.Dense(16), L.LeakyReLU(negative_slope=0.2),
        L.BatchNormalization(), L.Dropout(0.3), L.Dense(8), L.Activation("sigmoid"), L.Dense(5), L.Softmax(),
    ])


# Name, builder, input shape of one sample (None: the model has its own). Golden summaries exist for these.
GOLDEN_MODELS = {
    "issue_a": issue_a, "issue_b": issue_b, "lenet5": lenet5, "batchnorm": batchnorm,
    "branching": branching, "functional_chain": functional_chain, "subclassed": subclassed,
}
COMPAT_MODELS = {**GOLDEN_MODELS, "conv_variants": conv_variants, "pool_variants": pool_variants,
                 "activations": activations}
