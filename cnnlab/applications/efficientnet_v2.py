"""EfficientNetV2 B0-B3, S, M and L (Tan & Le, 2021), as ``keras.applications.efficientnet_v2``.

Fused-MBConv blocks (one full convolution instead of expand + depthwise) in
the early stages, MBConv blocks with squeeze-and-excitation later. The model
rescales (and for B0-B3 normalises) its input itself, so ``preprocess_input``
is the identity.
"""

from __future__ import annotations

import copy
import math

from cnnlab import initializers, layers
from cnnlab.applications import _common
from cnnlab.applications import _mobile_common as mc
from cnnlab.applications.efficientnet import (
    CONV_KERNEL_INITIALIZER,
    DENSE_KERNEL_INITIALIZER,
    _top,
    residual,
)
from cnnlab.errors import ConfigError
from cnnlab.models import Functional

# keras/src/applications/efficientnet_v2.py
BASE_WEIGHTS_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/efficientnet_v2/"
WEIGHTS_HASHES = {
    "b0": ("21ecbf6da12460d5c40bb2f29ceb2188", "893217f2bb855e2983157299931e43ff"),
    "b1": ("069f0534ff22adf035c89e2d9547a9dc", "0e80663031ca32d657f9caa404b6ec37"),
    "b2": ("424e49f28180edbde1e94797771950a7", "1dfe2e7a5d45b6632553a8961ea609eb"),
    "b3": ("1f1fc43bd98a6e4fd8fdfd551e02c7a0", "f6abf7b5849ac99a89b50dd3fd532856"),
    "-s": ("e1d88a8495beba45748fedd0cecbe016", "af0682fb74e8c54910f2d4393339c070"),
    "-m": ("a3bf6aa3276309f4fc6a34aa114c95cd", "1b8dc055df72dde80d614482840fe342"),
    "-l": ("27e6d408b53c7ebc868fefa357689935", "b0b66b5c863aef5b46e8608fe1711615"),
}


def _stages(*rows):
    """Block arguments from rows of (kernel, repeats, in, out, expand, se_ratio, strides, conv_type)."""
    keys = ("kernel_size", "num_repeat", "input_filters", "output_filters", "expand_ratio", "se_ratio", "strides",
            "conv_type")
    return [dict(zip(keys, row)) for row in rows]


_B_SERIES = _stages((3, 1, 32, 16, 1, 0, 1, 1), (3, 2, 16, 32, 4, 0, 2, 1), (3, 2, 32, 48, 4, 0, 2, 1),
                    (3, 3, 48, 96, 4, 0.25, 2, 0), (3, 5, 96, 112, 6, 0.25, 1, 0), (3, 8, 112, 192, 6, 0.25, 2, 0))
DEFAULT_BLOCKS_ARGS = {
    "efficientnetv2-s": _stages((3, 2, 24, 24, 1, 0.0, 1, 1), (3, 4, 24, 48, 4, 0.0, 2, 1),
                                (3, 4, 48, 64, 4, 0, 2, 1), (3, 6, 64, 128, 4, 0.25, 2, 0),
                                (3, 9, 128, 160, 6, 0.25, 1, 0), (3, 15, 160, 256, 6, 0.25, 2, 0)),
    "efficientnetv2-m": _stages((3, 3, 24, 24, 1, 0, 1, 1), (3, 5, 24, 48, 4, 0, 2, 1), (3, 5, 48, 80, 4, 0, 2, 1),
                                (3, 7, 80, 160, 4, 0.25, 2, 0), (3, 14, 160, 176, 6, 0.25, 1, 0),
                                (3, 18, 176, 304, 6, 0.25, 2, 0), (3, 5, 304, 512, 6, 0.25, 1, 0)),
    "efficientnetv2-l": _stages((3, 4, 32, 32, 1, 0, 1, 1), (3, 7, 32, 64, 4, 0, 2, 1), (3, 7, 64, 96, 4, 0, 2, 1),
                                (3, 10, 96, 192, 4, 0.25, 2, 0), (3, 19, 192, 224, 6, 0.25, 1, 0),
                                (3, 25, 224, 384, 6, 0.25, 2, 0), (3, 7, 384, 640, 6, 0.25, 1, 0)),
    **{f"efficientnetv2-b{i}": copy.deepcopy(_B_SERIES) for i in range(4)},
}

