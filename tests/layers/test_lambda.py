"""Lambda: a function as a layer, in memory (eager, symbolic, Sequential, functional, fit) and its config."""

import warnings

import numpy as np
import pytest
import torch
from layer_test_helper import run_layer_test

import cnnlab
from cnnlab import layers
from cnnlab.errors import ArgumentTypeError, ConfigError, FileFormatError, ShapeError


def double(x):
    return x * 2


def scale(x, factor=1.0):
    return x * factor


def halves(x):
    return [x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]]


def noisy(x, training=None):
    return x + 1.0 if training else x


def _random(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


class _LambdaWithObjects(layers.Lambda):
    """Lambda whose from_config gets the custom_objects a user passes to load_model."""

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return super().from_config(config, custom_objects={"double": double, "scale": scale})


@pytest.mark.parametrize("kwargs, input_shape, output_shape", [
    ({"function": double}, (2, 4, 4, 3), (2, 4, 4, 3)),
    ({"function": scale, "arguments": {"factor": 3.0}}, (2, 5), (2, 5)),
    ({"function": double, "output_shape": (5,)}, (2, 5), (2, 5)),
])
def test_lambda_passes_the_shared_layer_test(kwargs, input_shape, output_shape):
    run_layer_test(_LambdaWithObjects, kwargs, input_shape, output_shape)


def test_lambda_applies_the_function_with_its_arguments():
    x = _random((2, 3))
    np.testing.assert_allclose(layers.Lambda(scale, arguments={"factor": -0.5})(x).numpy(), x * -0.5, rtol=1e-6)


def test_lambda_takes_a_list_of_inputs_and_returns_several_outputs():
    a, b = _random((2, 3), 0), _random((2, 3), 1)
    np.testing.assert_allclose(layers.Lambda(lambda xs: xs[0] * xs[1])([a, b]).numpy(), a * b, rtol=1e-6)
    first, second = layers.Lambda(halves)(layers.Input((6,)))
    assert first.shape == second.shape == (None, 3)


def test_lambda_infers_the_output_shape_with_unknown_axes_as_none():
    out = layers.Lambda(lambda x: x.reshape(x.shape[0], -1, 2))(layers.Input((None, 4)))
    assert out.shape == (None, None, 2)
    pooled = layers.Lambda(lambda x: torch.mean(x, dim=(1, 2)))(layers.Input((7, 7, 5)))
    assert pooled.shape == (None, 5)


def test_lambda_output_shape_tuple_excludes_the_batch_and_a_function_gets_the_full_shape():
    assert layers.Lambda(double, output_shape=(3, 2)).compute_output_shape((None, 6)) == (None, 3, 2)
    layer = layers.Lambda(double, output_shape=lambda s: (s[0], s[1] * 2))
    assert layer(layers.Input((4,))).shape == (None, 8)


def test_lambda_gets_the_training_flag_when_the_function_takes_it():
    x = np.zeros((1, 2), np.float32)
    layer = layers.Lambda(noisy)
    assert layer(x).numpy().tolist() == [[0.0, 0.0]]
    assert layer(x, training=True).numpy().tolist() == [[1.0, 1.0]]


def test_lambda_works_in_sequential_and_functional_models_and_trains():
    model = cnnlab.Sequential([layers.Input((4,)), layers.Dense(3), layers.Lambda(torch.tanh), layers.Dense(1)])
    inputs = layers.Input((4,))
    joined = layers.Lambda(lambda xs: torch.cat(xs, dim=-1))([layers.Dense(2)(inputs), inputs])
    functional = cnnlab.Model(inputs, layers.Dense(1)(joined))
    x, y = _random((16, 4), 0), _random((16, 1), 1)
    for m in (model, functional):
        m.compile(optimizer="sgd", loss="mse")
        history = m.fit(x, y, epochs=2, verbose=0)
        assert np.isfinite(history.history["loss"]).all()
        assert m.predict(x, verbose=0).shape == (16, 1)
    assert functional.layers[-2].output.shape == (None, 6)


def test_lambda_config_records_the_function_name_not_its_code():
    config = layers.Lambda(scale, output_shape=(5,), arguments={"factor": np.array([1.0, 2.0])}).get_config()
    assert config["function"] == {"module": __name__, "class_name": "function", "config": "scale",
                                  "registered_name": "scale"}
    assert config["output_shape"] == [5]
    assert config["arguments"] == {"factor": {"class_name": "__numpy__",
                                              "config": {"value": [1.0, 2.0], "dtype": "float64"}}}
    restored = layers.Lambda.from_config(config, custom_objects={"scale": scale})
    np.testing.assert_array_equal(restored.arguments["factor"], [1.0, 2.0])
    assert restored.function is scale and restored.compute_output_shape((None, 5)) == (None, 5)


def test_anonymous_lambda_warns_once_when_its_config_is_written():
    layer = layers.Lambda(lambda x: x + 1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        layer.get_config()
        layer.get_config()
    assert len(caught) == 1
    assert "anonymous lambda, which cannot be saved" in str(caught[0].message)
    assert "def" in str(caught[0].message) and "custom_objects" in str(caught[0].message)


def test_from_config_without_the_function_says_how_to_pass_it():
    config = layers.Lambda(double, name="doubler").get_config()
    with pytest.raises(FileFormatError, match=r"Lambda 'doubler' calls the function 'double'.*"
                                              r"custom_objects=\{'double': double\}"):
        layers.Lambda.from_config(config)


def test_from_config_of_an_anonymous_lambda_says_to_use_def():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        config = layers.Lambda(lambda x: x, name="shift").get_config()
    with pytest.raises(FileFormatError, match=r"Lambda 'shift': its function was an anonymous lambda.*def.*"
                                              r"custom_objects=\{'shift': my_fn\}"):
        layers.Lambda.from_config(config)


def test_lambda_refuses_what_is_not_callable():
    with pytest.raises(ArgumentTypeError, match=r"function must be callable.*Received: function=3"):
        layers.Lambda(3)


def test_lambda_refuses_arguments_that_are_not_a_dict():
    with pytest.raises(ConfigError, match=r"arguments must be a dict.*Received: arguments=\[2\]"):
        layers.Lambda(scale, arguments=[2])


def test_lambda_refuses_a_malformed_output_shape():
    with pytest.raises(ConfigError, match=r"output_shape is the output shape without the batch axis"):
        layers.Lambda(double, output_shape="big")


def test_lambda_whose_function_fails_on_the_dummy_names_the_function_and_the_fix():
    def needs_three(x):
        return x.reshape(x.shape[0], 3)

    with pytest.raises(ShapeError, match=r"Lambda 'lambda': running the function 'needs_three' on a dummy input.*"
                                         r"output_shape="):
        layers.Lambda(needs_three)(layers.Input((4,)))


def test_lambda_whose_function_returns_no_tensor_says_so():
    with pytest.raises(ShapeError, match=r"must return a tensor or a list of tensors. Received: a str"):
        layers.Lambda(lambda x: "oops")(layers.Input((4,)))


def test_unsavable_argument_value_is_refused_at_save_time():
    with pytest.raises(ConfigError, match="cannot save the argument value"):
        layers.Lambda(scale, arguments={"factor": object()}).get_config()
