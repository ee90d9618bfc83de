"""Layers with Keras's names, arguments and defaults."""

# One import line and one __all__ line per family; keep them in step.
from cnnlab.layers.activation import ELU, LeakyReLU, PReLU, ReLU, Softmax
from cnnlab.layers.base import InputSpec, Layer, Variable
from cnnlab.layers.conv import (
    Conv1D,
    Conv1DTranspose,
    Conv2D,
    Conv2DTranspose,
    Conv3D,
    Conv3DTranspose,
    Convolution1D,
    Convolution1DTranspose,
    Convolution2D,
    Convolution2DTranspose,
    Convolution3D,
    Convolution3DTranspose,
    DepthwiseConv1D,
    DepthwiseConv2D,
    SeparableConv1D,
    SeparableConv2D,
    SeparableConvolution1D,
    SeparableConvolution2D,
)
from cnnlab.layers.core import Activation, Dense, Dropout, Flatten, Input, InputLayer, Reshape, ZeroPadding2D
from cnnlab.layers.lambda_layer import Lambda
from cnnlab._serialization import deserialize_layer as deserialize, serialize_layer as serialize  # keras.layers.(de)serialize
from cnnlab.layers.merge import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    dot,
    maximum,
    minimum,
    multiply,
    subtract,
)
from cnnlab.layers.normalization import BatchNormalization, GroupNormalization, LayerNormalization, UnitNormalization
from cnnlab.layers.global_pooling import (
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalAveragePooling3D,
    GlobalAvgPool1D,
    GlobalAvgPool2D,
    GlobalAvgPool3D,
    GlobalMaxPool1D,
    GlobalMaxPool2D,
    GlobalMaxPool3D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    GlobalMaxPooling3D,
)
from cnnlab.layers.pooling import (
    AveragePooling1D,
    AveragePooling2D,
    AveragePooling3D,
    AvgPool1D,
    AvgPool2D,
    AvgPool3D,
    MaxPool1D,
    MaxPool2D,
    MaxPool3D,
    MaxPooling1D,
    MaxPooling2D,
    MaxPooling3D,
)
from cnnlab.layers.reshaping import (
    Cropping1D,
    Cropping2D,
    Cropping3D,
    Identity,
    Permute,
    RepeatVector,
    ZeroPadding1D,
    ZeroPadding3D,
)
from cnnlab.layers.up_sampling import UpSampling1D, UpSampling2D, UpSampling3D
from cnnlab.layers.preprocessing import (
    CenterCrop, CutMix, MixUp, Normalization, RandAugment, RandomBrightness, RandomContrast, RandomCrop, RandomFlip,
    RandomRotation, RandomTranslation, RandomZoom, Rescaling, Resizing,
)
from cnnlab.layers.regularization import (
    ActivityRegularization,
    AlphaDropout,
    GaussianDropout,
    GaussianNoise,
    SpatialDropout1D,
    SpatialDropout2D,
    SpatialDropout3D,
)
from cnnlab.layers.torch_module import TorchModule

__all__ = [
    # base and core
    "Activation", "Dense", "Dropout", "Flatten", "Input", "InputLayer", "InputSpec", "Layer", "Reshape",
    "TorchModule", "Variable", "ZeroPadding2D",
    # activation
    "ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax",
    # conv
    "Conv1D", "Conv1DTranspose", "Conv2D", "Conv2DTranspose", "Conv3D", "Conv3DTranspose", "Convolution1D",
    "Convolution1DTranspose", "Convolution2D", "Convolution2DTranspose", "Convolution3D", "Convolution3DTranspose",
    "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D", "SeparableConvolution1D",
    "SeparableConvolution2D",
    # pooling and reshaping
    "AveragePooling1D", "AveragePooling2D", "AveragePooling3D", "AvgPool1D", "AvgPool2D", "AvgPool3D",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D", "GlobalAvgPool1D",
    "GlobalAvgPool2D", "GlobalAvgPool3D", "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPool3D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D", "MaxPool1D", "MaxPool2D", "MaxPool3D",
    "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "Cropping1D", "Cropping2D", "Cropping3D", "Identity", "Permute",
    "RepeatVector", "UpSampling1D", "UpSampling2D", "UpSampling3D", "ZeroPadding1D", "ZeroPadding3D",
    # normalization and regularization
    "BatchNormalization", "GroupNormalization", "LayerNormalization", "UnitNormalization", "ActivityRegularization",
    "AlphaDropout", "GaussianDropout", "GaussianNoise", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
    # merge (and Lambda)
    "Add", "Average", "Concatenate", "Dot", "Maximum", "Minimum", "Multiply", "Subtract", "add", "average",
    "concatenate", "dot", "maximum", "minimum", "multiply", "subtract", "Lambda",
    # preprocessing and augmentation
    "CenterCrop", "CutMix", "MixUp", "Normalization", "RandAugment", "RandomBrightness", "RandomContrast",
    "RandomCrop", "RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom", "Rescaling", "Resizing",
]


from cnnlab.layers.serialization import register_layer_classes  # noqa: E402

register_layer_classes(globals(), __all__)  # export = loadable: files may name exactly these classes


def __getattr__(name: str):
    from cnnlab.errors import did_you_mean
    from cnnlab.layers._out_of_scope import keras_name, not_provided

    if keras_name(name):
        raise not_provided(name)  # no did-you-mean: GRU is not ReLU
    raise AttributeError(
        f"module 'cnnlab.layers' has no attribute '{name}'.{did_you_mean(name, __all__)} "
        f"Layer names follow Keras's spelling (Conv2D, MaxPooling2D, Dense, ...)."
    )