# name -> (width coefficient, depth coefficient, default size, weights key)
_SCALING = {"b0": (1.0, 1.0, 224, "b0"), "b1": (1.0, 1.1, 240, "b1"), "b2": (1.1, 1.2, 260, "b2"),
            "b3": (1.2, 1.4, 300, "b3"), "s": (1.0, 1.0, 384, "-s"), "m": (1.0, 1.0, 480, "-m"),
            "l": (1.0, 1.0, 480, "-l")}
IMAGENET_MEAN_RGB = [0.485, 0.456, 0.406]
IMAGENET_VARIANCE_RGB = [0.229**2, 0.224**2, 0.225**2]


def round_filters(filters, width_coefficient, min_depth, depth_divisor) -> int:
    """Scale a channel count by the width coefficient and round it to a multiple of ``depth_divisor``."""
    filters *= width_coefficient
    minimum_depth = min_depth or depth_divisor
    return int(max(minimum_depth, int(filters + depth_divisor / 2) // depth_divisor * depth_divisor))


def round_repeats(repeats, depth_coefficient) -> int:
    return int(math.ceil(depth_coefficient * repeats))


def _bn_act(x, bn_axis, bn_momentum, activation, name, bn_suffix, act_suffix):
    x = layers.BatchNormalization(axis=bn_axis, momentum=bn_momentum, name=f"{name}{bn_suffix}")(x)
    return layers.Activation(activation, name=f"{name}{act_suffix}")(x)


def MBConvBlock(input_filters, output_filters, expand_ratio=1, kernel_size=3, strides=1, se_ratio=0.0,
                bn_momentum=0.9, activation="swish", survival_probability=0.8, name=None):
    """MBConv: expand 1x1, depthwise, squeeze-and-excitation, project 1x1; returns ``apply(inputs)``."""
    bn_axis = 3 if mc.channel_axis() == -1 else 1
    name = name or "block0"

    def apply(inputs):
        filters = input_filters * expand_ratio
        x = inputs
        if expand_ratio != 1:
            x = layers.Conv2D(filters=filters, kernel_size=1, strides=1, kernel_initializer=CONV_KERNEL_INITIALIZER,
                              padding="same", use_bias=False, name=f"{name}expand_conv")(x)
            x = _bn_act(x, bn_axis, bn_momentum, activation, name, "expand_bn", "expand_activation")
        x = layers.DepthwiseConv2D(kernel_size=kernel_size, strides=strides,
                                   depthwise_initializer=CONV_KERNEL_INITIALIZER, padding="same", use_bias=False,
                                   name=f"{name}dwconv2")(x)
        x = _bn_act(x, bn_axis, bn_momentum, activation, name, "bn", "activation")
        if 0 < se_ratio <= 1:
            x = mc.squeeze_excite(x, filters, max(1, int(input_filters * se_ratio)), activation, name,
                                  CONV_KERNEL_INITIALIZER)
        x = layers.Conv2D(filters=output_filters, kernel_size=1, strides=1, kernel_initializer=CONV_KERNEL_INITIALIZER,
                          padding="same", use_bias=False, name=f"{name}project_conv")(x)
        x = layers.BatchNormalization(axis=bn_axis, momentum=bn_momentum, name=f"{name}project_bn")(x)
        if strides == 1 and input_filters == output_filters:
            x = residual(x, inputs, survival_probability, name)
        return x

    return apply


def FusedMBConvBlock(input_filters, output_filters, expand_ratio=1, kernel_size=3, strides=1, se_ratio=0.0,
                     bn_momentum=0.9, activation="swish", survival_probability=0.8, name=None):
    """Fused-MBConv: one full convolution in place of expand + depthwise; returns ``apply(inputs)``."""
    bn_axis = 3 if mc.channel_axis() == -1 else 1
    name = name or "block0"

    def apply(inputs):
        filters = input_filters * expand_ratio
        x = inputs
        if expand_ratio != 1:
            x = layers.Conv2D(filters, kernel_size=kernel_size, strides=strides,
                              kernel_initializer=CONV_KERNEL_INITIALIZER, padding="same", use_bias=False,
                              name=f"{name}expand_conv")(x)
            x = _bn_act(x, bn_axis, bn_momentum, activation, name, "expand_bn", "expand_activation")
        if 0 < se_ratio <= 1:
            x = mc.squeeze_excite(x, filters, max(1, int(input_filters * se_ratio)), activation, name,
                                  CONV_KERNEL_INITIALIZER)
        fused = expand_ratio == 1  # the projection is the block's only convolution
        x = layers.Conv2D(output_filters, kernel_size=kernel_size if fused else 1, strides=strides if fused else 1,
                          kernel_initializer=CONV_KERNEL_INITIALIZER, padding="same", use_bias=False,
                          name=f"{name}project_conv")(x)
        x = layers.BatchNormalization(axis=bn_axis, momentum=bn_momentum, name=f"{name}project_bn")(x)
        if fused:
            x = layers.Activation(activation=activation, name=f"{name}project_activation")(x)
        if strides == 1 and input_filters == output_filters:
            x = residual(x, inputs, survival_probability, name)
        return x

    return apply


def EfficientNetV2(width_coefficient, depth_coefficient, default_size, dropout_rate=0.2, drop_connect_rate=0.2,
                   depth_divisor=8, min_depth=8, bn_momentum=0.9, activation="swish", blocks_args="default",
                   name="efficientnetv2", include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                   pooling=None, classes=1000, classifier_activation="softmax", include_preprocessing=True,
                   weights_name=None, variant=None):
    """Build an EfficientNetV2; the ``EfficientNetV2*`` functions call it.

    ``variant`` (e.g. ``"efficientnetv2-b0"``) picks the default block table; Keras looks it up by ``name``
    instead, so a renamed model fails there with a KeyError while here it builds.
    """
    where = name
    if blocks_args == "default":
        table = variant or name
        if table not in DEFAULT_BLOCKS_ARGS:
            raise ConfigError(f"{where}: no default block table for {table!r}; pass blocks_args or one of "
                              f"{sorted(DEFAULT_BLOCKS_ARGS)}. Received: name={name!r}")
        blocks_args = DEFAULT_BLOCKS_ARGS[table]
    img_input, inputs, input_shape = mc.start(
        weights=weights, include_top=include_top, classes=classes, pooling=pooling, input_tensor=input_tensor,
        input_shape=input_shape, default_size=default_size, where=where)
    bn_axis = 3 if mc.channel_axis() == -1 else 1

    def filters_of(count):
        return round_filters(count, width_coefficient=width_coefficient, min_depth=min_depth,
                             depth_divisor=depth_divisor)

    x = img_input
    if include_preprocessing:
        num_channels = input_shape[bn_axis - 1]
        if (variant or name).split("-")[-1].startswith("b") and num_channels == 3:
            x = layers.Rescaling(scale=1.0 / 255)(x)
            x = layers.Normalization(mean=IMAGENET_MEAN_RGB, variance=IMAGENET_VARIANCE_RGB, axis=bn_axis)(x)
        else:
            x = layers.Rescaling(scale=1.0 / 128.0, offset=-1)(x)
    x = layers.Conv2D(filters=filters_of(blocks_args[0]["input_filters"]), kernel_size=3, strides=2,
                      kernel_initializer=CONV_KERNEL_INITIALIZER, padding="same", use_bias=False,
                      name="stem_conv")(x)
    x = _bn_act(x, bn_axis, bn_momentum, activation, "stem_", "bn", "activation")

    blocks_args = copy.deepcopy(blocks_args)
    b = 0
    blocks = float(sum(args["num_repeat"] for args in blocks_args))
    for i, args in enumerate(blocks_args):
        if args["num_repeat"] <= 0:
            raise ConfigError(f"{where}: the number of repeats of each block must be > 0. "
                              f"Received: num_repeat={args['num_repeat']}")
        args["input_filters"] = filters_of(args["input_filters"])
        args["output_filters"] = filters_of(args["output_filters"])
        make_block = FusedMBConvBlock if args.pop("conv_type") else MBConvBlock
        for j in range(round_repeats(args.pop("num_repeat"), depth_coefficient)):
            if j > 0:
                args["strides"] = 1
                args["input_filters"] = args["output_filters"]
            x = make_block(activation=activation, bn_momentum=bn_momentum,
                           survival_probability=drop_connect_rate * b / blocks, name=f"block{i + 1}{chr(j + 97)}_",
                           **args)(x)
            b += 1

    x = layers.Conv2D(filters=filters_of(1280), kernel_size=1, strides=1, kernel_initializer=CONV_KERNEL_INITIALIZER,
                      padding="same", use_bias=False, name="top_conv")(x)
    x = _bn_act(x, bn_axis, bn_momentum, activation, "top_", "bn", "activation")
    x = _top(x, include_top=include_top, pooling=pooling, dropout_rate=dropout_rate, classes=classes,
             classifier_activation=classifier_activation, weights=weights, where=where,
             kernel_initializer=DENSE_KERNEL_INITIALIZER, bias_initializer=initializers.Constant(0.0))

    model = Functional(inputs, x, name=name)
    fname = name + (".h5" if include_top else "_notop.h5")
    file_hash = WEIGHTS_HASHES.get(weights_name, (None, None))[0 if include_top else 1]
    _common.load_weights(model, weights, fname=fname, origin=BASE_WEIGHTS_PATH + fname, file_hash=file_hash,
                         where=where)
    return model


_DOC = """EfficientNetV2{v} (width {w}, depth {d}, {size}x{size} by default).

    The model takes pixels in 0..255 and rescales them itself (``include_preprocessing=True``).

    Args:
        include_top: include the classifier (global average pooling, dropout, Dense).
        weights: None (random), ``"imagenet"`` (Keras's published weights) or the path of a weights file.
        input_tensor: optional symbolic tensor to use as the image input.
        input_shape: shape of one image when ``include_top=False`` (at least 32x32).
        pooling: with ``include_top=False``: None, ``"avg"`` or ``"max"``.
        classes: number of classes with ``include_top=True`` (1000 for ImageNet weights).
        classifier_activation: activation of the last layer (``"softmax"`` or None with pretrained weights).
        include_preprocessing: start with Keras's rescaling (and, for B0-B3, normalisation) layers.
        name: the model's name (also the weights file's stem).

    Shape:
        Input ``(N, {size}, {size}, 3)`` by default; output ``(N, classes)``, or ``(N, H/32, W/32, C)``.

    Example:
        >>> base = EfficientNetV2{v}(include_top=False, weights=None, input_shape=(64, 64, 3), pooling="avg")
    """


def _variant(key: str):
    width, depth, size, weights_name = _SCALING[key]
    default_name = f"efficientnetv2-{key}"

    def build(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
              classes=1000, classifier_activation="softmax", include_preprocessing=True, name=default_name):
        return EfficientNetV2(width_coefficient=width, depth_coefficient=depth, default_size=size, name=name,
                              include_top=include_top, weights=weights, input_tensor=input_tensor,
                              input_shape=input_shape, pooling=pooling, classes=classes,
                              classifier_activation=classifier_activation,
                              include_preprocessing=include_preprocessing, weights_name=weights_name,
                              variant=default_name)

    build.__name__ = build.__qualname__ = f"EfficientNetV2{key.upper()}"
    build.__doc__ = _DOC.format(v=key.upper(), w=width, d=depth, size=size)
    return build


EfficientNetV2B0 = _variant("b0")
EfficientNetV2B1 = _variant("b1")
EfficientNetV2B2 = _variant("b2")
EfficientNetV2B3 = _variant("b3")
EfficientNetV2S = _variant("s")
EfficientNetV2M = _variant("m")
EfficientNetV2L = _variant("l")

preprocess_input = mc.identity_preprocess_input
decode_predictions = mc.decode_predictions
