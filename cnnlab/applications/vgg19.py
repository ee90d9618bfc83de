"""VGG19 (Simonyan & Zisserman, 2015), as ``keras.applications.vgg19``."""

from __future__ import annotations

from cnnlab.applications import _common
from cnnlab.applications.vgg16 import DEFAULT_SIZE, MIN_SIZE, build_vgg, decode_predictions, preprocess_input

# Keras's published weights (keras/src/applications/vgg19.py).
_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/"
WEIGHTS_PATH = _BASE + "vgg19_weights_tf_dim_ordering_tf_kernels.h5"
WEIGHTS_PATH_NO_TOP = _BASE + "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
_HASHES = ("cbe5617147190e668d6c5d5026f83318", "253f8cb515780f3b799900260a226db6")

__all__ = ["VGG19", "decode_predictions", "preprocess_input"]


def VGG19(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None, classes=1000,
          classifier_activation="softmax", name="vgg19"):
    return build_vgg((2, 2, 4, 4, 4), include_top=include_top, weights=weights, input_tensor=input_tensor,
                     input_shape=input_shape, pooling=pooling, classes=classes,
                     classifier_activation=classifier_activation, name=name, where="VGG19",
                     weight_files=((WEIGHTS_PATH, _HASHES[0]), (WEIGHTS_PATH_NO_TOP, _HASHES[1])))


VGG19.__doc__ = _common.builder_doc(
    "VGG19: 16 convolutions in 5 blocks (2, 2, 4, 4, 4) and 3 dense layers (144 M parameters with the top).",
    default_size=DEFAULT_SIZE, min_size=MIN_SIZE, features="(N, H/32, W/32, 512)",
    classifier="the 3 fully connected layers",
    example=""">>> VGG19(include_top=False, weights=None, input_shape=(32, 32, 3), pooling="max").output_shape
        (None, 512)""")
