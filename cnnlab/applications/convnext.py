"""ConvNeXt Tiny, Small, Base, Large and XLarge (Liu et al., 2022), as ``keras.applications.convnext``.

A patchify stem, then four stages of ConvNeXt blocks (7x7 depthwise
convolution, LayerNormalization, an inverted MLP with GELU, a learnt
per-channel scale) separated by downsampling layers. The model normalises its
input itself, so ``preprocess_input`` is the identity.

``LayerScale`` and ``StochasticDepth`` are defined here, as in Keras, and are
registered so that model files naming them load.
"""

from __future__ import annotations

import numpy as np
import torch

from cnnlab import layers
from cnnlab.applications import _common
from cnnlab.applications import _mobile_common as mc
from cnnlab.errors import ConfigError
from cnnlab.layers.base import Layer
from cnnlab.layers.serialization import register_layer_classes
from cnnlab.models import Functional, Sequential

# keras/src/applications/convnext.py
BASE_WEIGHTS_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/convnext/"
WEIGHTS_HASHES = {
    "convnext_tiny": ("8ae6e78ce2933352b1ef4008e6dd2f17bc40771563877d156bc6426c7cf503ff",
                      "d547c096cabd03329d7be5562c5e14798aa39ed24b474157cef5e85ab9e49ef1"),
    "convnext_small": ("ce1277d8f1ee5a0ef0e171469089c18f5233860ceaf9b168049cb9263fd7483c",
                       "6fc8009faa2f00c1c1dfce59feea9b0745eb260a7dd11bee65c8e20843da6eab"),
    "convnext_base": ("52cbb006d3dadd03f6e095a8ca1aca47aecdd75acb4bc74bce1f5c695d0086e6",
                      "40a20c5548a5e9202f69735ecc06c990e6b7c9d2de39f0361e27baeb24cb7c45"),
    "convnext_large": ("070c5ed9ed289581e477741d3b34beffa920db8cf590899d6d2c67fba2a198a6",
                       "96f02b6f0753d4f543261bc9d09bed650f24dd6bc02ddde3066135b63d23a1cd"),
    "convnext_xlarge": ("c1f5ccab661354fc3a79a10fa99af82f0fbf10ec65cb894a3ae0815f17a889ee",
                        "de3f8a54174130e0cecdc71583354753d557fcf1f4487331558e2a16ba0cfe05"),
}
MODEL_CONFIGS = {
    "tiny": {"depths": [3, 3, 9, 3], "projection_dims": [96, 192, 384, 768], "default_size": 224},
    "small": {"depths": [3, 3, 27, 3], "projection_dims": [96, 192, 384, 768], "default_size": 224},
    "base": {"depths": [3, 3, 27, 3], "projection_dims": [128, 256, 512, 1024], "default_size": 224},
    "large": {"depths": [3, 3, 27, 3], "projection_dims": [192, 384, 768, 1536], "default_size": 224},
    "xlarge": {"depths": [3, 3, 27, 3], "projection_dims": [256, 512, 1024, 2048], "default_size": 224},
}
LAYER_NORM_EPSILON = 1e-6  # every LayerNormalization of Keras's ConvNeXt
IMAGENET_MEAN_255 = [0.485 * 255, 0.456 * 255, 0.406 * 255]
IMAGENET_VARIANCE_255 = [(0.229 * 255) ** 2, (0.224 * 255) ** 2, (0.225 * 255) ** 2]


class StochasticDepth(Layer):
    """Drop the whole residual branch of a sample with probability ``drop_path_rate`` while training.

    Kept samples are scaled by ``1 / (1 - drop_path_rate)``; at inference the layer is the identity.

    Args:
        drop_path_rate: probability of dropping a sample's branch, in [0, 1).

    Shape:
        Any input ``(N, ...)``; the output has the same shape.

    Example:
        >>> StochasticDepth(0.1)(x, training=True)   # some samples become all zeros
    """

    def __init__(self, drop_path_rate, **kwargs):
        super().__init__(**kwargs)
        if isinstance(drop_path_rate, bool) or not isinstance(drop_path_rate, (int, float)) \
                or not 0 <= drop_path_rate < 1:
            raise ConfigError(f"StochasticDepth '{self.name}': drop_path_rate must be a number in [0, 1). "
                              f"Received: drop_path_rate={drop_path_rate!r}")
        self.drop_path_rate = drop_path_rate

    def call(self, x, training=None):
        if not training or not self.drop_path_rate:
            return x
        keep_prob = 1 - self.drop_path_rate
        shape = (x.shape[0],) + (1,) * (x.ndim - 1)
        mask = torch.floor(keep_prob + torch.rand(shape, dtype=x.dtype, device=x.device))
        return x / keep_prob * mask

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "drop_path_rate": self.drop_path_rate}


