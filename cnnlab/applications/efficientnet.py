"""EfficientNet B0-B7 (Tan & Le, 2019), as ``keras.applications.efficientnet``.

Compound scaling of width, depth and resolution over MBConv blocks
(expansion, depthwise convolution, squeeze-and-excitation, projection). The
model rescales and normalises its input itself, so ``preprocess_input`` is the
identity. Residual branches are dropped per sample while training
("drop connect"), at a rate growing linearly with the block's depth.
"""

from __future__ import annotations

import copy
import math

from cnnlab import layers
from cnnlab.applications import _common, imagenet_utils
from cnnlab.applications import _mobile_common as mc
from cnnlab.errors import ConfigError
from cnnlab.models import Functional

# keras/src/applications/efficientnet.py
BASE_WEIGHTS_PATH = "https://storage.googleapis.com/keras-applications/"
WEIGHTS_HASHES = {
    "b0": ("902e53a9f72be733fc0bcb005b3ebbac", "50bc09e76180e00e4465e1a485ddc09d"),
    "b1": ("1d254153d4ab51201f1646940f018540", "74c4e6b3e1f6a1eea24c589628592432"),
    "b2": ("b15cce36ff4dcbd00b6dd88e7857a6ad", "111f8e2ac8aa800a7a99e3239f7bfb39"),
    "b3": ("ffd1fdc53d0ce67064dc6a9c7960ede0", "af6d107764bb5b1abb91932881670226"),
    "b4": ("18c95ad55216b8f92d7e70b3a046e2fc", "ebc24e6d6c33eaebbd558eafbeedf1ba"),
    "b5": ("ace28f2a6363774853a83a0b21b9421a", "38879255a25d3c92d5e44e04ae6cec6f"),
    "b6": ("165f6e37dce68623721b423839de8be5", "9ecce42647a20130c1f39a5d4cb75743"),
    "b7": ("8c03f828fec3ef71311cd463b6759d99", "cbcfe4450ddf6f3ad90b1b398090fe4a"),
}


def _block_args(kernel_size, repeats, filters_in, filters_out, expand_ratio, strides):
    return {"kernel_size": kernel_size, "repeats": repeats, "filters_in": filters_in, "filters_out": filters_out,
            "expand_ratio": expand_ratio, "id_skip": True, "strides": strides, "se_ratio": 0.25}


DEFAULT_BLOCKS_ARGS = [
    _block_args(3, 1, 32, 16, 1, 1), _block_args(3, 2, 16, 24, 6, 2), _block_args(5, 2, 24, 40, 6, 2),
    _block_args(3, 3, 40, 80, 6, 2), _block_args(5, 3, 80, 112, 6, 1), _block_args(5, 4, 112, 192, 6, 2),
    _block_args(3, 1, 192, 320, 6, 1),
]
CONV_KERNEL_INITIALIZER = {"class_name": "VarianceScaling",
                           "config": {"scale": 2.0, "mode": "fan_out", "distribution": "truncated_normal"}}
DENSE_KERNEL_INITIALIZER = {"class_name": "VarianceScaling",
                            "config": {"scale": 1.0 / 3.0, "mode": "fan_out", "distribution": "uniform"}}
IMAGENET_STDDEV_RGB = [0.229, 0.224, 0.225]

# (width coefficient, depth coefficient, default size, dropout rate) of B0..B7.
_SCALING = {"b0": (1.0, 1.0, 224, 0.2), "b1": (1.0, 1.1, 240, 0.2), "b2": (1.1, 1.2, 260, 0.3),
            "b3": (1.2, 1.4, 300, 0.3), "b4": (1.4, 1.8, 380, 0.4), "b5": (1.6, 2.2, 456, 0.4),
            "b6": (1.8, 2.6, 528, 0.5), "b7": (2.0, 3.1, 600, 0.5)}


