"""MobileNetV2 (Sandler et al., 2018), as ``keras.applications.mobilenet_v2``.

Inverted residual blocks: a 1x1 expansion, a 3x3 depthwise convolution and a
linear 1x1 projection, with a skip connection where the shape allows.
"""

from __future__ import annotations

from cnnlab import layers
from cnnlab.applications import _common, imagenet_utils
from cnnlab.applications import _mobile_common as mc
from cnnlab.errors import ConfigError
from cnnlab.layers.node import KerasTensor
from cnnlab.models import Functional

# keras/src/applications/mobilenet_v2.py: no hashes are published for these files.
BASE_WEIGHT_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"
IMAGENET_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
IMAGENET_SIZES = (96, 128, 160, 192, 224)

# (filters, stride, expansion) of the 17 inverted residual blocks.
_BLOCKS = ((16, 1, 1), (24, 2, 6), (24, 1, 6), (32, 2, 6), (32, 1, 6), (32, 1, 6), (64, 2, 6), (64, 1, 6),
           (64, 1, 6), (64, 1, 6), (96, 1, 6), (96, 1, 6), (96, 1, 6), (160, 2, 6), (160, 1, 6), (160, 1, 6),
           (320, 1, 6))


def MobileNetV2(input_shape=None, alpha=1.0, include_top=True, weights="imagenet", input_tensor=None, pooling=None,
                classes=1000, classifier_activation="softmax", name=None):
    """MobileNetV2: inverted residual blocks with linear bottlenecks (3.5 M parameters at ``alpha=1``).

    Args:
        input_shape: shape of one image; 96, 128, 160, 192 or 224 square for ImageNet weights (else those of
            224 are loaded, with a warning); at least 32x32.
        alpha: width multiplier; ImageNet weights exist for 0.35, 0.5, 0.75, 1.0, 1.3 and 1.4.
        include_top: include the classifier (global average pooling + Dense).
        weights: None (random), ``"imagenet"`` (Keras's published weights) or the path of a weights file.
        input_tensor: optional symbolic tensor to use as the image input.
        pooling: with ``include_top=False``: None, ``"avg"`` or ``"max"``.
        classes: number of classes with ``include_top=True`` (1000 for ImageNet weights).
        classifier_activation: activation of the last layer (``"softmax"`` or None with pretrained weights).
        name: the model's name (default ``mobilenetv2_{alpha:.2f}_{rows}``).

    Shape:
        Input ``(N, 224, 224, 3)`` by default; output ``(N, classes)``, or
        ``(N, H/32, W/32, 1280)`` without top and pooling (more for ``alpha > 1``).

    Example:
        >>> base = MobileNetV2(include_top=False, weights=None, input_shape=(96, 96, 3))
        >>> base.output_shape
        (None, 3, 3, 1280)
    """
    where = "MobileNetV2"
    _common.validate_weights(weights, include_top, classes, where=where)
    _check_input_tensor(input_tensor, input_shape)
    shape_hint = input_shape
    if shape_hint is None and isinstance(input_tensor, KerasTensor):
        shape_hint = input_tensor.shape[1:]
    default_size = mc.square_default_size(shape_hint, IMAGENET_SIZES)
    img_input, inputs, input_shape = mc.start(
        weights=weights, include_top=include_top, classes=classes, pooling=pooling, input_tensor=input_tensor,
        input_shape=input_shape, default_size=default_size, where=where)
    rows, cols = mc.spatial_size(input_shape)
    if weights == "imagenet":
        if alpha not in IMAGENET_ALPHAS:
            raise ConfigError("MobileNetV2: ImageNet weights exist only for alpha 0.35, 0.50, 0.75, 1.0, 1.3 or "
                              f"1.4. Pick one of those, or weights=None. Received: alpha={alpha!r}")
        rows = mc.imagenet_rows(rows, cols, IMAGENET_SIZES)

    axis = mc.channel_axis()
    x = layers.Conv2D(mc.make_divisible(32 * alpha, 8), kernel_size=3, strides=(2, 2), padding="same",
                      use_bias=False, name="Conv1")(img_input)
    x = layers.BatchNormalization(axis=axis, **mc.MOBILENET_BN, name="bn_Conv1")(x)
    x = layers.ReLU(6.0, name="Conv1_relu")(x)
    for block_id, (filters, stride, expansion) in enumerate(_BLOCKS):
        x = _inverted_res_block(x, expansion=expansion, stride=stride, alpha=alpha, filters=filters,
                                block_id=block_id)
    last_block_filters = mc.make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
    x = layers.Conv2D(last_block_filters, kernel_size=1, use_bias=False, name="Conv_1")(x)
    x = layers.BatchNormalization(axis=axis, **mc.MOBILENET_BN, name="Conv_1_bn")(x)
    x = layers.ReLU(6.0, name="out_relu")(x)
    x = _common.classifier_head(x, include_top=include_top, pooling=pooling, classes=classes,
                                classifier_activation=classifier_activation, weights=weights, where=where)

    model = Functional(inputs, x, name=name if name is not None else f"mobilenetv2_{alpha:0.2f}_{rows}")
    fname = (f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}"
             f"{'' if include_top else '_no_top'}.h5")
    _common.load_weights(model, weights, fname=fname, origin=BASE_WEIGHT_PATH + fname, file_hash=None, where=where)
    return model


