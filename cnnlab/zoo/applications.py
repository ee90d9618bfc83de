"""``cnnlab.applications`` in the zoo: ``create_model("mobilenet_v2", input_shape=(96, 96, 3), num_classes=5)``.

Each Keras architecture is registered under its Keras name in snake case
(``MobileNetV2`` -> ``mobilenet_v2``, ``EfficientNetV2B0`` -> ``efficientnet_v2_b0``,
``ResNet50`` -> ``resnet50``), built as Keras builds it with ``include_top=True``,
``classes=num_classes`` and ``weights=None`` (random) unless a weights file is given.
Unlike the classic zoo models these are not padded for small images: each
has Keras's smallest input size, and a smaller one is refused with that size.
"""

from __future__ import annotations

import re

from cnnlab import applications
from cnnlab.errors import ShapeError
from cnnlab.zoo.registry import register_model

# keras/src/applications/*.py: min_size of obtain_input_shape (32 for every other architecture).
_MIN_SIZES = {"InceptionV3": 75, "Xception": 71}
DEFAULT_MIN_SIZE = 32


def zoo_name(keras_name: str) -> str:
    """Keras's builder name in the zoo's snake case.

    Example:
        >>> zoo_name("MobileNetV3Small"), zoo_name("EfficientNetV2S"), zoo_name("ResNet50V2")
        ('mobilenet_v3_small', 'efficientnet_v2_s', 'resnet50_v2')
    """
    spaced = re.sub(r"(V\d|B\d|Tiny|Small|Base|XLarge|Large|(?<=V2)[SML]$)", r"_\1", keras_name)
    return spaced.lower()


def min_size(keras_name: str) -> int:
    """Smallest height and width the architecture accepts (Keras's rule)."""
    return _MIN_SIZES.get(keras_name, DEFAULT_MIN_SIZE)


def _register(keras_name: str):
    name = zoo_name(keras_name)
    smallest = min_size(keras_name)

    def build(input_shape=(224, 224, 3), num_classes=1000, weights=None):
        height, width = input_shape[:2]
        if min(height, width) < smallest:
            raise ShapeError(
                f"zoo model '{name}' (applications.{keras_name}) needs images of at least {smallest}x{smallest}; "
                f"these are {height}x{width}. Resize them: with the cnnlab command, --image-size "
                f"{max(smallest, 96)},{max(smallest, 96)} (any size >= {smallest}); in code, "
                f"create_model('{name}', input_shape=({smallest}, {smallest}, {input_shape[2]})) and images resized "
                f"to match (layers.Resizing). Received: input_shape={tuple(input_shape)}")
        return getattr(applications, keras_name)(weights=weights, input_shape=tuple(input_shape),
                                                  classes=num_classes)

    build.__name__ = build.__qualname__ = name
    build.__module__ = __name__
    build.__doc__ = (
        f"applications.{keras_name} (Keras's architecture, layer names and counts) with a softmax over "
        f"num_classes; images at least {smallest}x{smallest}.\n\n"
        "    Args:\n"
        "        input_shape: (height, width, channels) of one image; any channel count with weights=None.\n"
        "        num_classes: units of the classifier.\n"
        "        weights: None (random) or the path of a Keras weights file for this architecture and num_classes.\n")
    return register_model(build)


APPLICATION_MODELS = {zoo_name(keras_name): keras_name for keras_name in applications.__all__
                      if keras_name[0].isupper()}
for _keras_name in APPLICATION_MODELS.values():
    _register(_keras_name)


def is_application(name: str) -> bool:
    """True if zoo model ``name`` is one of Keras's architectures (rather than a classic tutorial CNN)."""
    return name in APPLICATION_MODELS
