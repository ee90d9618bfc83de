"""The architectures of the zoo, each one registered function.

Every model takes the same three options, so that ``cnnlab compare
--variants`` can apply a regulariser to any of them:

* ``kernel_regularizer``: a regulariser (object or name) for every Conv2D and
  Dense kernel, e.g. ``regularizers.L2(1e-3)``;
* ``dropout``: the rate of a Dropout layer before each hidden Dense layer
  (0 for none);
* ``batch_norm``: a BatchNormalization after every convolution, before its
  activation.

Small images are handled where the architecture would otherwise shrink them
to nothing: LeNet-5 and the 5x5 MNIST CNN zero-pad them first (as LeNet-5
padded 28x28 MNIST to 32x32), the VGG-style net uses fewer blocks.
"""

from __future__ import annotations

import math
from typing import Any

from cnnlab import layers
from cnnlab.models import Model, Sequential
from cnnlab.zoo.registry import register_model


def _padding_to(input_shape: tuple[int, int, int], min_side: int) -> list:
    """A ZeroPadding2D that grows each side to at least ``min_side``, or nothing."""
    pads = [max(0, math.ceil((min_side - side) / 2)) for side in input_shape[:2]]
    return [layers.ZeroPadding2D(tuple(pads))] if any(pads) else []


def _conv(filters: int, kernel_size: int, activation: str, batch_norm: bool, regularizer: Any, **kw: Any) -> list:
    """Conv2D (+ BatchNormalization) + activation, as a list of layers."""
    if not batch_norm:
        return [layers.Conv2D(filters, kernel_size, activation=activation, kernel_regularizer=regularizer, **kw)]
    return [
        layers.Conv2D(filters, kernel_size, use_bias=False, kernel_regularizer=regularizer, **kw),
        layers.BatchNormalization(),
        layers.Activation(activation),
    ]


def _dense(units: int, activation: str, dropout: float, regularizer: Any) -> list:
    """(Dropout +) a hidden Dense layer."""
    drop = [layers.Dropout(dropout)] if dropout else []
    return [*drop, layers.Dense(units, activation=activation, kernel_regularizer=regularizer)]


@register_model
def lenet5(input_shape=(28, 28, 1), num_classes=10, kernel_regularizer=None, dropout=0.0, batch_norm=False):
    """LeNet-5 (LeCun et al., 1998) as written in Keras tutorials.

    Conv2D(6, 5, same, tanh) → AvgPool 2 → Conv2D(16, 5, tanh) → AvgPool 2 →
    Flatten → Dense 120 tanh → Dense 84 tanh → Dense ``num_classes`` softmax.
    Images smaller than 12x12 are zero-padded to 12x12 so the second
    convolution still fits (8x8 digits get a 2-pixel border).

    Example:
        >>> model = lenet5(input_shape=(28, 28, 1))
        >>> model.count_params()
        61706
    """
    return Sequential([
        layers.Input(input_shape),
        *_padding_to(input_shape, 12),
        *_conv(6, 5, "tanh", batch_norm, kernel_regularizer, padding="same"),
        layers.AveragePooling2D(2),
        *_conv(16, 5, "tanh", batch_norm, kernel_regularizer),
        layers.AveragePooling2D(2),
        layers.Flatten(),
        *_dense(120, "tanh", dropout, kernel_regularizer),
        *_dense(84, "tanh", dropout, kernel_regularizer),
        layers.Dense(num_classes, activation="softmax"),
    ], name="lenet5")


