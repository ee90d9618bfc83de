"""Xception (Chollet, 2017), as ``keras.applications.xception``."""

from __future__ import annotations

from cnnlab import layers
from cnnlab.applications import _common, imagenet_utils

# Keras's published weights (keras/src/applications/xception.py).
_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/xception/"
WEIGHTS_PATH = _BASE + "xception_weights_tf_dim_ordering_tf_kernels.h5"
WEIGHTS_PATH_NO_TOP = _BASE + "xception_weights_tf_dim_ordering_tf_kernels_notop.h5"
_HASHES = ("0a58e3b7378bc2990ea3b43d5981f1f6", "b0042744bf5b25fce3cb969f33bebb97")
_CHANNEL_AXIS = -1
_MIDDLE_BLOCKS = 8


def _sepconv_bn(x, filters, name):
    x = layers.SeparableConv2D(filters, (3, 3), padding="same", use_bias=False, name=name)(x)
    return layers.BatchNormalization(axis=_CHANNEL_AXIS, name=f"{name}_bn")(x)


def _reduction_block(x, filters1, filters2, block, activate_first=True):
    """Two separable convolutions and a strided max pool, added to a strided 1x1 projection of the input."""
    residual = layers.Conv2D(filters2, (1, 1), strides=(2, 2), padding="same", use_bias=False)(x)
    residual = layers.BatchNormalization(axis=_CHANNEL_AXIS)(residual)
    if activate_first:
        x = layers.Activation("relu", name=f"block{block}_sepconv1_act")(x)
    x = _sepconv_bn(x, filters1, f"block{block}_sepconv1")
    x = layers.Activation("relu", name=f"block{block}_sepconv2_act")(x)
    x = _sepconv_bn(x, filters2, f"block{block}_sepconv2")
    x = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="same", name=f"block{block}_pool")(x)
    return layers.add([x, residual])


def _middle_block(x, block):
    """Three ReLU-separable convolution pairs with an identity shortcut."""
    residual = x
    for conv in range(1, 4):
        x = layers.Activation("relu", name=f"block{block}_sepconv{conv}_act")(x)
        x = _sepconv_bn(x, 728, f"block{block}_sepconv{conv}")
    return layers.add([x, residual])


def Xception(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
             classes=1000, classifier_activation="softmax", name="xception"):
    where = "Xception"
    img_input, inputs = _common.prepare_input(
        where=where, include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
        pooling=pooling, classes=classes, default_size=299, min_size=71)

    x = layers.Conv2D(32, (3, 3), strides=(2, 2), use_bias=False, name="block1_conv1")(img_input)
    x = layers.BatchNormalization(axis=_CHANNEL_AXIS, name="block1_conv1_bn")(x)
    x = layers.Activation("relu", name="block1_conv1_act")(x)
    x = layers.Conv2D(64, (3, 3), use_bias=False, name="block1_conv2")(x)
    x = layers.BatchNormalization(axis=_CHANNEL_AXIS, name="block1_conv2_bn")(x)
    x = layers.Activation("relu", name="block1_conv2_act")(x)

    # Entry flow: the first block starts straight after the stem's ReLU.
    x = _reduction_block(x, 128, 128, 2, activate_first=False)
    x = _reduction_block(x, 256, 256, 3)
    x = _reduction_block(x, 728, 728, 4)
    for i in range(_MIDDLE_BLOCKS):
        x = _middle_block(x, i + 5)
    x = _reduction_block(x, 728, 1024, 13)

    x = _sepconv_bn(x, 1536, "block14_sepconv1")
    x = layers.Activation("relu", name="block14_sepconv1_act")(x)
    x = _sepconv_bn(x, 2048, "block14_sepconv2")
    x = layers.Activation("relu", name="block14_sepconv2_act")(x)

    x = _common.classifier_head(x, include_top=include_top, pooling=pooling, classes=classes,
                                classifier_activation=classifier_activation, weights=weights, where=where,
                                pool_name="avg_pool")
    return _common.build_model(inputs, x, name=name, weights=weights, include_top=include_top,
                               top=(WEIGHTS_PATH, _HASHES[0]), notop=(WEIGHTS_PATH_NO_TOP, _HASHES[1]), where=where)


Xception.__doc__ = _common.builder_doc(
    "Xception: depthwise separable convolutions with residual connections (22.9 M parameters).",
    default_size=299, min_size=71, features="(N, h, w, 2048)",
    example=">>> model = Xception(include_top=False, weights=None, input_shape=(71, 71, 3), pooling='avg')\n"
            "        >>> model.output_shape\n        (None, 2048)")


def preprocess_input(x, data_format=None):
    """ImageNet "tf" preprocessing: pixels scaled from [0, 255] to [-1, 1]."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds, top=5):
    """``(class_id, class_name, score)`` tuples for the ``top`` classes of each sample (see imagenet_utils)."""
    return imagenet_utils.decode_predictions(preds, top=top)
