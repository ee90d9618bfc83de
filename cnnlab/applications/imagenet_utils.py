"""ImageNet helpers shared by the applications: ``preprocess_input``, ``decode_predictions``, input shapes.

Same names, arguments and arithmetic as ``keras.applications.imagenet_utils``
(Keras 3.15): NumPy arrays are processed with NumPy (in place when their dtype
allows, as Keras does), tensors with torch.
"""

from __future__ import annotations

import functools
import json
import warnings

import numpy as np
import torch

from cnnlab import backend, layers
from cnnlab.applications._files import fetch_keras_file
from cnnlab.errors import ConfigError, FileFormatError, ShapeError, did_you_mean
from cnnlab.layers.node import KerasTensor

# Keras's class index file (keras/src/applications/imagenet_utils.py CLASS_INDEX_PATH and its md5).
CLASS_INDEX_FNAME = "imagenet_class_index.json"
CLASS_INDEX_PATH = "https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json"
CLASS_INDEX_HASH = "c2c37ea517e94d9795004a39431a14cb"

# ImageNet channel statistics used by the pretrained weights (Keras's constants).
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
TORCH_MEAN_RGB = (0.485, 0.456, 0.406)
TORCH_STD_RGB = (0.229, 0.224, 0.225)

_MODES = ("caffe", "tf", "torch")
_DATA_FORMATS = ("channels_first", "channels_last")
_class_index_cache: dict[str, dict] = {}

__all__ = ["decode_predictions", "obtain_input_shape", "preprocess_input"]


def preprocess_input(x, data_format=None, mode="caffe"):
    """Scale a batch of RGB images in [0, 255] the way a pretrained ImageNet model expects.

    Args:
        x: NumPy array, tensor or symbolic tensor (inside a functional model),
            3-D (one image) or 4-D (a batch), 3 colour channels. A float NumPy array is overwritten in place (pass
            ``np.copy(x)`` to keep it); integer arrays are converted to float32.
        data_format: ``"channels_last"``, ``"channels_first"`` or None (the global setting).
        mode: ``"caffe"`` (RGB to BGR, minus the ImageNet mean per channel),
            ``"tf"`` (scale to [-1, 1]) or ``"torch"`` (scale to [0, 1], then
            normalise per channel with ImageNet's mean and std).

    Shape:
        Output has the input's shape.

    Example:
        >>> preprocess_input(np.full((1, 2, 2, 3), 255.0), mode="tf")[0, 0, 0]
        array([1., 1., 1.])
    """
    if mode not in _MODES:
        raise ConfigError(f"preprocess_input: mode must be 'caffe', 'tf' or 'torch'.{did_you_mean(str(mode), _MODES)} "
                          f"Received: mode={mode!r}")
    if data_format is None:
        data_format = image_data_format()
    elif data_format not in _DATA_FORMATS:
        raise ConfigError(f"preprocess_input: data_format must be 'channels_last' or 'channels_first'."
                          f"{did_you_mean(str(data_format), _DATA_FORMATS)} Received: data_format={data_format!r}")
    if isinstance(x, np.ndarray):
        return _preprocess_numpy(x, data_format, mode)
    if isinstance(x, KerasTensor):
        # Keras records the arithmetic as graph operations; here it becomes one layer of the model.
        return layers.Lambda(functools.partial(_preprocess_tensor, data_format=data_format, mode=mode))(x)
    return _preprocess_tensor(x, data_format, mode)


def image_data_format() -> str:
    """The global image data format (``"channels_last"`` unless the backend says otherwise)."""
    getter = getattr(backend, "image_data_format", None)
    return getter() if callable(getter) else "channels_last"


def validate_classifier_activation(classifier_activation, weights, *, where: str) -> None:
    """Pretrained classifiers allow only softmax or no activation (Keras's ``validate_activation``)."""
    if weights is None:
        return
    from cnnlab import activations

    fn = activations.get(classifier_activation, where=f"{where} argument classifier_activation")
    if fn not in (activations.get("softmax"), activations.get(None)):
        raise ConfigError(f"{where}: with pretrained weights and include_top=True, classifier_activation must be "
                          "'softmax' or None (logits), because the weights were trained with a softmax classifier. "
                          f"Received: classifier_activation={classifier_activation!r}")