class LayerScale(Layer):
    """Multiply each channel (last axis) by a learnt factor ``gamma``, initialised to ``init_values``.

    Args:
        init_values: initial value of every factor (Keras's ConvNeXt uses 1e-6).
        projection_dim: number of channels, the size of ``gamma``.

    Shape:
        Input ``(..., projection_dim)``; the output has the same shape.

    Example:
        >>> LayerScale(1e-6, 96)(np.ones((1, 7, 7, 96)))   # every value 1e-6
    """

    def __init__(self, init_values, projection_dim, **kwargs):
        super().__init__(**kwargs)
        if isinstance(projection_dim, bool) or not isinstance(projection_dim, int) or projection_dim < 1:
            raise ConfigError(f"LayerScale '{self.name}': projection_dim must be a positive integer (the number of "
                              f"channels). Received: projection_dim={projection_dim!r}")
        self.init_values = init_values
        self.projection_dim = projection_dim

    def build(self, input_shape):
        from cnnlab import initializers

        self.gamma = self.add_weight(shape=(self.projection_dim,), initializer=initializers.Constant(self.init_values),
                                     trainable=True)

    def call(self, x):
        return x * self.gamma

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "init_values": self.init_values, "projection_dim": self.projection_dim}


# Keras defines both in its convnext module (not keras.layers) and writes that module into model files.
LayerScale.keras_module = StochasticDepth.keras_module = "keras.src.applications.convnext"
register_layer_classes({"LayerScale": LayerScale, "StochasticDepth": StochasticDepth},
                       ["LayerScale", "StochasticDepth"])


def ConvNeXtBlock(projection_dim, drop_path_rate=0.0, layer_scale_init_value=1e-6, name=None):
    """Depthwise 7x7, LayerNormalization, Dense x4 + GELU, Dense, LayerScale, residual; returns ``apply``."""
    name = name or "prestem"

    def apply(inputs):
        x = layers.Conv2D(filters=projection_dim, kernel_size=7, padding="same", groups=projection_dim,
                          name=f"{name}_depthwise_conv")(inputs)
        x = layers.LayerNormalization(epsilon=LAYER_NORM_EPSILON, name=f"{name}_layernorm")(x)
        x = layers.Dense(4 * projection_dim, name=f"{name}_pointwise_conv_1")(x)
        x = layers.Activation("gelu", name=f"{name}_gelu")(x)
        x = layers.Dense(projection_dim, name=f"{name}_pointwise_conv_2")(x)
        if layer_scale_init_value is not None:
            x = LayerScale(layer_scale_init_value, projection_dim, name=f"{name}_layer_scale")(x)
        if drop_path_rate:
            branch = StochasticDepth(drop_path_rate, name=f"{name}_stochastic_depth")
        else:
            branch = layers.Activation("linear", name=f"{name}_identity")
        return inputs + branch(x)

    return apply


def ConvNeXt(depths, projection_dims, drop_path_rate=0.0, layer_scale_init_value=1e-6, default_size=224,
             name="convnext", include_preprocessing=True, include_top=True, weights=None, input_tensor=None,
             input_shape=None, pooling=None, classes=1000, classifier_activation="softmax", weights_name=None):
    """Build a ConvNeXt from its stage depths and widths; the ``ConvNeXt*`` functions call it."""
    where = name
    if _common.image_data_format() == "channels_first":
        raise ConfigError(f"{where}: ConvNeXt supports only the channels_last image data format. Switch to "
                          "channels_last. Received: image_data_format='channels_first'")
    img_input, inputs, input_shape = mc.start(
        weights=weights, include_top=include_top, classes=classes, pooling=pooling, input_tensor=input_tensor,
        input_shape=input_shape, default_size=default_size, where=where)
    if isinstance(inputs, list):
        inputs = inputs[0]  # Keras keeps the first source input only
    x = img_input
    if include_preprocessing and input_shape[-1] == 3:
        x = layers.Normalization(mean=IMAGENET_MEAN_255, variance=IMAGENET_VARIANCE_255,
                                 name=f"{name}_prestem_normalization")(x)

    stem = Sequential([
        layers.Conv2D(projection_dims[0], kernel_size=4, strides=4, name=f"{name}_stem_conv"),
        layers.LayerNormalization(epsilon=LAYER_NORM_EPSILON, name=f"{name}_stem_layernorm"),
    ], name=f"{name}_stem")
    downsample_layers = [stem] + [Sequential([
        layers.LayerNormalization(epsilon=LAYER_NORM_EPSILON, name=f"{name}_downsampling_layernorm_{i}"),
        layers.Conv2D(projection_dims[i + 1], kernel_size=2, strides=2, name=f"{name}_downsampling_conv_{i}"),
    ], name=f"{name}_downsampling_block_{i}") for i in range(3)]

    depth_drop_rates = [float(rate) for rate in np.linspace(0.0, drop_path_rate, sum(depths))]
    cur = 0
    for i in range(4):
        x = downsample_layers[i](x)
        for j in range(depths[i]):
            x = ConvNeXtBlock(projection_dim=projection_dims[i], drop_path_rate=depth_drop_rates[cur + j],
                              layer_scale_init_value=layer_scale_init_value, name=f"{name}_stage_{i}_block_{j}")(x)
        cur += depths[i]

    if include_top:
        _common.validate_classifier_activation(classifier_activation, weights, where=where)
        x = layers.GlobalAveragePooling2D(name=f"{name}_head_gap")(x)
        x = layers.LayerNormalization(epsilon=LAYER_NORM_EPSILON, name=f"{name}_head_layernorm")(x)
        x = layers.Dense(classes, activation=classifier_activation, name=f"{name}_head_dense")(x)
    else:
        x = _common.pooling_head(x, pooling)
        x = layers.LayerNormalization(epsilon=LAYER_NORM_EPSILON)(x)

    model = Functional(inputs=inputs, outputs=x, name=name)
    if weights == "imagenet":
        _check_imagenet_variant(depths, projection_dims, name, weights_name)
    fname = name + (".h5" if include_top else "_notop.h5")
    file_hash = WEIGHTS_HASHES.get(weights_name, (None, None))[0 if include_top else 1]
    _common.load_weights(model, weights, fname=fname, origin=BASE_WEIGHTS_PATH + fname, file_hash=file_hash,
                         where=where)
    return model


