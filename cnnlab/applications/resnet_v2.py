"""ResNet50V2/101V2/152V2 (He et al., 2016, pre-activation), as ``keras.applications.resnet_v2``."""

from __future__ import annotations

from cnnlab.applications import imagenet_utils
from cnnlab.applications.resnet import ResNet, resnet_doc, stack_residual_blocks_v2


def _v2_stages(blocks):
    def stack_fn(x):
        for stage, (filters, count) in enumerate(zip((64, 128, 256, 512), blocks), start=2):
            x = stack_residual_blocks_v2(x, filters, count, stride1=1 if stage == 5 else 2, name=f"conv{stage}")
        return x
    return stack_fn


def ResNet50V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
               classes=1000, classifier_activation="softmax", name="resnet50v2"):
    return ResNet(_v2_stages((3, 4, 6, 3)), True, True, include_top, weights, input_tensor, input_shape, pooling,
                  classes, classifier_activation, name, weights_name="resnet50v2")


def ResNet101V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                classes=1000, classifier_activation="softmax", name="resnet101v2"):
    return ResNet(_v2_stages((3, 4, 23, 3)), True, True, include_top, weights, input_tensor, input_shape, pooling,
                  classes, classifier_activation, name, weights_name="resnet101v2")


def ResNet152V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                classes=1000, classifier_activation="softmax", name="resnet152v2"):
    return ResNet(_v2_stages((3, 8, 36, 3)), True, True, include_top, weights, input_tensor, input_shape, pooling,
                  classes, classifier_activation, name, weights_name="resnet152v2")


ResNet50V2.__doc__ = resnet_doc("ResNet50V2: pre-activation ResNet50.", "ResNet50V2")
ResNet101V2.__doc__ = resnet_doc("ResNet101V2: pre-activation ResNet101.", "ResNet101V2")
ResNet152V2.__doc__ = resnet_doc("ResNet152V2: pre-activation ResNet152.", "ResNet152V2")


def preprocess_input(x, data_format=None):
    """ImageNet "tf" preprocessing: pixels scaled from [0, 255] to [-1, 1]."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds, top=5):
    """``(class_id, class_name, score)`` tuples for the ``top`` classes of each sample (see imagenet_utils)."""
    return imagenet_utils.decode_predictions(preds, top=top)