def _channel_index(x_ndim: int, data_format: str, channel: int):
    if data_format == "channels_last":
        return (Ellipsis, channel)
    return (channel,) if x_ndim == 3 else (slice(None), channel)


def _preprocess_numpy(x: np.ndarray, data_format: str, mode: str) -> np.ndarray:
    if not issubclass(x.dtype.type, np.floating):
        x = x.astype(backend.floatx(), copy=False)
    if mode == "tf":
        x /= 127.5
        x -= 1.0
        return x
    if mode == "torch":
        x /= 255.0
        mean, std = TORCH_MEAN_RGB, TORCH_STD_RGB
    else:
        x = x[..., ::-1] if data_format == "channels_last" else (x[::-1] if x.ndim == 3 else x[:, ::-1])
        mean, std = CAFFE_MEAN_BGR, None
    # Channel by channel, as Keras does, so float16/float64 arrays see the same roundings.
    for c in range(3):
        index = _channel_index(x.ndim, data_format, c)
        x[index] -= mean[c]
        if std is not None:
            x[index] /= std[c]
    return x


def _preprocess_tensor(x, data_format: str, mode: str):
    x = torch.as_tensor(x)
    if not x.is_floating_point():
        x = x.to(backend.TORCH_DTYPES[backend.floatx()])
    if mode == "tf":
        return x / 127.5 - 1.0
    channel_axis = x.ndim - 1 if data_format == "channels_last" else (0 if x.ndim == 3 else 1)
    if mode == "torch":
        x = x / 255.0
        mean, std = TORCH_MEAN_RGB, TORCH_STD_RGB
    else:
        x = torch.flip(x, dims=(channel_axis,))
        mean, std = CAFFE_MEAN_BGR, None
    shape = [1] * x.ndim
    shape[channel_axis] = 3
    # Keras adds the negated mean in the tensor's dtype; same result as subtracting.
    x = x + (-torch.tensor(mean, dtype=torch.float64)).to(x.dtype).reshape(shape)
    if std is not None:
        x = x / torch.tensor(std, dtype=x.dtype).reshape(shape)
    return x


def _class_index(where: str) -> dict:
    path = fetch_keras_file(CLASS_INDEX_FNAME, CLASS_INDEX_PATH, CLASS_INDEX_HASH, where=where)
    if path not in _class_index_cache:
        try:
            with open(path, encoding="utf-8") as f:
                index = json.load(f)
        except (OSError, ValueError) as err:
            raise FileFormatError(f"{where}: cannot read the ImageNet class index '{path}' ({err}). Delete it so "
                                  "that it is downloaded again.") from err
        if not isinstance(index, dict):
            raise FileFormatError(f"{where}: '{path}' is not an ImageNet class index (a JSON object mapping "
                                  "'0'..'999' to [wnid, name]). Delete it so that it is downloaded again.")
        _class_index_cache[path] = index
    return _class_index_cache[path]


def decode_predictions(preds, top=5):
    """Turn ImageNet class probabilities into ``(class_id, class_name, score)`` tuples, best first.

    Args:
        preds: array or tensor of shape ``(samples, 1000)``.
        top: how many classes to return per sample.

    Returns:
        One list per sample of ``(wnid, description, score)`` tuples, highest score first.

    Example:
        >>> decode_predictions(model.predict(x), top=3)[0]  # doctest: +SKIP
        [('n02504458', 'African_elephant', 0.82), ...]
    """
    shape = tuple(preds.shape)
    if len(shape) != 2 or shape[1] != 1000:
        raise ShapeError("decode_predictions expects a batch of ImageNet predictions, a 2-D array of shape "
                         "(samples, 1000); add the batch axis with preds[None] for a single image. "
                         f"Received: preds.shape={shape}")
    index = _class_index("decode_predictions")
    if isinstance(preds, torch.Tensor):
        preds = preds.detach().cpu().numpy()
    preds = np.asarray(preds)
    results = []
    for pred in preds:
        top_indices = pred.argsort()[-top:][::-1]
        result = [tuple(index[str(i)]) + (pred[i],) for i in top_indices]
        result.sort(key=lambda r: r[2], reverse=True)
        results.append(result)
    return results


