"""Layers with Keras's names, arguments and defaults."""

from cnnlab.layers.activation import LeakyReLU, ReLU, Softmax
from cnnlab.layers.base import InputSpec, Layer, Variable
from cnnlab.layers.conv import Conv2D, Convolution2D
from cnnlab.layers.core import Activation, Dense, Dropout, Flatten, Input, InputLayer, Reshape, ZeroPadding2D
from cnnlab.layers.merge import Add, Concatenate
from cnnlab.layers.normalization import BatchNormalization
from cnnlab.layers.pooling import (
    AveragePooling2D,
    AvgPool2D,
    GlobalAveragePooling2D,
    GlobalAvgPool2D,
    GlobalMaxPool2D,
    GlobalMaxPooling2D,
    MaxPool2D,
    MaxPooling2D,
)
from cnnlab.layers.preprocessing import Rescaling
from cnnlab.layers.torch_module import TorchModule

__all__ = [
    "Activation", "Add", "AveragePooling2D", "AvgPool2D", "BatchNormalization", "Concatenate", "Conv2D",
    "Convolution2D", "Dense", "Dropout", "Flatten", "GlobalAveragePooling2D", "GlobalAvgPool2D", "GlobalMaxPool2D",
    "GlobalMaxPooling2D", "Input", "InputLayer", "InputSpec", "Layer", "LeakyReLU", "MaxPool2D", "MaxPooling2D",
    "ReLU", "Rescaling", "Reshape", "Softmax", "TorchModule", "Variable", "ZeroPadding2D",
]


def __getattr__(name: str):
    from cnnlab.errors import did_you_mean

    raise AttributeError(
        f"module 'cnnlab.layers' has no attribute '{name}'.{did_you_mean(name, __all__)} "
        f"Layer names follow Keras's spelling (Conv2D, MaxPooling2D, Dense, ...)."
    )
