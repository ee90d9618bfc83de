"""VGG16 (Simonyan & Zisserman, 2015), as ``keras.applications.vgg16``; also the VGG builder VGG19 shares."""

from __future__ import annotations

from cnnlab import layers
from cnnlab.applications import _common, imagenet_utils

# Keras's published weights (keras/src/applications/vgg16.py).
_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/"
WEIGHTS_PATH = _BASE + "vgg16_weights_tf_dim_ordering_tf_kernels.h5"
WEIGHTS_PATH_NO_TOP = _BASE + "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
_HASHES = ("64373286793e3c8b2b4e3219cbf3544b", "6d6bbae143d832006294945121d1f1fc")

_FILTERS = (64, 128, 256, 512, 512)
DEFAULT_SIZE = 224
MIN_SIZE = 32


def build_vgg(convs_per_block, *, include_top, weights, input_tensor, input_shape, pooling, classes,
              classifier_activation, name, where, weight_files):
    """Build a VGG network: five blocks of 3x3 convolutions and 2x2 max pooling, then the 3-layer classifier.

    ``weight_files`` is ``((url, hash) with the top, (url, hash) without)``.
    """
    img_input, inputs = _common.prepare_input(
        where=where, include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
        pooling=pooling, classes=classes, default_size=DEFAULT_SIZE, min_size=MIN_SIZE)

    x = img_input
    for block, (filters, convs) in enumerate(zip(_FILTERS, convs_per_block), start=1):
        for conv in range(1, convs + 1):
            x = layers.Conv2D(filters, (3, 3), activation="relu", padding="same",
                              name=f"block{block}_conv{conv}")(x)
        x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{block}_pool")(x)

    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        _common.validate_classifier_activation(classifier_activation, weights, where=where)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _common.pooling_head(x, pooling)

    return _common.build_model(inputs, x, name=name, weights=weights, include_top=include_top,
                               top=weight_files[0], notop=weight_files[1], where=where)


def VGG16(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None, classes=1000,
          classifier_activation="softmax", name="vgg16"):
    return build_vgg((2, 2, 3, 3, 3), include_top=include_top, weights=weights, input_tensor=input_tensor,
                     input_shape=input_shape, pooling=pooling, classes=classes,
                     classifier_activation=classifier_activation, name=name, where="VGG16",
                     weight_files=((WEIGHTS_PATH, _HASHES[0]), (WEIGHTS_PATH_NO_TOP, _HASHES[1])))


VGG16.__doc__ = _common.builder_doc(
    "VGG16: 13 convolutions in 5 blocks and 3 dense layers (138 M parameters with the top).",
    default_size=DEFAULT_SIZE, min_size=MIN_SIZE, features="(N, H/32, W/32, 512)",
    classifier="the 3 fully connected layers",
    example=""">>> VGG16(include_top=False, weights=None, input_shape=(64, 64, 3)).output_shape
        (None, 2, 2, 512)""")


def preprocess_input(x, data_format=None):
    """ImageNet "caffe" preprocessing: RGB to BGR, minus the ImageNet mean per channel, no scaling."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


def decode_predictions(preds, top=5):
    """``(class_id, class_name, score)`` tuples for the ``top`` classes of each sample (see imagenet_utils)."""
    return imagenet_utils.decode_predictions(preds, top=top)
