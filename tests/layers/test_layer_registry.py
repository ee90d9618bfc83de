"""Every public layer passes the shared layer test; a new layer is covered by adding one line."""

import inspect

import pytest
import registry_cases
from layer_test_helper import run_layer_test

from cnnlab import layers
from cnnlab.layers.base import Layer

# (class, kwargs, input shape, output shape, options)
# Options: "w" = shapes of layer.weights in order (Keras layouts), "nt" = how many of
# them are non-trainable, "differs" = training output differs from inference.
LAYER_CASES = [
    (layers.Conv2D, {"filters": 4, "kernel_size": 3}, (2, 8, 8, 3), (2, 6, 6, 4),
     {"w": [(3, 3, 3, 4), (4,)]}),
    (layers.Conv2D, {"filters": 4, "kernel_size": (3, 2), "strides": 2, "padding": "same", "use_bias": False,
                     "activation": "relu"}, (2, 7, 8, 3), (2, 4, 4, 4), {"w": [(3, 2, 3, 4)]}),
    (layers.Conv2D, {"filters": 6, "kernel_size": 3, "groups": 3, "data_format": "channels_first"},
     (2, 3, 8, 8), (2, 6, 6, 6), {"w": [(3, 3, 1, 6), (6,)]}),
    (layers.Convolution2D, {"filters": 2, "kernel_size": 3, "dilation_rate": 2}, (1, 9, 9, 1), (1, 5, 5, 2),
     {"w": [(3, 3, 1, 2), (2,)]}),
    (layers.MaxPooling2D, {}, (2, 8, 8, 3), (2, 4, 4, 3), {}),
    (layers.MaxPool2D, {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 7, 7, 3), (2, 4, 4, 3), {}),
    (layers.AveragePooling2D, {"pool_size": 3}, (2, 28, 28, 2), (2, 9, 9, 2), {}),
    (layers.AvgPool2D, {"pool_size": 2, "data_format": "channels_first"}, (2, 3, 6, 6), (2, 3, 3, 3), {}),
    (layers.GlobalAveragePooling2D, {}, (2, 5, 5, 3), (2, 3), {}),
    (layers.GlobalAvgPool2D, {"keepdims": True}, (2, 5, 5, 3), (2, 1, 1, 3), {}),
    (layers.GlobalMaxPooling2D, {}, (2, 5, 5, 3), (2, 3), {}),
    (layers.GlobalMaxPool2D, {"data_format": "channels_first"}, (2, 3, 5, 5), (2, 3), {}),
    (layers.Flatten, {}, (2, 4, 4, 3), (2, 48), {}),
    (layers.Dense, {"units": 5}, (2, 7), (2, 5), {"w": [(7, 5), (5,)]}),
    (layers.Dense, {"units": 5, "activation": "softmax", "use_bias": False}, (2, 3, 3, 7), (2, 3, 3, 5),
     {"w": [(7, 5)]}),
    (layers.Dropout, {"rate": 0.5}, (4, 64), (4, 64), {"differs": True}),
    (layers.BatchNormalization, {}, (4, 5, 5, 3), (4, 5, 5, 3),
     {"w": [(3,), (3,), (3,), (3,)], "nt": 2, "differs": True}),
    (layers.BatchNormalization, {"axis": 1, "center": False}, (4, 3, 5, 5), (4, 3, 5, 5),
     {"w": [(3,), (3,), (3,)], "nt": 2, "differs": True}),
    (layers.ReLU, {}, (2, 6), (2, 6), {}),
    (layers.ReLU, {"max_value": 1.0, "negative_slope": 0.1, "threshold": 0.5}, (2, 6), (2, 6), {}),
    (layers.LeakyReLU, {}, (2, 6), (2, 6), {}),
    (layers.Softmax, {"axis": 1}, (2, 4, 3), (2, 4, 3), {}),
    (layers.Activation, {"activation": "tanh"}, (2, 6), (2, 6), {}),
    (layers.ZeroPadding2D, {"padding": ((1, 2), (0, 3))}, (2, 4, 4, 3), (2, 7, 7, 3), {}),
    (layers.Reshape, {"target_shape": (4, -1)}, (2, 4, 4, 3), (2, 4, 12), {}),
    (layers.Rescaling, {"scale": 1 / 255, "offset": -0.5}, (2, 4, 4, 3), (2, 4, 4, 3), {}),
    (layers.Add, {}, [(2, 4, 4, 3), (2, 4, 4, 3), (2, 4, 4, 3)], (2, 4, 4, 3), {}),
    (layers.Concatenate, {}, [(2, 4, 4, 3), (2, 4, 4, 5)], (2, 4, 4, 8), {}),
    (layers.Concatenate, {"axis": 1}, [(2, 4, 3), (2, 2, 3)], (2, 6, 3), {}),
] + registry_cases.CASES

# Public names that are not layers one instantiates on data (each with its reason).
NOT_DATA_LAYERS = {
    "Input": "a function returning a symbolic tensor; covered in tests/models",
    "InputLayer": "holds the input shape of a model; covered in tests/models",
    "InputSpec": "not a layer",
    "Layer": "the abstract base class",
    "Variable": "not a layer",
    "TorchModule": "wraps an nn.Module (no config round trip); covered in tests/layers/test_torch_module.py",
    **registry_cases.NOT_DATA_LAYERS,
}


def _case_id(case):
    cls, kwargs, *_ = case
    return f"{cls.__name__}-{'-'.join(f'{k}={v}' for k, v in kwargs.items()) or 'default'}"


@pytest.mark.parametrize("case", LAYER_CASES, ids=[_case_id(c) for c in LAYER_CASES])
def test_layer_passes_shared_layer_test(case):
    cls, kwargs, input_shape, output_shape, options = case
    shapes = options.get("w", [])
    non_trainable = options.get("nt", 0)
    run_layer_test(
        cls, kwargs, input_shape, output_shape,
        expected_trainable_weights=len(shapes) - non_trainable,
        expected_non_trainable_weights=non_trainable,
        expected_weight_shapes=shapes,
        differs_in_training=options.get("differs", False),
    )


def test_every_public_layer_name_has_a_registry_case():
    tested = {cls for cls, *_ in LAYER_CASES}
    for name in layers.__all__:
        if name in NOT_DATA_LAYERS:
            continue
        obj = getattr(layers, name)
        assert inspect.isclass(obj) and issubclass(obj, Layer), f"layers.{name} is not a Layer class"
        assert obj in tested, f"layers.{name} has no line in LAYER_CASES"