def obtain_input_shape(input_shape, default_size, min_size, data_format, require_flatten, weights=None):
    """Work out and check a model's input shape (Keras's ``imagenet_utils.obtain_input_shape``).

    Args:
        input_shape: None (the default shape) or the user's shape of one image.
        default_size: the model's default height and width.
        min_size: the smallest height/width the model accepts.
        data_format: ``"channels_last"`` or ``"channels_first"``.
        require_flatten: True when a classifier needs a fixed size (``include_top``).
        weights: None, ``"imagenet"`` or a path; ``"imagenet"`` needs 3 channels.

    Returns:
        A shape tuple of one image, with None for unknown sizes.
    """
    if input_shape is not None:
        input_shape = tuple(input_shape)
    channels_first = data_format == "channels_first"
    if weights != "imagenet" and input_shape and len(input_shape) == 3:
        channels = input_shape[0] if channels_first else input_shape[-1]
        if channels not in {1, 3}:
            warnings.warn(f"This model usually expects 1 or 3 input channels. However, it was passed an "
                          f"input_shape with {channels} input channels.", stacklevel=3)
        default_shape = ((input_shape[0], default_size, default_size) if channels_first
                         else (default_size, default_size, input_shape[-1]))
    else:
        default_shape = (3, default_size, default_size) if channels_first else (default_size, default_size, 3)

    if weights == "imagenet" and require_flatten:
        if input_shape is not None and input_shape != default_shape:
            raise ShapeError(f"With include_top=True and weights='imagenet', input_shape must be {default_shape} "
                             "(the size the classifier was trained at). For another size, pass include_top=False. "
                             f"Received: input_shape={input_shape}")
        return default_shape

    if input_shape:
        if len(input_shape) != 3:
            raise ShapeError("input_shape must be a tuple of three integers, (height, width, channels). "
                             f"Received: input_shape={input_shape}")
        channels = input_shape[0] if channels_first else input_shape[-1]
        if channels != 3 and weights == "imagenet":
            raise ShapeError("With weights='imagenet' the input must have 3 channels (RGB). "
                             f"Received: input_shape={input_shape}")
        spatial = input_shape[1:] if channels_first else input_shape[:2]
        if any(size is not None and size < min_size for size in spatial):
            raise ShapeError(f"Input size must be at least {min_size}x{min_size} for this model. "
                             f"Received: input_shape={input_shape}")
    elif require_flatten:
        input_shape = default_shape
    else:
        input_shape = (3, None, None) if channels_first else (None, None, 3)

    if require_flatten and None in input_shape:
        raise ShapeError("With include_top=True, input_shape must be fully known (no None): the classifier needs "
                         f"a fixed size. Received: input_shape={input_shape}")
    return input_shape


def correct_pad(inputs, kernel_size):
    """The ``ZeroPadding2D`` padding that makes a strided "valid" convolution centred (Keras's ``correct_pad``)."""
    img_dim = 2 if image_data_format() == "channels_first" else 1
    input_size = inputs.shape[img_dim:img_dim + 2]
    if isinstance(kernel_size, int):
        kernel_size = (kernel_size, kernel_size)
    adjust = (1, 1) if input_size[0] is None else (1 - input_size[0] % 2, 1 - input_size[1] % 2)
    correct = (kernel_size[0] // 2, kernel_size[1] // 2)
    return ((correct[0] - adjust[0], correct[0]), (correct[1] - adjust[1], correct[1]))


def validate_activation(classifier_activation, weights):
    """Pretrained classifiers take only ``"softmax"`` or None (Keras's ``imagenet_utils.validate_activation``)."""
    validate_classifier_activation(classifier_activation, weights, where="classifier")
