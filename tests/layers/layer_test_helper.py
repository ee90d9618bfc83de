"""The shared layer test: one call runs the checks every layer must pass.

``run_layer_test(Conv2D, {"filters": 4, "kernel_size": 3}, (2, 8, 8, 3), (2, 6, 6, 4))``
checks that the layer

- is a ``torch.nn.Module`` (and a cnnlab ``Layer``);
- gives ``expected_output_shape`` on a NumPy array and ``(None, ...)`` on a
  symbolic ``Input``, and that ``compute_output_shape`` agrees with both;
- has the expected number of trainable / non-trainable weights, in the given
  Keras layouts, and ``get_weights`` returns NumPy arrays of those shapes;
- has a JSON-serialisable config, and ``from_config(get_config())`` rebuilds a
  layer with an equal config that, after ``set_weights(get_weights())``, gives
  the same output;
- gives the same output in training and inference mode, except for layers
  flagged ``differs_in_training`` (Dropout, BatchNormalization), where the two
  must differ;
- accepts float64 and uint8 NumPy input (the values of a float32 copy) and
  torch tensors, and returns a float32 torch tensor (or, as Keras's Resizing
  does, uint8 images rounded to uint8).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from cnnlab import layers as layers_mod
from cnnlab.layers.base import Layer

Shape = tuple[int, ...]


def run_layer_test(
    layer_cls: type,
    kwargs: dict,
    input_shape: Shape | list[Shape],
    expected_output_shape: Shape,
    *,
    expected_trainable_weights: int = 0,
    expected_non_trainable_weights: int = 0,
    expected_weight_shapes: Sequence[Shape] | None = None,
    differs_in_training: bool = False,
    seed: int = 0,
) -> Layer:
    """Run the shared checks on ``layer_cls(**kwargs)``; return the built layer.

    Args:
        layer_cls: the layer class.
        kwargs: constructor arguments.
        input_shape: a full input shape with a concrete batch size, e.g.
            ``(2, 8, 8, 3)``, or a list of them for merge layers.
        expected_output_shape: the output shape for that input, batch included.
        expected_trainable_weights: how many trainable weight tensors.
        expected_non_trainable_weights: how many non-trainable weight tensors.
        expected_weight_shapes: shapes of ``layer.weights`` in order (Keras layouts).
        differs_in_training: True for layers whose training output differs.
        seed: seed for the test data.
    """
    data = _make_data(input_shape, seed)

    layer = layer_cls(**kwargs)
    assert isinstance(layer, nn.Module) and isinstance(layer, Layer)

    output = _check_eager_shapes(layer, data, input_shape, expected_output_shape)
    _check_symbolic_shape(layer_cls, kwargs, input_shape, expected_output_shape)
    _check_weights(layer, expected_trainable_weights, expected_non_trainable_weights, expected_weight_shapes)
    _check_config_round_trip(layer, data)
    _check_input_dtypes(layer, input_shape, seed)
    _check_training_flag(layer, data, differs_in_training)
    return layer


def _make_data(input_shape, seed: int):
    rng = np.random.default_rng(seed)
    if isinstance(input_shape, list):
        return [rng.standard_normal(s).astype(np.float32) for s in input_shape]
    return rng.standard_normal(input_shape).astype(np.float32)


def _symbolic_inputs(input_shape):
    if isinstance(input_shape, list):
        return [layers_mod.Input(shape=s[1:]) for s in input_shape]
    return layers_mod.Input(shape=input_shape[1:])


def _unbatched(shape) -> Shape:
    return (None,) + tuple(shape[1:])


def _numpy(value) -> np.ndarray:
    return value.detach().cpu().numpy()


def _call(layer: Layer, data, **kwargs) -> torch.Tensor:
    with torch.no_grad():
        return layer(data, **kwargs)


def _check_eager_shapes(layer: Layer, data, input_shape, expected_output_shape) -> torch.Tensor:
    output = _call(layer, data)
    assert isinstance(output, torch.Tensor), f"output is {type(output).__name__}, not a torch.Tensor"
    assert output.dtype == torch.float32
    assert tuple(output.shape) == tuple(expected_output_shape)
    computed = layer.compute_output_shape(input_shape)
    assert tuple(computed[1:]) == tuple(output.shape[1:]), f"compute_output_shape {computed} vs call {output.shape}"
    unbatched = [_unbatched(s) for s in input_shape] if isinstance(input_shape, list) else _unbatched(input_shape)
    assert tuple(layer.compute_output_shape(unbatched)) == _unbatched(expected_output_shape)
    return output


def _check_symbolic_shape(layer_cls, kwargs, input_shape, expected_output_shape) -> None:
    fresh = layer_cls(**kwargs)
    symbolic = fresh(_symbolic_inputs(input_shape))
    assert symbolic.shape == _unbatched(expected_output_shape)
    assert fresh.output.shape == _unbatched(expected_output_shape)
    assert fresh.built


def _check_weights(layer: Layer, trainable: int, non_trainable: int, shapes) -> None:
    assert len(layer.trainable_weights) == trainable
    assert len(layer.non_trainable_weights) == non_trainable
    assert len(layer.weights) == trainable + non_trainable
    arrays = layer.get_weights()
    assert all(isinstance(a, np.ndarray) for a in arrays)
    if shapes is not None:
        assert [tuple(w.shape) for w in layer.weights] == [tuple(s) for s in shapes]
        assert [a.shape for a in arrays] == [tuple(s) for s in shapes]
    assert layer.count_params() == sum(a.size for a in arrays)


def _check_config_round_trip(layer: Layer, data) -> None:
    config = layer.get_config()
    restored_config = json.loads(json.dumps(config))
    clone = type(layer).from_config(restored_config)
    assert clone is not layer
    # Compared as JSON: get_config returns tuples where Keras's does, and a JSON round trip makes them lists.
    assert json.loads(json.dumps(clone.get_config())) == restored_config
    _call(clone, data)  # builds the clone
    clone.set_weights(layer.get_weights())
    # training=False: the augmentation layers, like Keras's, augment when called with no training argument.
    clone_output = _call(clone, data, training=False)
    output = _call(layer, data, training=False)
    np.testing.assert_allclose(_numpy(clone_output), _numpy(output), rtol=1e-6, atol=1e-6)


def _check_input_dtypes(layer: Layer, input_shape, seed: int) -> None:
    rng = np.random.default_rng(seed + 1)
    shapes = input_shape if isinstance(input_shape, list) else [input_shape]
    as_uint8 = [rng.integers(0, 256, size=s).astype(np.uint8) for s in shapes]
    as_float64 = [rng.standard_normal(s) for s in shapes]
    for arrays in (as_uint8, as_float64):
        raw = arrays if isinstance(input_shape, list) else arrays[0]
        reference = [a.astype(np.float32) for a in arrays]
        reference = reference if isinstance(input_shape, list) else reference[0]
        got = _call(layer, raw, training=False)
        expected = _numpy(_call(layer, reference, training=False))
        if got.dtype == torch.uint8 and arrays[0].dtype == np.uint8:  # Keras's Resizing keeps integer images
            expected = np.clip(np.round(expected), 0, 255)
        else:
            assert got.dtype == torch.float32, f"{arrays[0].dtype} input gave {got.dtype}"
        np.testing.assert_allclose(_numpy(got), expected, rtol=1e-5, atol=1e-5)
    as_tensor = [torch.from_numpy(a.astype(np.float32)) for a in as_float64]
    got = _call(layer, as_tensor if isinstance(input_shape, list) else as_tensor[0])
    assert isinstance(got, torch.Tensor)


def _check_training_flag(layer: Layer, data, differs: bool) -> None:
    inference = _numpy(_call(layer, data, training=False))
    torch.manual_seed(0)
    training = _numpy(_call(layer, data, training=True))
    if differs:
        assert not np.allclose(training, inference), "expected the training output to differ from inference"
    else:
        np.testing.assert_allclose(training, inference, rtol=1e-6, atol=1e-6)
