"""Bad inputs to layers and to the three model APIs: construction, call, build."""

from __future__ import annotations

import numpy as np
from robust_record import Bad, cases, check_accepted, check_bad

import cnnlab
from cnnlab import layers
from cnnlab.errors import ArgumentTypeError, ConfigError, NotBuiltError, ShapeError, UnknownNameError

L = "layer construction"
C = "layer call"


def _f32(*shape):
    return np.zeros(shape, np.float32)


CONSTRUCTION = [
    Bad(L, "Conv2D zero filters", lambda t: layers.Conv2D(0, 3), ConfigError, "filters"),
    Bad(L, "Conv2D negative filters", lambda t: layers.Conv2D(-8, 3), ConfigError, "filters"),
    Bad(L, "Conv2D filters as a string", lambda t: layers.Conv2D("32", 3), ConfigError, "filters"),
    Bad(L, "Conv2D filters as a float", lambda t: layers.Conv2D(32.5, 3), ConfigError, "filters"),
    Bad(L, "Conv2D zero kernel size", lambda t: layers.Conv2D(8, 0), ConfigError, "kernel_size"),
    Bad(L, "Conv2D 3-D kernel size", lambda t: layers.Conv2D(8, (3, 3, 3)), ConfigError, "kernel_size"),
    Bad(L, "Conv2D zero strides", lambda t: layers.Conv2D(8, 3, strides=0), ConfigError, "strides"),
    Bad(L, "Conv2D negative dilation", lambda t: layers.Conv2D(8, 3, dilation_rate=-1), ConfigError, "dilation_rate"),
    Bad(L, "Conv2D misspelt activation", lambda t: layers.Conv2D(8, 3, activation="rleu"), UnknownNameError,
        "activation"),
    Bad(L, "Conv2D unknown data_format", lambda t: layers.Conv2D(8, 3, data_format="channels_middle"), ConfigError,
        "data_format"),
    Bad(L, "Conv2D padding in capitals with typo", lambda t: layers.Conv2D(8, 3, padding="SAME "), ConfigError,
        "padding"),
    Bad(L, "Conv2D misspelt initializer", lambda t: layers.Conv2D(8, 3, kernel_initializer="glorot"),
        UnknownNameError, "initializer"),
    Bad(L, "Conv2D misspelt regularizer", lambda t: layers.Conv2D(8, 3, kernel_regularizer="l3"),
        UnknownNameError, "regularizer"),
    Bad(L, "Conv2D unknown keyword", lambda t: layers.Conv2D(8, 3, kernal_size=3), ArgumentTypeError, "kernel_size"),
    Bad(L, "Dense zero units", lambda t: layers.Dense(0), ConfigError, "units"),
    Bad(L, "Dense negative units", lambda t: layers.Dense(-3), ConfigError, "units"),
    Bad(L, "Dense units as a string", lambda t: layers.Dense("10"), ConfigError, "units"),
    Bad(L, "Dense units None", lambda t: layers.Dense(None), ConfigError, "units"),
    Bad(L, "Dense activation as a number", lambda t: layers.Dense(10, activation=3), ArgumentTypeError,
        "activation"),
    Bad(L, "Dense activation 'softmx'", lambda t: layers.Dense(10, activation="softmx"), UnknownNameError,
        "softmax"),
    Bad(L, "Dropout rate above 1", lambda t: layers.Dropout(1.5), ConfigError, "rate"),
    Bad(L, "Dropout negative rate", lambda t: layers.Dropout(-0.1), ConfigError, "rate"),
    Bad(L, "Dropout rate as a string", lambda t: layers.Dropout("half"), ConfigError, "rate"),
    Bad(L, "MaxPooling2D zero pool size", lambda t: layers.MaxPooling2D(0), ConfigError, "pool_size"),
    Bad(L, "MaxPooling2D negative strides", lambda t: layers.MaxPooling2D(2, strides=-1), ConfigError, "strides"),
    Bad(L, "AveragePooling2D 3-D pool size", lambda t: layers.AveragePooling2D((2, 2, 2)), ConfigError,
        "pool_size"),
    Bad(L, "BatchNormalization momentum above 1", lambda t: layers.BatchNormalization(momentum=2.0), ConfigError,
        "momentum"),
    Bad(L, "BatchNormalization negative epsilon", lambda t: layers.BatchNormalization(epsilon=-1.0), ConfigError,
        "epsilon"),
    Bad(L, "BatchNormalization axis as a string", lambda t: layers.BatchNormalization(axis="x"), ConfigError,
        "axis"),
    Bad(L, "Reshape two unknown dimensions", lambda t: layers.Reshape((-1, -1)), ConfigError, "target_shape"),
    Bad(L, "Reshape zero dimension", lambda t: layers.Reshape((0, 3)), ConfigError, "target_shape"),
    Bad(L, "Reshape target as a string", lambda t: layers.Reshape("28x28"), ConfigError, "target_shape"),
    Bad(L, "Rescaling scale as a string", lambda t: layers.Rescaling("1/255"), ConfigError, "scale"),
    Bad(L, "LeakyReLU negative slope below 0", lambda t: layers.LeakyReLU(negative_slope=-1.0), ConfigError,
        "negative_slope"),
    Bad(L, "ReLU negative max_value", lambda t: layers.ReLU(max_value=-1.0), ConfigError, "max_value"),
    Bad(L, "Softmax axis as a string", lambda t: layers.Softmax(axis="last"), ConfigError, "axis"),
    Bad(L, "ZeroPadding2D negative padding", lambda t: layers.ZeroPadding2D(-1), ConfigError, "padding"),
    Bad(L, "ZeroPadding2D three numbers", lambda t: layers.ZeroPadding2D((1, 2, 3)), ConfigError, "padding"),
    Bad(L, "Activation misspelt", lambda t: layers.Activation("relux"), UnknownNameError, "relu"),
    Bad(L, "Input zero dimension", lambda t: layers.Input(shape=(0, 28, 1)), ConfigError, "shape"),
    Bad(L, "Input negative dimension", lambda t: layers.Input(shape=(-1,)), ConfigError, "shape"),
    Bad(L, "Input shape as a string", lambda t: layers.Input(shape="28,28,1"), ConfigError, "shape"),
    Bad(L, "Input float dimension", lambda t: layers.Input(shape=(28.5, 28, 1)), ConfigError, "shape"),
    Bad(L, "Concatenate axis as a string", lambda t: layers.Concatenate(axis="channels"), ConfigError, "axis"),
    Bad(L, "layer name with a slash", lambda t: layers.Dense(4, name="block/dense"), ConfigError, "name"),
    Bad(L, "layer name as a number", lambda t: layers.Dense(4, name=3), ConfigError, "name"),
]


