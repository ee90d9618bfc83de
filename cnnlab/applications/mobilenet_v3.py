"""MobileNetV3 Small and Large (Howard et al., 2019), as ``keras.applications.mobilenet_v3``.

Inverted residual blocks with optional squeeze-and-excitation and hard-swish
activations; the model rescales its input itself (``include_preprocessing``),
so ``preprocess_input`` is the identity. ``minimalistic=True`` drops SE,
hard-swish and 5x5 kernels.
"""

from __future__ import annotations

import warnings

from cnnlab import layers
from cnnlab.applications import _common, imagenet_utils
from cnnlab.applications import _mobile_common as mc
from cnnlab.errors import ConfigError, ShapeError
from cnnlab.layers.node import KerasTensor
from cnnlab.models import Functional

# keras/src/applications/mobilenet_v3.py
BASE_WEIGHT_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v3/"
WEIGHTS_HASHES = {
    "large_224_0.75_float": ("765b44a33ad4005b3ac83185abf1d0eb", "40af19a13ebea4e2ee0c676887f69a2e"),
    "large_224_1.0_float": ("59e551e166be033d707958cf9e29a6a7", "07fb09a5933dd0c8eaafa16978110389"),
    "large_minimalistic_224_1.0_float": ("675e7b876c45c57e9e63e6d90a36599c", "ec5221f64a2f6d1ef965a614bdae7973"),
    "small_224_0.75_float": ("cb65d4e5be93758266aa0a7f2c6708b7", "ebdb5cc8e0b497cd13a7c275d475c819"),
    "small_224_1.0_float": ("8768d4c2e7dee89b9d02b2d03d65d862", "d3e8ec802a04aa4fc771ee12a9a9b836"),
    "small_minimalistic_224_1.0_float": ("99cd97fb2fcdad2bf028eb838de69e37", "cde8136e733e811080d9fcd8a252f7e4"),
}

# Block tables: (expansion, filters, kernel, stride, squeeze-excite?, activation) where kernel "k" and
# activation "act" stand for the variant's choice (5 and hard-swish, or 3 and ReLU when minimalistic).
_SMALL = ((1, 16, 3, 2, True, "relu"), (72.0 / 16, 24, 3, 2, False, "relu"), (88.0 / 24, 24, 3, 1, False, "relu"),
          (4, 40, "k", 2, True, "act"), (6, 40, "k", 1, True, "act"), (6, 40, "k", 1, True, "act"),
          (3, 48, "k", 1, True, "act"), (3, 48, "k", 1, True, "act"), (6, 96, "k", 2, True, "act"),
          (6, 96, "k", 1, True, "act"), (6, 96, "k", 1, True, "act"))
_LARGE = ((1, 16, 3, 1, False, "relu"), (4, 24, 3, 2, False, "relu"), (3, 24, 3, 1, False, "relu"),
          (3, 40, "k", 2, True, "relu"), (3, 40, "k", 1, True, "relu"), (3, 40, "k", 1, True, "relu"),
          (6, 80, 3, 2, False, "act"), (2.5, 80, 3, 1, False, "act"), (2.3, 80, 3, 1, False, "act"),
          (2.3, 80, 3, 1, False, "act"), (6, 112, 3, 1, True, "act"), (6, 112, 3, 1, True, "act"),
          (6, 160, "k", 2, True, "act"), (6, 160, "k", 1, True, "act"), (6, 160, "k", 1, True, "act"))
_VARIANTS = {"small": (_SMALL, 1024), "large": (_LARGE, 1280)}  # blocks, channels of the last 1x1 conv
SE_RATIO = 0.25


def relu(x):
    return layers.ReLU()(x)


def hard_sigmoid(x):
    """``ReLU6(x + 3) / 6`` as Keras's MobileNetV3 writes it: three graph nodes (add, re_lu, multiply)."""
    return layers.ReLU(6.0)(x + 3.0) * (1.0 / 6.0)


def hard_swish(x):
    return layers.Activation("hard_swish")(x)


