"""ResNet50/101/152 (He et al., 2015), as ``keras.applications.resnet``; the builder and blocks ResNetV2 shares."""

from __future__ import annotations

from cnnlab import layers
from cnnlab.applications import _common, imagenet_utils
from cnnlab.models import Functional

# Keras's published weights: <name>_weights_tf_dim_ordering_tf_kernels[_notop].h5 (keras/src/applications/resnet.py).
BASE_WEIGHTS_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
WEIGHTS_HASHES = {
    "resnet50": ("2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626"),
    "resnet101": ("f1aeb4b969a6efcfb50fad2f0c20cfc5", "88cf7a10940856eca736dc7b7e228a21"),
    "resnet152": ("100835be76be38e30d865e96f2aaae62", "ee4c566cf9a93f14d82f913c2dc6dd0c"),
    "resnet50v2": ("3ef43a0b657b3be2300d5770ece849e0", "fac2f116257151a9d068a22e544a4917"),
    "resnet101v2": ("6343647c601c52e1368623803854d971", "c0ed64b8031c3730f411d2eb4eea35b5"),
    "resnet152v2": ("a49b44d1979771252814e80f8ec446f9", "ed17cf2e0169df9d443503ef94b23b33"),
}
# Keras's ResNet BatchNormalization epsilon (the Caffe models' value), not the layer default 1e-3.
BN_EPSILON = 1.001e-5
_BN_AXIS = 3
_DISPLAY_NAMES = {"resnet50": "ResNet50", "resnet101": "ResNet101", "resnet152": "ResNet152",
                  "resnet50v2": "ResNet50V2", "resnet101v2": "ResNet101V2", "resnet152v2": "ResNet152V2"}


def _bn(name):
    return layers.BatchNormalization(axis=_BN_AXIS, epsilon=BN_EPSILON, name=name)


def ResNet(stack_fn, preact, use_bias, include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
           pooling=None, classes=1000, classifier_activation="softmax", name="resnet", weights_name=None):
    """Build a ResNet (V1 with ``preact=False``, V2 with ``preact=True``) around ``stack_fn``'s residual stages.

    Args:
        stack_fn: function from the stem's output to the last stage's output.
        preact: pre-activation (V2): no BN/ReLU after the stem, BN/ReLU after the stages.
        use_bias: whether the stem convolution has a bias.
        weights_name: key of :data:`WEIGHTS_HASHES` naming Keras's ImageNet files.
        Others: as in :func:`ResNet50`.
    """
    where = _DISPLAY_NAMES.get(weights_name, "ResNet")
    img_input, inputs = _common.prepare_input(
        where=where, include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
        pooling=pooling, classes=classes, default_size=224, min_size=32)

    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(img_input)
    x = layers.Conv2D(64, 7, strides=2, use_bias=use_bias, name="conv1_conv")(x)
    if not preact:
        x = _bn("conv1_bn")(x)
        x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    x = stack_fn(x)
    if preact:
        x = _bn("post_bn")(x)
        x = layers.Activation("relu", name="post_relu")(x)

    x = _common.classifier_head(x, include_top=include_top, pooling=pooling, classes=classes,
                                classifier_activation=classifier_activation, weights=weights, where=where,
                                pool_name="avg_pool", headless_pool_names=("avg_pool", "max_pool"))
    if weights == "imagenet" and weights_name not in WEIGHTS_HASHES:
        return Functional(inputs, x, name=name)  # Keras builds it, but publishes no weights for it
    hashes = WEIGHTS_HASHES[weights_name] if weights_name in WEIGHTS_HASHES else (None, None)
    stem = f"{BASE_WEIGHTS_PATH}{weights_name}_weights_tf_dim_ordering_tf_kernels"
    return _common.build_model(inputs, x, name=name, weights=weights, include_top=include_top,
                               top=(f"{stem}.h5", hashes[0]), notop=(f"{stem}_notop.h5", hashes[1]), where=where)