@cases(*CONSTRUCTION)
def test_bad_layer_argument_fails_in_the_constructor(case, tmp_path):
    check_bad(case, tmp_path)


def _built_bn():
    bn = layers.BatchNormalization()
    bn(_f32(2, 4, 4, 3))
    return bn


def _two_input_add(a, b):
    return layers.Add()([_f32(*a), _f32(*b)])


CALLS = [
    Bad(C, "Conv2D on 5-D video batch", lambda t: layers.Conv2D(4, 3)(_f32(2, 3, 8, 8, 1)), ShapeError, "Conv2D"),
    Bad(C, "Conv2D on a 2-D table", lambda t: layers.Conv2D(4, 3)(_f32(2, 64)), ShapeError, "Conv2D"),
    Bad(C, "Conv2D on strings", lambda t: layers.Conv2D(4, 3)(np.full((1, 4, 4, 1), "a")), ArgumentTypeError,
        "Conv2D|numbers"),
    Bad(C, "Conv2D on an object array", lambda t: layers.Conv2D(4, 3)(np.empty((1, 4, 4, 1), object)),
        ArgumentTypeError, "Conv2D|numbers"),
    Bad(C, "Conv2D on a Python string", lambda t: layers.Conv2D(4, 3)("image.png"), ArgumentTypeError,
        "Conv2D|numbers"),
    Bad(C, "MaxPooling2D on 2-D input", lambda t: layers.MaxPooling2D()(_f32(2, 8)), ShapeError, "MaxPooling2D"),
    Bad(C, "MaxPooling2D window larger than image", lambda t: layers.MaxPooling2D(5)(_f32(1, 3, 3, 1)), ShapeError,
        "MaxPooling2D"),
    Bad(C, "GlobalAveragePooling2D on 2-D input", lambda t: layers.GlobalAveragePooling2D()(_f32(2, 8)), ShapeError,
        "GlobalAveragePooling2D"),
    Bad(C, "ZeroPadding2D on 3-D input", lambda t: layers.ZeroPadding2D(1)(_f32(2, 8, 8)), ShapeError,
        "ZeroPadding2D"),
    Bad(C, "BatchNormalization built for 3 channels given 5", lambda t: _built_bn()(_f32(2, 4, 4, 5)), ShapeError,
        "batch_normalization"),
    Bad(C, "Reshape to a size that does not divide", lambda t: layers.Reshape((5, 5))(_f32(2, 28)), ShapeError,
        "Reshape"),
    Bad(C, "Add of different shapes", lambda t: _two_input_add((2, 4), (2, 5)), ShapeError, "Add"),
    Bad(C, "Subtract of three tensors", lambda t: layers.Subtract()([_f32(2, 4)] * 3), ShapeError, "Subtract"),
    Bad(C, "Add of a bare array", lambda t: layers.Add()(_f32(2, 4)), ShapeError, "Add"),
    Bad(C, "Concatenate with mismatched heights",
        lambda t: layers.Concatenate()([_f32(1, 4, 4, 2), _f32(1, 5, 4, 2)]), ShapeError, "Concatenate"),
    Bad(C, "Dense built for 20 features given 30", lambda t: _built_dense()(_f32(3, 30)), ShapeError, "Dense"),
]


def _built_dense():
    dense = layers.Dense(2)
    dense(_f32(3, 20))
    return dense


