"""Keras's image classification architectures (``keras.applications``) with Keras's names and weights files."""

from cnnlab.applications import (
    densenet,
    imagenet_utils,
    inception_v3,
    resnet,
    resnet50,
    resnet_v2,
    vgg16,
    vgg19,
    xception,
)
from cnnlab.applications.densenet import DenseNet121, DenseNet169, DenseNet201
from cnnlab.applications.inception_v3 import InceptionV3
from cnnlab.applications.resnet import ResNet50, ResNet101, ResNet152
from cnnlab.applications.resnet_v2 import ResNet50V2, ResNet101V2, ResNet152V2
from cnnlab.applications.vgg16 import VGG16
from cnnlab.applications.vgg19 import VGG19
from cnnlab.applications.xception import Xception

# --- Engineer B: MobileNet / EfficientNet / ConvNeXt imports go in this block ---
from cnnlab.applications import convnext, efficientnet, efficientnet_v2, mobilenet, mobilenet_v2, mobilenet_v3
from cnnlab.applications.convnext import ConvNeXtBase, ConvNeXtLarge, ConvNeXtSmall, ConvNeXtTiny, ConvNeXtXLarge
from cnnlab.applications.efficientnet import (
    EfficientNetB0, EfficientNetB1, EfficientNetB2, EfficientNetB3, EfficientNetB4, EfficientNetB5, EfficientNetB6,
    EfficientNetB7,
)
from cnnlab.applications.efficientnet_v2 import (
    EfficientNetV2B0, EfficientNetV2B1, EfficientNetV2B2, EfficientNetV2B3, EfficientNetV2L, EfficientNetV2M,
    EfficientNetV2S,
)
from cnnlab.applications.mobilenet import MobileNet
from cnnlab.applications.mobilenet_v2 import MobileNetV2
from cnnlab.applications.mobilenet_v3 import MobileNetV3Large, MobileNetV3Small
# --- end of Engineer B block ---

__all__ = [
    "DenseNet121", "DenseNet169", "DenseNet201", "InceptionV3", "ResNet50", "ResNet101", "ResNet152",
    "ResNet50V2", "ResNet101V2", "ResNet152V2", "VGG16", "VGG19", "Xception",
    "densenet", "imagenet_utils", "inception_v3", "resnet", "resnet50", "resnet_v2", "vgg16", "vgg19", "xception",
    # --- Engineer B: names of the MobileNet / EfficientNet / ConvNeXt builders and modules go here ---
    "ConvNeXtBase", "ConvNeXtLarge", "ConvNeXtSmall", "ConvNeXtTiny", "ConvNeXtXLarge", "EfficientNetB0",
    "EfficientNetB1", "EfficientNetB2", "EfficientNetB3", "EfficientNetB4", "EfficientNetB5", "EfficientNetB6",
    "EfficientNetB7", "EfficientNetV2B0", "EfficientNetV2B1", "EfficientNetV2B2", "EfficientNetV2B3",
    "EfficientNetV2L", "EfficientNetV2M", "EfficientNetV2S", "MobileNet", "MobileNetV2", "MobileNetV3Large",
    "MobileNetV3Small",
    "convnext", "efficientnet", "efficientnet_v2", "mobilenet", "mobilenet_v2", "mobilenet_v3",
]
