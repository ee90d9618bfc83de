"""What the mobile and modern builders (MobileNet V1-V3, EfficientNet V1-V2, ConvNeXt) share.

Facts (channel rounding, the squeeze-and-excitation block, BatchNormalization
settings) are Keras 3.15's, from ``keras/src/applications/``.
"""

from __future__ import annotations

import warnings

from cnnlab import layers
from cnnlab.applications import _common, imagenet_utils

MIN_SIZE = 32  # every one of these builders refuses images smaller than 32x32

# BatchNormalization settings of the MobileNetV2/V3 layers (epsilon is Keras's default, momentum is not).
MOBILENET_BN = {"epsilon": 1e-3, "momentum": 0.999}


def channel_axis() -> int:
    return 1 if _common.image_data_format() == "channels_first" else -1


def spatial_size(input_shape) -> tuple:
    """``(rows, cols)`` of an image shape in the global data format."""
    return tuple(input_shape[1:3]) if _common.image_data_format() == "channels_first" else tuple(input_shape[:2])


def start(*, weights, include_top, classes, pooling, input_tensor, input_shape, default_size, where,
          min_size=MIN_SIZE):
    """Check the common arguments and make the input: ``(img_input, inputs, input_shape)``."""
    _common.validate_weights(weights, include_top, classes, where=where)
    _common.validate_pooling(pooling, include_top, where=where)
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=default_size, min_size=min_size, data_format=_common.image_data_format(),
        require_flatten=include_top, weights=weights)
    img_input, inputs = _common.application_input(input_tensor, input_shape)
    return img_input, inputs, input_shape


def square_default_size(input_shape, sizes, fallback=224) -> int:
    """The default size MobileNet V1/V2 take from a square ``input_shape`` whose side has published weights."""
    if input_shape is None:
        return fallback
    rows, cols = spatial_size(tuple(input_shape))
    return rows if rows == cols and rows in sizes else fallback


def imagenet_rows(rows, cols, sizes) -> int:
    """The side of the published weights to load: the input's, if square and published, else 224 (warned)."""
    if rows == cols and rows in sizes:
        return rows
    warnings.warn(f"`input_shape` is undefined or non-square, or `rows` is not in {list(sizes)}. Weights for input "
                  "shape (224, 224) will be loaded as the default.", stacklevel=3)
    return 224


def make_divisible(value, divisor=8, min_value=None) -> int:
    """Round a channel count to a multiple of ``divisor`` without going more than 10% below it."""
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def squeeze_excite(x, filters, filters_se, activation, name, kernel_initializer):
    """EfficientNet's squeeze-and-excitation: GAP, reshape to 1x1, reduce conv, sigmoid expand conv, multiply."""
    se = layers.GlobalAveragePooling2D(name=f"{name}se_squeeze")(x)
    se_shape = (filters, 1, 1) if channel_axis() == 1 else (1, 1, filters)
    se = layers.Reshape(se_shape, name=f"{name}se_reshape")(se)
    se = layers.Conv2D(filters_se, 1, padding="same", activation=activation, kernel_initializer=kernel_initializer,
                       name=f"{name}se_reduce")(se)
    se = layers.Conv2D(filters, 1, padding="same", activation="sigmoid", kernel_initializer=kernel_initializer,
                       name=f"{name}se_expand")(se)
    return layers.multiply([x, se], name=f"{name}se_excite")


def decode_predictions(preds, top=5):
    """``(class_id, class_name, score)`` tuples for the ``top`` ImageNet classes of each sample."""
    return imagenet_utils.decode_predictions(preds, top=top)


def identity_preprocess_input(x, data_format=None):
    """Return ``x`` unchanged: these models rescale and normalise inside (their first layers).

    Kept for API compatibility with the other application modules; ``data_format`` is ignored.
    """
    return x