@cases(*CALLS)
def test_bad_layer_input_names_the_layer(case, tmp_path):
    check_bad(case, tmp_path)


def test_layer_accepts_float64_uint8_and_one_sample_batches():
    conv = layers.Conv2D(2, 3)
    out = check_accepted(C, "Conv2D on float64 input", lambda: conv(np.zeros((2, 5, 5, 1), np.float64)))
    assert tuple(out.shape) == (2, 3, 3, 2)
    out = check_accepted(C, "Conv2D on uint8 input", lambda: conv(np.zeros((2, 5, 5, 1), np.uint8)))
    assert tuple(out.shape) == (2, 3, 3, 2)
    out = check_accepted(C, "Conv2D on a one-sample batch", lambda: conv(np.zeros((1, 5, 5, 1), np.float32)))
    assert tuple(out.shape) == (1, 3, 3, 2)


S, F, M = "Sequential model", "functional model", "subclassed model"


class _NoCall(cnnlab.Model):
    pass


def _functional_unconnected():
    a, b = layers.Input((4,)), layers.Input((4,))
    return cnnlab.Model(a, layers.Dense(2)(b))


def _functional_duplicate_names():
    inp = layers.Input((4,))
    x = layers.Dense(2, name="same")(inp)
    return cnnlab.Model(inp, layers.Dense(2, name="same")(x))


def _sequential_mlp():
    return cnnlab.Sequential([layers.Input((4,)), layers.Dense(3)])


MODELS = [
    Bad(S, "a string among the layers", lambda t: cnnlab.Sequential([layers.Dense(2), "relu"]), ArgumentTypeError,
        "add|layer"),
    Bad(S, "a layer class instead of an instance", lambda t: cnnlab.Sequential([layers.Flatten, layers.Dense(2)]),
        ArgumentTypeError, "Flatten"),
    Bad(S, "layers given as a string", lambda t: cnnlab.Sequential("conv, dense"), ArgumentTypeError, "layers"),
    Bad(S, "add() of a NumPy array", lambda t: cnnlab.Sequential().add(_f32(2, 2)), ArgumentTypeError, "add"),
    Bad(S, "pop() of an empty model", lambda t: cnnlab.Sequential().pop(), ConfigError, "pop"),
    Bad(S, "input_shape without the channel axis on Conv2D",
        lambda t: cnnlab.Sequential([layers.Conv2D(4, 3, input_shape=(28, 28))]), ShapeError, "Conv2D"),
    Bad(S, "channels-first batch into a channels-last model",
        lambda t: cnnlab.Sequential([layers.Input((28, 28, 1)), layers.Conv2D(4, 3)])(_f32(2, 1, 28, 28)),
        ShapeError, "channels"),
    Bad(S, "get_layer of a misspelt name", lambda t: _sequential_mlp().get_layer("dens"), ConfigError, "dense"),
    Bad(S, "get_layer index past the end", lambda t: _sequential_mlp().get_layer(index=9), ConfigError, "index"),
    Bad(S, "set_weights with too few arrays", lambda t: _sequential_mlp().set_weights([np.zeros((4, 3))]),
        ShapeError, "set_weights"),
    Bad(F, "inputs given as NumPy arrays", lambda t: cnnlab.Model(_f32(1, 4), _f32(1, 2)), ConfigError,
        "inputs"),
    Bad(F, "outputs not connected to the inputs", lambda t: _functional_unconnected(), ConfigError, "input"),
    Bad(F, "two layers with the same name", lambda t: _functional_duplicate_names(), ConfigError, "same"),
    Bad(F, "called on a batch of the wrong width",
        lambda t: cnnlab.Model(*_io_pair())(_f32(2, 5)), ShapeError, "dense|input"),
    Bad(F, "Input shape with the batch size included",
        lambda t: cnnlab.Model(*_conv_io((1, 28, 28, 1)))(_f32(2, 28, 28, 1)), ShapeError, "conv2d|Input"),
    Bad(M, "subclass without call()", lambda t: _NoCall()(_f32(1, 2)), NotImplementedError, "call"),
    Bad(M, "summary() before the first call", lambda t: _Tiny().summary(), NotBuiltError, "build"),
]


def _io_pair():
    inp = layers.Input((4,))
    return inp, layers.Dense(2)(inp)


def _conv_io(shape):
    inp = layers.Input(shape)
    return inp, layers.Conv2D(2, 3)(inp)


class _Tiny(cnnlab.Model):
    def __init__(self):
        super().__init__()
        self.dense = layers.Dense(2)

    def call(self, x):
        return self.dense(x)


@cases(*MODELS)
def test_bad_model_construction_or_call_is_explained(case, tmp_path):
    check_bad(case, tmp_path)


def test_every_model_api_accepts_a_one_sample_batch():
    inp = layers.Input((4,))
    models = {S: _sequential_mlp(), F: cnnlab.Model(inp, layers.Dense(3)(inp)), M: _Tiny()}
    for entry, model in models.items():
        out = check_accepted(entry, "one-sample batch", lambda: model(np.ones((1, 4), np.float32)))
        assert tuple(out.shape)[0] == 1
