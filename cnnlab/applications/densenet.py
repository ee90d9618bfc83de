"""DenseNet121/169/201 (Huang et al., 2017), as ``keras.applications.densenet``."""

from __future__ import annotations

from cnnlab import layers
from cnnlab.applications import _common, imagenet_utils
from cnnlab.errors import ConfigError

# Keras's published weights (keras/src/applications/densenet.py): blocks -> (file stem, top hash, no-top hash).
BASE_WEIGHTS_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/densenet/"
_WEIGHTS = {
    (6, 12, 24, 16): ("densenet121", "9d60b8095a5708f2dcce2bca79d332c7", "30ee3e1110167f948a6b9946edeeb738"),
    (6, 12, 32, 32): ("densenet169", "d699b8f76981ab1b30698df4c175e90b", "b8c4d4c20dd625c148057b9ff1c1176b"),
    (6, 12, 48, 32): ("densenet201", "1ceb130c1ea1b78c3bf6114dbdfd8807", "c13680b51ded0fb44dff2d8f86ac8bb1"),
}
GROWTH_RATE = 32
COMPRESSION = 0.5  # transition layers halve the channels
BN_EPSILON = 1.001e-5  # Keras's DenseNet value
_BN_AXIS = 3


def _bn(name):
    return layers.BatchNormalization(axis=_BN_AXIS, epsilon=BN_EPSILON, name=name)


def dense_block(x, blocks, name):
    """``blocks`` conv blocks, each concatenating ``GROWTH_RATE`` new channels to its input."""
    for i in range(blocks):
        x = conv_block(x, GROWTH_RATE, name=f"{name}_block{i + 1}")
    return x


def transition_block(x, reduction, name):
    """BN, ReLU, 1x1 convolution to ``reduction`` times the channels, 2x2 average pooling."""
    x = _bn(f"{name}_bn")(x)
    x = layers.Activation("relu", name=f"{name}_relu")(x)
    x = layers.Conv2D(int(x.shape[_BN_AXIS] * reduction), 1, use_bias=False, name=f"{name}_conv")(x)
    return layers.AveragePooling2D(2, strides=2, name=f"{name}_pool")(x)


def conv_block(x, growth_rate, name):
    """BN-ReLU-1x1 conv (4 x growth) and BN-ReLU-3x3 conv (growth), concatenated to the input."""
    x1 = _bn(f"{name}_0_bn")(x)
    x1 = layers.Activation("relu", name=f"{name}_0_relu")(x1)
    x1 = layers.Conv2D(4 * growth_rate, 1, use_bias=False, name=f"{name}_1_conv")(x1)
    x1 = _bn(f"{name}_1_bn")(x1)
    x1 = layers.Activation("relu", name=f"{name}_1_relu")(x1)
    x1 = layers.Conv2D(growth_rate, 3, padding="same", use_bias=False, name=f"{name}_2_conv")(x1)
    return layers.Concatenate(axis=_BN_AXIS, name=f"{name}_concat")([x, x1])


def DenseNet(blocks, include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
             classes=1000, classifier_activation="softmax", name="densenet"):
    """Build a DenseNet with ``blocks`` conv blocks in each of its four dense blocks.

    Args:
        blocks: four ints; Keras publishes ImageNet weights for (6, 12, 24, 16),
            (6, 12, 32, 32) and (6, 12, 48, 32) only.
        Others: as in :func:`DenseNet121`.
    """
    blocks = list(blocks)
    where = "DenseNet"
    if weights == "imagenet" and tuple(blocks) not in _WEIGHTS:
        raise ConfigError(f"{where}: Keras publishes ImageNet weights only for blocks {[list(b) for b in _WEIGHTS]} "
                          f"(DenseNet121/169/201); pass weights=None for other depths. Received: blocks={blocks}")
    img_input, inputs = _common.prepare_input(
        where=where, include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
        pooling=pooling, classes=classes, default_size=224, min_size=32)

    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)))(img_input)
    x = layers.Conv2D(64, 7, strides=2, use_bias=False, name="conv1_conv")(x)
    x = _bn("conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)))(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    for stage, count in enumerate(blocks, start=2):
        x = dense_block(x, count, name=f"conv{stage}")
        if stage < 5:
            x = transition_block(x, COMPRESSION, name=f"pool{stage}")
    x = _bn("bn")(x)
    x = layers.Activation("relu", name="relu")(x)

    x = _common.classifier_head(x, include_top=include_top, pooling=pooling, classes=classes,
                                classifier_activation=classifier_activation, weights=weights, where=where,
                                pool_name="avg_pool", headless_pool_names=("avg_pool", "max_pool"))
    stem, top_hash, notop_hash = _WEIGHTS.get(tuple(blocks), ("", None, None))
    base = f"{BASE_WEIGHTS_PATH}{stem}_weights_tf_dim_ordering_tf_kernels"
    return _common.build_model(inputs, x, name=name, weights=weights, include_top=include_top,
                               top=(f"{base}.h5", top_hash), notop=(f"{base}_notop.h5", notop_hash), where=where)


def _densenet_doc(title: str, fn: str, channels: int) -> str:
    return _common.builder_doc(title, default_size=224, min_size=32, features=f"(N, H/32, W/32, {channels})",
                               example=f""">>> model = {fn}(include_top=False, weights=None, input_shape=(32, 32, 3),
        ...     pooling="avg")
        >>> model.output_shape
        (None, {channels})""")


def DenseNet121(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                classes=1000, classifier_activation="softmax", name="densenet121"):
    return DenseNet([6, 12, 24, 16], include_top, weights, input_tensor, input_shape, pooling, classes,
                    classifier_activation, name)


def DenseNet169(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                classes=1000, classifier_activation="softmax", name="densenet169"):
    return DenseNet([6, 12, 32, 32], include_top, weights, input_tensor, input_shape, pooling, classes,
                    classifier_activation, name)


def DenseNet201(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                classes=1000, classifier_activation="softmax", name="densenet201"):
    return DenseNet([6, 12, 48, 32], include_top, weights, input_tensor, input_shape, pooling, classes,
                    classifier_activation, name)


DenseNet121.__doc__ = _densenet_doc("DenseNet121: dense blocks of (6, 12, 24, 16) layers.", "DenseNet121", 1024)
DenseNet169.__doc__ = _densenet_doc("DenseNet169: dense blocks of (6, 12, 32, 32) layers.", "DenseNet169", 1664)
DenseNet201.__doc__ = _densenet_doc("DenseNet201: dense blocks of (6, 12, 48, 32) layers.", "DenseNet201", 1920)


def preprocess_input(x, data_format=None):
    """ImageNet "torch" preprocessing: pixels scaled to [0, 1], then normalised per channel (ImageNet mean/std)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="torch")


def decode_predictions(preds, top=5):
    """``(class_id, class_name, score)`` tuples for the ``top`` classes of each sample (see imagenet_utils)."""
    return imagenet_utils.decode_predictions(preds, top=top)