def EfficientNet(width_coefficient, depth_coefficient, default_size, dropout_rate=0.2, drop_connect_rate=0.2,
                 depth_divisor=8, activation="swish", blocks_args="default", name="efficientnet", include_top=True,
                 weights="imagenet", input_tensor=None, input_shape=None, pooling=None, classes=1000,
                 classifier_activation="softmax", weights_name=None):
    """Build an EfficientNet from its scaling coefficients; the ``EfficientNetB*`` functions call it."""
    blocks_args = DEFAULT_BLOCKS_ARGS if blocks_args == "default" else blocks_args
    where = name
    img_input, inputs, input_shape = mc.start(
        weights=weights, include_top=include_top, classes=classes, pooling=pooling, input_tensor=input_tensor,
        input_shape=input_shape, default_size=default_size, where=where)
    bn_axis = 3 if mc.channel_axis() == -1 else 1

    def round_filters(filters):
        return mc.make_divisible(filters * width_coefficient, depth_divisor)

    def round_repeats(repeats):
        return int(math.ceil(depth_coefficient * repeats))

    x = layers.Rescaling(1.0 / 255.0)(img_input)
    x = layers.Normalization(axis=bn_axis)(x)
    if weights == "imagenet":
        # Keras's published weights divide by the variance in the Normalization layer (not the standard
        # deviation); this extra scaling, Keras's own, makes up for it.
        x = layers.Rescaling([1.0 / math.sqrt(stddev) for stddev in IMAGENET_STDDEV_RGB])(x)
    x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, 3), name="stem_conv_pad")(x)
    x = layers.Conv2D(round_filters(32), 3, strides=2, padding="valid", use_bias=False,
                      kernel_initializer=CONV_KERNEL_INITIALIZER, name="stem_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, name="stem_bn")(x)
    x = layers.Activation(activation, name="stem_activation")(x)

    blocks_args = copy.deepcopy(blocks_args)
    b = 0
    blocks = float(sum(round_repeats(args["repeats"]) for args in blocks_args))
    for i, args in enumerate(blocks_args):
        if args["repeats"] <= 0:
            raise ConfigError(f"{where}: the number of repeats of each block must be > 0. "
                              f"Received: repeats={args['repeats']}")
        args["filters_in"] = round_filters(args["filters_in"])
        args["filters_out"] = round_filters(args["filters_out"])
        for j in range(round_repeats(args.pop("repeats"))):
            if j > 0:
                args["strides"] = 1
                args["filters_in"] = args["filters_out"]
            x = block(x, activation, drop_connect_rate * b / blocks, name=f"block{i + 1}{chr(j + 97)}_", **args)
            b += 1

    x = layers.Conv2D(round_filters(1280), 1, padding="same", use_bias=False,
                      kernel_initializer=CONV_KERNEL_INITIALIZER, name="top_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, name="top_bn")(x)
    x = layers.Activation(activation, name="top_activation")(x)
    x = _top(x, include_top=include_top, pooling=pooling, dropout_rate=dropout_rate, classes=classes,
             classifier_activation=classifier_activation, weights=weights, where=where,
             kernel_initializer=DENSE_KERNEL_INITIALIZER)

    model = Functional(inputs, x, name=name)
    fname = name + (".h5" if include_top else "_notop.h5")
    file_hash = WEIGHTS_HASHES.get(weights_name, (None, None))[0 if include_top else 1]
    _common.load_weights(model, weights, fname=fname, origin=BASE_WEIGHTS_PATH + fname, file_hash=file_hash,
                         where=where)
    return model


def _top(x, *, include_top, pooling, dropout_rate, classes, classifier_activation, weights, where, **dense_kwargs):
    """EfficientNet V1/V2's head: avg_pool, top_dropout, predictions; or avg_pool/max_pool without the top."""
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate, name="top_dropout")(x)
        _common.validate_classifier_activation(classifier_activation, weights, where=where)
        return layers.Dense(classes, activation=classifier_activation, name="predictions", **dense_kwargs)(x)
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name="max_pool")(x)
    return x


def residual(x, inputs, drop_rate, name):
    """Add the block's input back; while training drop the whole branch per sample with ``drop_rate``.

    Keras does it with ``Dropout(noise_shape=(None, 1, 1, 1))``, which also scales kept samples by
    ``1 / (1 - drop_rate)``.
    """
    if drop_rate > 0:
        x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}drop")(x)
    return layers.add([x, inputs], name=f"{name}add")


