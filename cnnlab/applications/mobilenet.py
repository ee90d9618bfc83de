"""MobileNet (Howard et al., 2017), as ``keras.applications.mobilenet``.

A 3x3 convolution, then 13 depthwise-separable blocks (3x3 depthwise + 1x1
pointwise, each with BatchNormalization and ReLU6), then a 1x1-convolution
classifier. ``alpha`` scales every layer's width, ``depth_multiplier`` the
depthwise convolutions.
"""

from __future__ import annotations

from cnnlab import layers
from cnnlab.applications import _common, imagenet_utils
from cnnlab.applications import _mobile_common as mc
from cnnlab.errors import ConfigError
from cnnlab.models import Functional

# keras/src/applications/mobilenet.py: no hashes are published for these files.
BASE_WEIGHT_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet/"
IMAGENET_ALPHAS = (0.25, 0.50, 0.75, 1.0)
IMAGENET_SIZES = (128, 160, 192, 224)
_ALPHA_TEXT = {1.0: "1_0", 0.75: "7_5", 0.50: "5_0", 0.25: "2_5"}

# (pointwise filters, stride) of the 13 depthwise-separable blocks.
_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1), (512, 1),
           (512, 1), (1024, 2), (1024, 1))


def MobileNet(input_shape=None, alpha=1.0, depth_multiplier=1, dropout=1e-3, include_top=True, weights="imagenet",
              input_tensor=None, pooling=None, classes=1000, classifier_activation="softmax", name=None):
    """MobileNet: depthwise-separable convolutions (4.3 M parameters at ``alpha=1``).

    Args:
        input_shape: shape of one image; 128, 160, 192 or 224 square for ImageNet weights (else those of 224
            are loaded, with a warning); at least 32x32.
        alpha: width multiplier: ``< 1`` thins, ``> 1`` widens every layer; ImageNet weights exist for 0.25,
            0.5, 0.75 and 1.0.
        depth_multiplier: depthwise channels per input channel (1 for ImageNet weights).
        dropout: dropout rate before the classifier.
        include_top: include the classifier (global pooling, dropout, 1x1 convolution).
        weights: None (random), ``"imagenet"`` (Keras's published weights) or the path of a weights file.
        input_tensor: optional symbolic tensor to use as the image input.
        pooling: with ``include_top=False``: None, ``"avg"`` or ``"max"``.
        classes: number of classes with ``include_top=True`` (1000 for ImageNet weights).
        classifier_activation: activation of the last layer (``"softmax"`` or None with pretrained weights).
        name: the model's name (default ``mobilenet_{alpha:.2f}_{rows}``).

    Shape:
        Input ``(N, 224, 224, 3)`` by default; output ``(N, classes)``, or
        ``(N, H/32, W/32, 1024 * alpha)`` without top and pooling.

    Example:
        >>> base = MobileNet(include_top=False, weights=None, input_shape=(64, 64, 3), alpha=0.25)
        >>> base.output_shape
        (None, 2, 2, 256)
    """
    where = "MobileNet"
    default_size = mc.square_default_size(input_shape, IMAGENET_SIZES)
    img_input, inputs, input_shape = mc.start(
        weights=weights, include_top=include_top, classes=classes, pooling=pooling, input_tensor=input_tensor,
        input_shape=input_shape, default_size=default_size, where=where)
    rows, cols = mc.spatial_size(input_shape)
    if weights == "imagenet":
        _check_imagenet_options(alpha, depth_multiplier)
        rows = mc.imagenet_rows(rows, cols, IMAGENET_SIZES)

    x = _conv_block(img_input, 32, alpha, strides=(2, 2))
    for block_id, (filters, stride) in enumerate(_BLOCKS, start=1):
        x = _depthwise_conv_block(x, filters, alpha, depth_multiplier, strides=(stride, stride), block_id=block_id)

    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Dropout(dropout, name="dropout")(x)
        x = layers.Conv2D(classes, (1, 1), padding="same", name="conv_preds")(x)
        x = layers.Reshape((classes,), name="reshape_2")(x)
        _common.validate_classifier_activation(classifier_activation, weights, where=where)
        x = layers.Activation(activation=classifier_activation, name="predictions")(x)
    else:
        x = _common.pooling_head(x, pooling)

    model = Functional(inputs, x, name=name if name is not None else f"mobilenet_{alpha:0.2f}_{rows}")
    fname = f"mobilenet_{_ALPHA_TEXT.get(alpha, '2_5')}_{rows}_tf{'' if include_top else '_no_top'}.h5"
    _common.load_weights(model, weights, fname=fname, origin=BASE_WEIGHT_PATH + fname, file_hash=None, where=where)
    return model


def _check_imagenet_options(alpha, depth_multiplier) -> None:
    if depth_multiplier != 1:
        raise ConfigError("MobileNet: ImageNet weights exist only for depth_multiplier=1. Pass depth_multiplier=1, "
                          f"or weights=None to train from scratch. Received: depth_multiplier={depth_multiplier!r}")
    if alpha not in IMAGENET_ALPHAS:
        raise ConfigError("MobileNet: ImageNet weights exist only for alpha 0.25, 0.50, 0.75 or 1.0. Pick one of "
                          f"those, or weights=None to train from scratch. Received: alpha={alpha!r}")


def _conv_block(inputs, filters, alpha, kernel=(3, 3), strides=(1, 1)):
    """The first layer: a 3x3 convolution with BatchNormalization and ReLU6."""
    x = layers.Conv2D(int(filters * alpha), kernel, padding="same", use_bias=False, strides=strides,
                      name="conv1")(inputs)
    x = layers.BatchNormalization(axis=mc.channel_axis(), name="conv1_bn")(x)
    return layers.ReLU(6.0, name="conv1_relu")(x)


def _depthwise_conv_block(inputs, pointwise_conv_filters, alpha, depth_multiplier=1, strides=(1, 1), block_id=1):
    """Depthwise 3x3 (zero-padded bottom/right when strided) + pointwise 1x1, each with BN and ReLU6."""
    axis = mc.channel_axis()
    x = inputs
    if strides != (1, 1):
        x = layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"conv_pad_{block_id}")(x)
    x = layers.DepthwiseConv2D((3, 3), padding="same" if strides == (1, 1) else "valid",
                               depth_multiplier=depth_multiplier, strides=strides, use_bias=False,
                               name=f"conv_dw_{block_id}")(x)
    x = layers.BatchNormalization(axis=axis, name=f"conv_dw_{block_id}_bn")(x)
    x = layers.ReLU(6.0, name=f"conv_dw_{block_id}_relu")(x)
    x = layers.Conv2D(int(pointwise_conv_filters * alpha), (1, 1), padding="same", use_bias=False, strides=(1, 1),
                      name=f"conv_pw_{block_id}")(x)
    x = layers.BatchNormalization(axis=axis, name=f"conv_pw_{block_id}_bn")(x)
    return layers.ReLU(6.0, name=f"conv_pw_{block_id}_relu")(x)


def preprocess_input(x, data_format=None):
    """ImageNet "tf" preprocessing: scale pixels from 0..255 to -1..1."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


decode_predictions = mc.decode_predictions