def residual_block_v1(x, filters, kernel_size=3, stride=1, conv_shortcut=True, name=None):
    """Bottleneck block (1x1, kxk, 1x1 convolutions, 4x expansion) with post-activation, as in ResNet V1."""
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(x)
        shortcut = _bn(f"{name}_0_bn")(shortcut)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, strides=stride, name=f"{name}_1_conv")(x)
    x = _bn(f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.Conv2D(filters, kernel_size, padding="same", name=f"{name}_2_conv")(x)
    x = _bn(f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    x = _bn(f"{name}_3_bn")(x)
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def stack_residual_blocks_v1(x, filters, blocks, stride1=2, name=None):
    """``blocks`` V1 blocks; the first has a projection shortcut and stride ``stride1``."""
    x = residual_block_v1(x, filters, stride=stride1, name=f"{name}_block1")
    for i in range(2, blocks + 1):
        x = residual_block_v1(x, filters, conv_shortcut=False, name=f"{name}_block{i}")
    return x


def residual_block_v2(x, filters, kernel_size=3, stride=1, conv_shortcut=False, name=None):
    """Pre-activation bottleneck block (BN/ReLU before the convolutions), as in ResNet V2."""
    preact = _bn(f"{name}_preact_bn")(x)
    preact = layers.Activation("relu", name=f"{name}_preact_relu")(preact)
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(preact)
    else:
        shortcut = layers.MaxPooling2D(1, strides=stride)(x) if stride > 1 else x
    x = layers.Conv2D(filters, 1, strides=1, use_bias=False, name=f"{name}_1_conv")(preact)
    x = _bn(f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name=f"{name}_2_pad")(x)
    x = layers.Conv2D(filters, kernel_size, strides=stride, use_bias=False, name=f"{name}_2_conv")(x)
    x = _bn(f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    return layers.Add(name=f"{name}_out")([shortcut, x])


def stack_residual_blocks_v2(x, filters, blocks, stride1=2, name=None):
    """``blocks`` V2 blocks; the first projects the shortcut, the last has stride ``stride1``."""
    x = residual_block_v2(x, filters, conv_shortcut=True, name=f"{name}_block1")
    for i in range(2, blocks):
        x = residual_block_v2(x, filters, name=f"{name}_block{i}")
    return residual_block_v2(x, filters, stride=stride1, name=f"{name}_block{blocks}")


def _v1_stages(blocks):
    def stack_fn(x):
        for stage, (filters, count) in enumerate(zip((64, 128, 256, 512), blocks), start=2):
            x = stack_residual_blocks_v1(x, filters, count, stride1=1 if stage == 2 else 2, name=f"conv{stage}")
        return x
    return stack_fn


def resnet_doc(title: str, fn: str) -> str:
    """The docstring of one ResNet builder."""
    return _common.builder_doc(title, default_size=224, min_size=32, features="(N, H/32, W/32, 2048)",
                               example=f""">>> model = {fn}(include_top=False, weights=None, input_shape=(64, 64, 3),
        ...     pooling="avg")
        >>> model.output_shape
        (None, 2048)""")


def ResNet50(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None, classes=1000,
             classifier_activation="softmax", name="resnet50"):
    return ResNet(_v1_stages((3, 4, 6, 3)), False, True, include_top, weights, input_tensor, input_shape, pooling,
                  classes, classifier_activation, name, weights_name="resnet50")


def ResNet101(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None, classes=1000,
              classifier_activation="softmax", name="resnet101"):
    return ResNet(_v1_stages((3, 4, 23, 3)), False, True, include_top, weights, input_tensor, input_shape, pooling,
                  classes, classifier_activation, name, weights_name="resnet101")


def ResNet152(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None, classes=1000,
              classifier_activation="softmax", name="resnet152"):
    return ResNet(_v1_stages((3, 8, 36, 3)), False, True, include_top, weights, input_tensor, input_shape, pooling,
                  classes, classifier_activation, name, weights_name="resnet152")


ResNet50.__doc__ = resnet_doc("ResNet50: 50 layers, bottleneck blocks (3, 4, 6, 3).", "ResNet50")
ResNet101.__doc__ = resnet_doc("ResNet101: 101 layers, bottleneck blocks (3, 4, 23, 3).", "ResNet101")
ResNet152.__doc__ = resnet_doc("ResNet152: 152 layers, bottleneck blocks (3, 8, 36, 3).", "ResNet152")


def preprocess_input(x, data_format=None):
    """ImageNet "caffe" preprocessing: RGB to BGR, minus the ImageNet mean per channel, no scaling."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


def decode_predictions(preds, top=5):
    """``(class_id, class_name, score)`` tuples for the ``top`` classes of each sample (see imagenet_utils)."""
    return imagenet_utils.decode_predictions(preds, top=top)
