"""Pieces every ``cnnlab.applications`` builder shares: argument checks, the input, the head, weight loading.

Keras repeats these blocks in each application module; here they are written
once. The rules (which ``weights`` values are valid, when ``classes`` must be
1000, how a non-symbolic ``input_tensor`` is treated) are Keras 3.15's, from
``keras/src/applications/*.py``; the errors are cnnlab's.
"""

from __future__ import annotations

import os

from cnnlab import layers
from cnnlab.applications._files import fetch_keras_file, weights_folder  # noqa: F401  (re-exported for the builders)
from cnnlab.applications.imagenet_utils import image_data_format, obtain_input_shape, validate_classifier_activation
from cnnlab.errors import ConfigError, did_you_mean
from cnnlab.layers.node import KerasTensor
from cnnlab.models import Functional

IMAGENET_CLASSES = 1000
POOLING_CHOICES = (None, "avg", "max")


def validate_weights(weights, include_top: bool, classes: int, *, where: str) -> None:
    """Check ``weights`` and ``classes`` as Keras does before building anything.

    Args:
        weights: None, ``"imagenet"`` or the path of an existing weights file.
        include_top: whether the classifier is part of the model.
        classes: number of classes of the classifier.
        where: the builder's name for messages, e.g. ``"VGG16"``.

    Raises:
        ConfigError: ``weights`` is none of those, or ``"imagenet"`` with the
            classifier and ``classes != 1000``.
    """
    valid_path = isinstance(weights, (str, os.PathLike)) and weights != "imagenet" and os.path.exists(weights)
    if not (weights is None or (isinstance(weights, str) and weights == "imagenet") or valid_path):
        hint = did_you_mean(weights, ["imagenet"]) if isinstance(weights, str) else ""
        if isinstance(weights, (str, os.PathLike)) and not hint:
            hint = f" No file exists at '{os.fspath(weights)}'; check the path."
        raise ConfigError(f"{where}: the weights argument must be None (random initialization), 'imagenet' "
                          f"(pre-training on ImageNet) or the path to an existing weights file.{hint} "
                          f"Received: weights={weights!r}")
    if weights == "imagenet" and include_top and classes != IMAGENET_CLASSES:
        raise ConfigError(f"{where}: with weights='imagenet' and include_top=True the classifier has the 1000 "
                          "ImageNet classes, so classes must be 1000. For another number of classes, pass "
                          "include_top=False and add your own head, or weights=None. "
                          f"Received: classes={classes!r}")


def validate_pooling(pooling, include_top: bool, *, where: str) -> None:
    """Refuse a ``pooling`` other than None, ``"avg"`` or ``"max"``.

    Keras ignores an unknown value and returns the 4-D feature map, which
    surfaces later as a puzzling shape error; cnnlab says so where it is written.
    """
    if pooling not in POOLING_CHOICES:
        raise ConfigError(f"{where}: pooling must be None (4-D feature maps), 'avg' (global average pooling) or "
                          f"'max' (global max pooling); it applies when include_top=False."
                          f"{did_you_mean(str(pooling), ['avg', 'max'])} Received: pooling={pooling!r}")


def prepare_input(*, where: str, include_top: bool, weights, input_tensor, input_shape, pooling, classes: int,
                  default_size: int, min_size: int, require_flatten: bool | None = None) -> tuple:
    """Check the common arguments and make the input: returns ``(img_input, inputs)``.

    ``require_flatten`` defaults to ``include_top`` (the classifier needs a
    fixed size), as in most of Keras's builders.
    """
    validate_weights(weights, include_top, classes, where=where)
    validate_pooling(pooling, include_top, where=where)
    input_shape = obtain_input_shape(input_shape, default_size=default_size, min_size=min_size,
                                     data_format=image_data_format(),
                                     require_flatten=include_top if require_flatten is None else require_flatten,
                                     weights=weights)
    return application_input(input_tensor, input_shape)


def get_source_inputs(tensor) -> list:
    """The ``Input`` tensors a symbolic tensor was computed from (Keras's ``get_source_inputs``)."""
    found, seen, stack = [], set(), [tensor]
    while stack:
        t = stack.pop()
        node = getattr(t, "node", None)
        if node is None or not node.inputs:
            if id(t) not in seen:
                seen.add(id(t))
                found.append(t)
            continue
        stack.extend(reversed(node.inputs))
    return found