def block(inputs, activation="swish", drop_rate=0.0, name="", filters_in=32, filters_out=16, kernel_size=3,
          strides=1, expand_ratio=1, se_ratio=0.0, id_skip=True):
    """One MBConv block: expand 1x1, depthwise, squeeze-and-excitation, project 1x1, residual."""
    bn_axis = 3 if mc.channel_axis() == -1 else 1
    filters = filters_in * expand_ratio
    x = inputs
    if expand_ratio != 1:
        x = layers.Conv2D(filters, 1, padding="same", use_bias=False, kernel_initializer=CONV_KERNEL_INITIALIZER,
                          name=f"{name}expand_conv")(x)
        x = layers.BatchNormalization(axis=bn_axis, name=f"{name}expand_bn")(x)
        x = layers.Activation(activation, name=f"{name}expand_activation")(x)
    if strides == 2:
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, kernel_size), name=f"{name}dwconv_pad")(x)
    x = layers.DepthwiseConv2D(kernel_size, strides=strides, padding="valid" if strides == 2 else "same",
                               use_bias=False, depthwise_initializer=CONV_KERNEL_INITIALIZER,
                               name=f"{name}dwconv")(x)
    x = layers.BatchNormalization(axis=bn_axis, name=f"{name}bn")(x)
    x = layers.Activation(activation, name=f"{name}activation")(x)
    if 0 < se_ratio <= 1:
        x = mc.squeeze_excite(x, filters, max(1, int(filters_in * se_ratio)), activation, name,
                              CONV_KERNEL_INITIALIZER)
    x = layers.Conv2D(filters_out, 1, padding="same", use_bias=False, kernel_initializer=CONV_KERNEL_INITIALIZER,
                      name=f"{name}project_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, name=f"{name}project_bn")(x)
    if id_skip and strides == 1 and filters_in == filters_out:
        x = residual(x, inputs, drop_rate, name)
    return x


_DOC = """EfficientNet{v}: ``EfficientNet(width={w}, depth={d})`` at {size}x{size}, dropout {drop}.

    The model takes pixels in 0..255: it starts with ``Rescaling(1/255)`` and a ``Normalization`` layer.

    Args:
        include_top: include the classifier (global average pooling, dropout, Dense).
        weights: None (random), ``"imagenet"`` (Keras's published weights) or the path of a weights file.
        input_tensor: optional symbolic tensor to use as the image input.
        input_shape: shape of one image when ``include_top=False`` (at least 32x32).
        pooling: with ``include_top=False``: None, ``"avg"`` or ``"max"``.
        classes: number of classes with ``include_top=True`` (1000 for ImageNet weights).
        classifier_activation: activation of the last layer (``"softmax"`` or None with pretrained weights).
        name: the model's name (also the weights file's stem).

    Shape:
        Input ``(N, {size}, {size}, 3)`` by default; output ``(N, classes)``, or ``(N, H/32, W/32, C)``.

    Example:
        >>> base = EfficientNet{v}(include_top=False, weights=None, input_shape=(64, 64, 3), pooling="avg")
    """


def _variant(key: str):
    width, depth, size, dropout = _SCALING[key]

    def build(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
              classes=1000, classifier_activation="softmax", name=f"efficientnet{key}"):
        return EfficientNet(width, depth, size, dropout, name=name, include_top=include_top, weights=weights,
                            input_tensor=input_tensor, input_shape=input_shape, pooling=pooling, classes=classes,
                            classifier_activation=classifier_activation, weights_name=key)

    build.__name__ = build.__qualname__ = f"EfficientNet{key.upper()}"
    build.__doc__ = _DOC.format(v=key.upper(), w=width, d=depth, size=size, drop=dropout)
    return build


EfficientNetB0 = _variant("b0")
EfficientNetB1 = _variant("b1")
EfficientNetB2 = _variant("b2")
EfficientNetB3 = _variant("b3")
EfficientNetB4 = _variant("b4")
EfficientNetB5 = _variant("b5")
EfficientNetB6 = _variant("b6")
EfficientNetB7 = _variant("b7")

preprocess_input = mc.identity_preprocess_input
decode_predictions = mc.decode_predictions
