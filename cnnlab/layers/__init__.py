"""Layers with Keras's names, arguments and defaults."""

# One import line and one __all__ line per family; keep them in step.
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
    # base and core
    "Activation", "Dense", "Dropout", "Flatten", "Input", "InputLayer", "InputSpec", "Layer", "Reshape",
    "TorchModule", "Variable", "ZeroPadding2D",
    # activation
    "LeakyReLU", "ReLU", "Softmax",
    # conv
    "Conv2D", "Convolution2D",
    # pooling and reshaping
    "AveragePooling2D", "AvgPool2D", "GlobalAveragePooling2D", "GlobalAvgPool2D", "GlobalMaxPool2D",
    "GlobalMaxPooling2D", "MaxPool2D", "MaxPooling2D",
    # normalization and regularization
    "BatchNormalization",
    # merge
    "Add", "Concatenate",
    # preprocessing and augmentation
    "Rescaling",
]


def __getattr__(name: str):
    from cnnlab.errors import did_you_mean

    raise AttributeError(
        f"module 'cnnlab.layers' has no attribute '{name}'.{did_you_mean(name, __all__)} "
        f"Layer names follow Keras's spelling (Conv2D, MaxPooling2D, Dense, ...)."
    )