def MobileNetV3(stack, last_point_ch, input_shape=None, alpha=1.0, model_type="large", minimalistic=False,
                include_top=True, weights="imagenet", input_tensor=None, classes=1000, pooling=None,
                dropout_rate=0.2, classifier_activation="softmax", include_preprocessing=True, name=None):
    """Build a MobileNetV3 from its block table; :func:`MobileNetV3Small` and :func:`MobileNetV3Large` call it."""
    where = name or "MobileNetV3"
    _common.validate_weights(weights, include_top, classes, where=where)
    _common.validate_pooling(pooling, include_top, where=where)
    input_shape = _input_shape(input_shape, input_tensor, where)
    if weights == "imagenet":
        if (not minimalistic and alpha not in (0.75, 1.0)) or (minimalistic and alpha != 1.0):
            raise ConfigError(f"{where}: ImageNet weights exist only for alpha 0.75 or 1.0 (1.0 when minimalistic). "
                              f"Pick one of those, or weights=None. Received: alpha={alpha!r}, "
                              f"minimalistic={minimalistic!r}")
        rows, cols = mc.spatial_size(input_shape)
        if rows != cols or rows != 224:
            warnings.warn("`input_shape` is undefined or non-square, or `rows` is not 224. Weights for input shape "
                          "(224, 224) will be loaded as the default.", stacklevel=3)
    img_input, inputs = _common.application_input(input_tensor, input_shape)

    axis = mc.channel_axis()
    kernel, activation, se_ratio = (3, relu, None) if minimalistic else (5, hard_swish, SE_RATIO)
    x = img_input
    if include_preprocessing:
        x = layers.Rescaling(scale=1.0 / 127.5, offset=-1.0)(x)
    x = layers.Conv2D(16, kernel_size=3, strides=(2, 2), padding="same", use_bias=False, name="conv")(x)
    x = layers.BatchNormalization(axis=axis, **mc.MOBILENET_BN, name="conv_bn")(x)
    x = activation(x)
    for block_id, (expansion, filters, k, stride, se, act) in enumerate(stack):
        x = _inverted_res_block(x, expansion, mc.make_divisible(filters * alpha), kernel if k == "k" else k, stride,
                                se_ratio if se else None, relu if act == "relu" else activation, block_id)
    last_conv_ch = mc.make_divisible(x.shape[axis] * 6)
    if alpha > 1.0:
        last_point_ch = mc.make_divisible(last_point_ch * alpha)
    x = layers.Conv2D(last_conv_ch, kernel_size=1, padding="same", use_bias=False, name="conv_1")(x)
    x = layers.BatchNormalization(axis=axis, **mc.MOBILENET_BN, name="conv_1_bn")(x)
    x = activation(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Conv2D(last_point_ch, kernel_size=1, padding="same", use_bias=True, name="conv_2")(x)
        x = activation(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate)(x)
        x = layers.Conv2D(classes, kernel_size=1, padding="same", name="logits")(x)
        x = layers.Flatten()(x)
        _common.validate_classifier_activation(classifier_activation, weights, where=where)
        x = layers.Activation(activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)

    model = Functional(inputs, x, name=name)
    key = f"{model_type}{'_minimalistic' if minimalistic else ''}_224_{alpha}_float"
    fname = f"weights_mobilenet_v3_{key}{'.h5' if include_top else '_no_top_v2.h5'}"
    file_hash = WEIGHTS_HASHES.get(key, (None, None))[0 if include_top else 1]
    _common.load_weights(model, weights, fname=fname, origin=BASE_WEIGHT_PATH + fname, file_hash=file_hash,
                         where=where)
    return model


def _input_shape(input_shape, input_tensor, where: str) -> tuple:
    """Keras's MobileNetV3 input rules: any size from 32x32 (None allowed), or the input tensor's size."""
    first = _common.image_data_format() == "channels_first"
    symbolic = isinstance(input_tensor, KerasTensor)
    if input_shape is not None and input_tensor is not None:
        if not symbolic:
            raise ConfigError(f"{where}: with input_shape given, input_tensor must be a symbolic tensor (the output "
                              "of Input(...) or of a layer). Pass only one of them. "
                              f"Received: input_tensor of type {type(input_tensor).__name__}")
        got = input_tensor.shape[1] if first else input_tensor.shape[2]
        if got != tuple(input_shape)[1]:
            raise ConfigError(f"{where}: input_tensor and input_shape disagree: input_tensor.shape "
                              f"{input_tensor.shape} vs input_shape {tuple(input_shape)}. Give matching shapes, or "
                              f"only one of them. Received: input_shape={tuple(input_shape)}")
    if input_shape is None and symbolic:
        # Keras takes rows and columns in this (swapped) order from the tensor.
        rows, cols = input_tensor.shape[2:4] if first else input_tensor.shape[1:3]
        input_shape = (3, cols, rows) if first else (cols, rows, 3)
    if input_shape is None:
        input_shape = (3, None, None) if first else (None, None, 3)
    input_shape = tuple(input_shape)
    rows, cols = mc.spatial_size(input_shape)
    if rows and cols and (rows < mc.MIN_SIZE or cols < mc.MIN_SIZE):
        raise ShapeError(f"{where}: input size must be at least 32x32. Received: input_shape={input_shape}")
    return input_shape


def _se_block(inputs, filters, se_ratio, prefix):
    """Squeeze-and-excitation with a hard-sigmoid gate."""
    x = layers.GlobalAveragePooling2D(keepdims=True, name=f"{prefix}squeeze_excite_avg_pool")(inputs)
    x = layers.Conv2D(mc.make_divisible(filters * se_ratio), kernel_size=1, padding="same",
                      name=f"{prefix}squeeze_excite_conv")(x)
    x = layers.ReLU(name=f"{prefix}squeeze_excite_relu")(x)
    x = layers.Conv2D(filters, kernel_size=1, padding="same", name=f"{prefix}squeeze_excite_conv_1")(x)
    x = hard_sigmoid(x)
    return layers.Multiply(name=f"{prefix}squeeze_excite_mul")([inputs, x])


def _inverted_res_block(x, expansion, filters, kernel_size, stride, se_ratio, activation, block_id):
    axis = mc.channel_axis()
    shortcut = x
    prefix = "expanded_conv_"
    infilters = x.shape[axis]
    if block_id:
        prefix = f"expanded_conv_{block_id}_"
        x = layers.Conv2D(mc.make_divisible(infilters * expansion), kernel_size=1, padding="same", use_bias=False,
                          name=f"{prefix}expand")(x)
        x = layers.BatchNormalization(axis=axis, **mc.MOBILENET_BN, name=f"{prefix}expand_bn")(x)
        x = activation(x)
    if stride == 2:
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, kernel_size), name=f"{prefix}depthwise_pad")(x)
    x = layers.DepthwiseConv2D(kernel_size, strides=stride, padding="same" if stride == 1 else "valid",
                               use_bias=False, name=f"{prefix}depthwise")(x)
    x = layers.BatchNormalization(axis=axis, **mc.MOBILENET_BN, name=f"{prefix}depthwise_bn")(x)
    x = activation(x)
    if se_ratio:
        x = _se_block(x, mc.make_divisible(infilters * expansion), se_ratio, prefix)
    x = layers.Conv2D(filters, kernel_size=1, padding="same", use_bias=False, name=f"{prefix}project")(x)
    x = layers.BatchNormalization(axis=axis, **mc.MOBILENET_BN, name=f"{prefix}project_bn")(x)
    if stride == 1 and infilters == filters:
        x = layers.Add(name=f"{prefix}add")([shortcut, x])
    return x