@register_model
def fashion_cnn(input_shape=(28, 28, 1), num_classes=10, kernel_regularizer=None, dropout=0.4, batch_norm=False):
    """The classic two-convolution Fashion-MNIST CNN (``examples/fashion_mnist_cnn.py``).

    Conv2D(32, 3, same, relu) → MaxPool 2 → Conv2D(64, 3, same, relu) →
    MaxPool 2 → Flatten → Dense 100 relu → Dropout 0.4 → Dense
    ``num_classes`` softmax. 'same' padding keeps 8x8 inputs workable (8 → 4 → 2).

    Example:
        >>> fashion_cnn().count_params()
        333526
    """
    drop = [layers.Dropout(dropout)] if dropout else []
    return Sequential([
        layers.Input(input_shape),
        *_conv(32, 3, "relu", batch_norm, kernel_regularizer, padding="same"),
        layers.MaxPooling2D(2),
        *_conv(64, 3, "relu", batch_norm, kernel_regularizer, padding="same"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(100, activation="relu", kernel_regularizer=kernel_regularizer),
        *drop,
        layers.Dense(num_classes, activation="softmax"),
    ], name="fashion_cnn")


@register_model
def mnist_cnn_5x5(input_shape=(28, 28, 1), num_classes=10, kernel_regularizer=None, dropout=0.0, batch_norm=False):
    """The two-convolution 5x5 MNIST CNN of many tutorials.

    Conv2D(32, 5, relu) → MaxPool 2 → Conv2D(64, 5, relu) → MaxPool 2 →
    Flatten → Dense 64 relu → Dense ``num_classes`` softmax ('valid'
    padding: 28 → 24 → 12 → 8 → 4). Images smaller than 16x16 are
    zero-padded to 16x16 (16 → 12 → 6 → 2 → 1).

    Example:
        >>> mnist_cnn_5x5().count_params()
        118346
    """
    return Sequential([
        layers.Input(input_shape),
        *_padding_to(input_shape, 16),
        *_conv(32, 5, "relu", batch_norm, kernel_regularizer),
        layers.MaxPooling2D(2),
        *_conv(64, 5, "relu", batch_norm, kernel_regularizer),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        *_dense(64, "relu", dropout, kernel_regularizer),
        layers.Dense(num_classes, activation="softmax"),
    ], name="mnist_cnn_5x5")


# Filters of the VGG-style blocks; a block runs only while the map is at least
# _VGG_MIN_SIDE pixels wide, so 28x28 gets 3 blocks and 8x8 gets 2.
_VGG_FILTERS = (32, 64, 128)
_VGG_MIN_SIDE = 4


@register_model
def small_vgg(input_shape=(28, 28, 1), num_classes=10, kernel_regularizer=None, dropout=0.5, batch_norm=False):
    """A small VGG-style network: blocks of two 3x3 convolutions and a max-pool.

    Up to three blocks of [Conv2D(f, 3, same, relu) x2 → MaxPool 2] with
    f = 32, 64, 128, then Flatten → Dropout 0.5 → Dense 128 relu → Dense
    ``num_classes`` softmax. A block is added only while the feature map is at
    least 4 pixels wide (28x28: 3 blocks; 8x8: 2 blocks).

    Example:
        >>> len(small_vgg(input_shape=(8, 8, 1)).layers)
        10
    """
    stack: list = [layers.Input(input_shape)]
    side = min(input_shape[:2])
    for filters in _VGG_FILTERS:
        if side < _VGG_MIN_SIDE:
            break
        stack += _conv(filters, 3, "relu", batch_norm, kernel_regularizer, padding="same")
        stack += _conv(filters, 3, "relu", batch_norm, kernel_regularizer, padding="same")
        stack.append(layers.MaxPooling2D(2))
        side //= 2
    stack += [layers.Flatten(), *_dense(128, "relu", dropout, kernel_regularizer),
              layers.Dense(num_classes, activation="softmax")]
    return Sequential(stack, name="small_vgg")


def _residual_block(x, filters: int, strides: int, regularizer: Any):
    """Two 3x3 conv-BN layers plus a shortcut (1x1 conv when the shape changes)."""
    y = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False, kernel_regularizer=regularizer)(x)
    y = layers.BatchNormalization()(y)
    y = layers.ReLU()(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False, kernel_regularizer=regularizer)(y)
    y = layers.BatchNormalization()(y)
    shortcut = x
    if strides != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=strides, use_bias=False, kernel_regularizer=regularizer)(x)
        shortcut = layers.BatchNormalization()(shortcut)
    return layers.ReLU()(layers.Add()([y, shortcut]))


@register_model
def small_resnet(input_shape=(28, 28, 1), num_classes=10, kernel_regularizer=None, dropout=0.0, batch_norm=True):
    """A small ResNet-style network (He et al., 2016), built with the functional API.

    Conv2D(16, 3, same) → BN → ReLU, then three residual blocks of 16, 32 and
    64 filters (the last two with stride 2 and a 1x1 projection shortcut),
    GlobalAveragePooling2D → (Dropout) → Dense ``num_classes`` softmax.
    Batch normalisation is part of the design, so ``batch_norm`` is always on.

    Example:
        >>> small_resnet().output.shape
        (None, 10)
    """
    del batch_norm  # residual blocks always normalise
    inputs = layers.Input(input_shape)
    x = layers.Conv2D(16, 3, padding="same", use_bias=False, kernel_regularizer=kernel_regularizer)(inputs)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    for filters, strides in ((16, 1), (32, 2), (64, 2)):
        x = _residual_block(x, filters, strides, kernel_regularizer)
    x = layers.GlobalAveragePooling2D()(x)
    if dropout:
        x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    return Model(inputs, outputs, name="small_resnet")