def _check_input_tensor(input_tensor, input_shape) -> None:
    """Keras's MobileNetV2 rule: with both given, the tensor must be symbolic and have the shape's width."""
    if input_tensor is None or input_shape is None:
        return
    if not isinstance(input_tensor, KerasTensor):
        raise ConfigError("MobileNetV2: with input_shape given, input_tensor must be a symbolic tensor (the output "
                          "of Input(...) or of a layer). Pass only input_shape, or an Input tensor. "
                          f"Received: input_tensor of type {type(input_tensor).__name__}")
    first = _common.image_data_format() == "channels_first"
    got = input_tensor.shape[1] if first else input_tensor.shape[2]
    if got != tuple(input_shape)[1]:
        raise ConfigError(f"MobileNetV2: input_tensor and input_shape disagree: input_tensor.shape "
                          f"{input_tensor.shape} vs input_shape {tuple(input_shape)}. Give matching shapes, or "
                          f"only one of them. Received: input_shape={tuple(input_shape)}")


def _inverted_res_block(inputs, expansion, stride, alpha, filters, block_id):
    """Expand (1x1, skipped in block 0), depthwise 3x3, project (1x1, linear), plus the skip when shapes allow."""
    axis = mc.channel_axis()
    in_channels = inputs.shape[axis]
    pointwise_filters = mc.make_divisible(int(filters * alpha), 8)
    x = inputs
    prefix = f"block_{block_id}_"
    if block_id:
        x = layers.Conv2D(expansion * in_channels, kernel_size=1, padding="same", use_bias=False, activation=None,
                          name=f"{prefix}expand")(x)
        x = layers.BatchNormalization(axis=axis, **mc.MOBILENET_BN, name=f"{prefix}expand_BN")(x)
        x = layers.ReLU(6.0, name=f"{prefix}expand_relu")(x)
    else:
        prefix = "expanded_conv_"
    if stride == 2:
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, 3), name=f"{prefix}pad")(x)
    x = layers.DepthwiseConv2D(kernel_size=3, strides=stride, activation=None, use_bias=False,
                               padding="same" if stride == 1 else "valid", name=f"{prefix}depthwise")(x)
    x = layers.BatchNormalization(axis=axis, **mc.MOBILENET_BN, name=f"{prefix}depthwise_BN")(x)
    x = layers.ReLU(6.0, name=f"{prefix}depthwise_relu")(x)
    x = layers.Conv2D(pointwise_filters, kernel_size=1, padding="same", use_bias=False, activation=None,
                      name=f"{prefix}project")(x)
    x = layers.BatchNormalization(axis=axis, **mc.MOBILENET_BN, name=f"{prefix}project_BN")(x)
    if in_channels == pointwise_filters and stride == 1:
        return layers.Add(name=f"{prefix}add")([inputs, x])
    return x


def preprocess_input(x, data_format=None):
    """ImageNet "tf" preprocessing: scale pixels from 0..255 to -1..1."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


decode_predictions = mc.decode_predictions