def application_input(input_tensor, input_shape) -> tuple:
    """Return ``(img_input, inputs)``: the tensor the network starts from and the model's inputs.

    Without ``input_tensor``, both are a new ``Input(shape=input_shape)``. A
    symbolic ``input_tensor`` is used as it is, and the model's inputs are the
    ``Input`` tensors it comes from, so layers applied before it stay part of
    the model. Any other tensor only gives its shape: a new ``Input`` is made
    (Keras 3 does the same; it cannot keep the values).
    """
    if input_tensor is None:
        img_input = layers.Input(shape=input_shape)
        return img_input, img_input
    if isinstance(input_tensor, KerasTensor):
        sources = get_source_inputs(input_tensor)
        return input_tensor, sources[0] if len(sources) == 1 else sources
    shape = tuple(getattr(input_tensor, "shape", ()))[1:] or input_shape
    img_input = layers.Input(shape=tuple(shape))
    return img_input, img_input


def classifier_head(x, *, include_top: bool, pooling, classes: int, classifier_activation, weights,
                    where: str, pool_name: str | None = None, dense_name: str = "predictions",
                    headless_pool_names: tuple = (None, None)):
    """The usual top: global average pooling + Dense when ``include_top``, else the chosen ``pooling``.

    ``pool_name`` names the pooling layer of the classifier (Keras's ``"avg_pool"``);
    ``headless_pool_names`` names the ``"avg"``/``"max"`` pooling of a headless
    model (ResNet and DenseNet call them ``avg_pool``/``max_pool``; the others
    keep the automatic names).
    """
    if include_top:
        x = layers.GlobalAveragePooling2D(name=pool_name)(x)
        validate_classifier_activation(classifier_activation, weights, where=where)
        return layers.Dense(classes, activation=classifier_activation, name=dense_name)(x)
    return pooling_head(x, pooling, names=headless_pool_names)


def pooling_head(x, pooling, names: tuple = (None, None)):
    """Global average or max pooling for ``pooling="avg"``/``"max"``; the feature map itself for None."""
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name=names[0])(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name=names[1])(x)
    return x


def load_weights(model, weights, *, fname: str, origin: str, file_hash: str | None, where: str) -> None:
    """Load ``weights`` into ``model``: Keras's ImageNet file for ``"imagenet"``, a local file for a path.

    Args:
        model: the application model just built.
        weights: None (nothing to load), ``"imagenet"`` or a path to a
            ``.h5`` (legacy, by layer order) or ``.weights.h5`` file.
        fname, origin, file_hash: Keras's file name, URL and hash for the
            ImageNet weights of this configuration (with or without the top).
        where: the builder's name, for messages.
    """
    if weights is None:
        return
    path = fetch_keras_file(fname, origin, file_hash, where=where) if weights == "imagenet" else weights
    model.load_weights(path)


def build_model(inputs, outputs, *, name: str, weights, include_top: bool, top: tuple, notop: tuple,
                where: str):
    """The functional model, with ``weights`` loaded (see :func:`load_application_weights`)."""
    model = Functional(inputs, outputs, name=name)
    load_application_weights(model, weights, include_top, top=top, notop=notop, where=where)
    return model


def load_application_weights(model, weights, include_top: bool, *, top: tuple, notop: tuple, where: str) -> None:
    """``load_weights`` with the file chosen by ``include_top``; ``top``/``notop`` are ``(url, hash)``.

    Keras names each cached file after the last part of its URL.
    """
    origin, file_hash = top if include_top else notop
    load_weights(model, weights, fname=origin.rsplit("/", 1)[1], origin=origin, file_hash=file_hash, where=where)


def builder_doc(summary: str, *, default_size: int, min_size: int, features: str, example: str,
                classifier: str = "the global average pooling and the ``classes``-way Dense classifier") -> str:
    """The docstring of an application builder: ``summary``, then the arguments every builder shares.

    Args:
        summary: first line(s), e.g. ``"ResNet50: 50 layers, bottleneck blocks (3, 4, 6, 3)."``.
        default_size, min_size: the model's default and smallest image size.
        features: the headless output shape without pooling, e.g. ``"(N, H/32, W/32, 2048)"``.
        example: a doctest line and its output.
        classifier: what ``include_top`` adds.
    """
    return f"""{summary}

    Args:
        include_top: include {classifier}
            (then the input must be {default_size}x{default_size}x3 with ImageNet weights).
        weights: None (random), ``"imagenet"`` (Keras's published weights, downloaded once
            into ``~/.keras/models``) or the path of a ``.h5``/``.weights.h5`` file.
        input_tensor: optional symbolic tensor (``Input(...)`` output) to use as the image input.
        input_shape: shape of one image; at least {min_size}x{min_size}, 3 channels with ImageNet weights.
        pooling: with ``include_top=False``: None (4-D feature map), ``"avg"`` or ``"max"`` (global pooling).
        classes: number of classes when ``include_top=True`` and no ImageNet weights.
        classifier_activation: activation of the classifier; only ``"softmax"`` or None with pretrained weights.
        name: the model's name.

    Shape:
        Input ``(N, {default_size}, {default_size}, 3)`` by default; output ``(N, classes)``, or
        ``{features}`` without top and pooling.

    Example:
        {example}
    """