def _check_imagenet_variant(depths, projection_dims, name, weights_name) -> None:
    """ImageNet weights fit only the published architecture, and their file is found by the model's name."""
    expected = MODEL_CONFIGS[weights_name.split("convnext_")[-1]]
    if list(depths) != expected["depths"] or list(projection_dims) != expected["projection_dims"]:
        raise ConfigError(f"{name}: the architecture does not match the {weights_name} ImageNet weights: expected "
                          f"depths {expected['depths']} and projection_dims {expected['projection_dims']}. Use "
                          f"weights=None for another architecture. Received: depths={list(depths)}, "
                          f"projection_dims={list(projection_dims)}")
    if weights_name not in name:
        raise ConfigError(f"{name}: with weights='imagenet' the model name must contain the weights variant "
                          f"'{weights_name}' (the file is named after the model). Keep the default name or "
                          f"include '{weights_name}' in it. Received: name={name!r}")


_DOC = """ConvNeXt{v}: depths {depths}, widths {dims}.

    The model takes pixels in 0..255 and normalises them itself (``include_preprocessing=True``).

    Args:
        include_top: include the classifier (global average pooling, LayerNormalization, Dense).
        include_preprocessing: start with a ``Normalization`` by the ImageNet mean and variance (3 channels).
        weights: None (random), ``"imagenet"`` (Keras's published weights) or the path of a weights file.
        input_tensor: optional symbolic tensor to use as the image input.
        input_shape: shape of one image when ``include_top=False`` (at least 32x32).
        pooling: with ``include_top=False``: None, ``"avg"`` or ``"max"`` (a LayerNormalization follows).
        classes: number of classes with ``include_top=True`` (1000 for ImageNet weights).
        classifier_activation: activation of the last layer (``"softmax"`` or None with pretrained weights).
        name: the model's name (also the weights file's stem).

    Shape:
        Input ``(N, 224, 224, 3)`` by default; output ``(N, classes)``, or ``(N, H/32, W/32, {last})``.

    Example:
        >>> base = ConvNeXt{v}(include_top=False, weights=None, input_shape=(64, 64, 3), pooling="avg")
        >>> base.output_shape
        (None, {last})
    """


def _variant(size: str):
    config = MODEL_CONFIGS[size]
    default_name = f"convnext_{size}"

    def build(include_top=True, include_preprocessing=True, weights="imagenet", input_tensor=None,
              input_shape=None, pooling=None, classes=1000, classifier_activation="softmax", name=default_name):
        return ConvNeXt(weights_name=default_name, depths=config["depths"], projection_dims=config["projection_dims"],
                        drop_path_rate=0.0, layer_scale_init_value=1e-6, default_size=config["default_size"],
                        name=name, include_top=include_top, include_preprocessing=include_preprocessing,
                        weights=weights, input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                        classes=classes, classifier_activation=classifier_activation)

    build.__name__ = build.__qualname__ = f"ConvNeXt{size.capitalize().replace('Xlarge', 'XLarge')}"
    build.__doc__ = _DOC.format(v=build.__name__[8:], depths=config["depths"], dims=config["projection_dims"],
                                last=config["projection_dims"][-1])
    return build


ConvNeXtTiny = _variant("tiny")
ConvNeXtSmall = _variant("small")
ConvNeXtBase = _variant("base")
ConvNeXtLarge = _variant("large")
ConvNeXtXLarge = _variant("xlarge")

preprocess_input = mc.identity_preprocess_input
decode_predictions = mc.decode_predictions