_DOC = """{name}: MobileNetV3 {size}, with its own input rescaling (``include_preprocessing``).

    Args:
        input_shape: shape of one image (any size from 32x32; None sizes allowed); ImageNet weights were trained
            at 224x224.
        alpha: width multiplier; ImageNet weights exist for 0.75 and 1.0 (1.0 when minimalistic).
        minimalistic: no squeeze-and-excitation, no hard-swish, only 3x3 kernels.
        include_top: include the classifier (pooling, 1x1 convolutions, dropout).
        weights: None (random), ``"imagenet"`` (Keras's published weights) or the path of a weights file.
        input_tensor: optional symbolic tensor to use as the image input.
        classes: number of classes with ``include_top=True`` (1000 for ImageNet weights).
        pooling: with ``include_top=False``: None, ``"avg"`` or ``"max"``.
        dropout_rate: dropout rate before the last 1x1 convolution.
        classifier_activation: activation of the last layer (``"softmax"`` or None with pretrained weights).
        include_preprocessing: start with ``Rescaling(1/127.5, offset=-1)``, so inputs are pixels in 0..255.
        name: the model's name.

    Shape:
        Input ``(N, H, W, 3)``, pixels 0..255; output ``(N, classes)``, or ``(N, H/32, W/32, C)`` without top.

    Example:
        >>> base = {name}(include_top=False, weights=None, input_shape=(64, 64, 3), pooling="avg")
        >>> base.output_shape
        (None, {channels})
    """


def _variant(model_type: str, default_name: str, channels: int):
    blocks, last_point_ch = _VARIANTS[model_type]

    def build(input_shape=None, alpha=1.0, minimalistic=False, include_top=True, weights="imagenet",
              input_tensor=None, classes=1000, pooling=None, dropout_rate=0.2, classifier_activation="softmax",
              include_preprocessing=True, name=default_name):
        return MobileNetV3(blocks, last_point_ch, input_shape, alpha, model_type, minimalistic, include_top,
                           weights, input_tensor, classes, pooling, dropout_rate, classifier_activation,
                           include_preprocessing, name=name)

    build.__name__ = build.__qualname__ = default_name
    build.__doc__ = _DOC.format(name=default_name, size=model_type.capitalize(), channels=channels)
    return build


MobileNetV3Small = _variant("small", "MobileNetV3Small", 576)
MobileNetV3Large = _variant("large", "MobileNetV3Large", 960)


def preprocess_input(x, data_format=None):
    """Return ``x`` unchanged: the model rescales its input itself (``include_preprocessing=True``)."""
    return x


decode_predictions = mc.decode_predictions
