"""Activations against NumPy formulas, plus lookup and (de)serialisation."""

import math

import numpy as np
import pytest
import torch

from cnnlab import activations
from cnnlab.errors import ArgumentTypeError, ConfigError, ShapeError, UnknownNameError

X = np.linspace(-7.0, 7.0, 57)  # includes 0, ±3, ±6 exactly (step 0.25)


def _np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _np_softplus(x):
    return np.log1p(np.exp(x))


_ERF = np.vectorize(math.erf)

REFERENCES = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0.0),
    "relu6": lambda x: np.clip(x, 0.0, 6.0),
    "leaky_relu": lambda x: np.where(x >= 0, x, 0.2 * x),
    "sigmoid": _np_sigmoid,
    "tanh": np.tanh,
    "elu": lambda x: np.where(x > 0, x, np.exp(x) - 1.0),
    "selu": lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * (np.exp(x) - 1.0)),
    "gelu": lambda x: 0.5 * x * (1.0 + _ERF(x / np.sqrt(2.0))),
    "silu": lambda x: x * _np_sigmoid(x),
    "swish": lambda x: x * _np_sigmoid(x),
    "softplus": _np_softplus,
    "softsign": lambda x: x / (np.abs(x) + 1.0),
    "hard_sigmoid": lambda x: np.clip(x / 6.0 + 0.5, 0.0, 1.0),
    "hard_silu": lambda x: x * np.clip(x / 6.0 + 0.5, 0.0, 1.0),
    "exponential": np.exp,
    "mish": lambda x: x * np.tanh(_np_softplus(x)),
    "log_sigmoid": lambda x: -_np_softplus(-x),
    "hard_swish": lambda x: x * np.clip(x / 6.0 + 0.5, 0.0, 1.0),
    "celu": lambda x: np.maximum(x, 0.0) + np.expm1(np.minimum(x, 0.0)),
    "hard_tanh": lambda x: np.clip(x, -1.0, 1.0),
    "hard_shrink": lambda x: np.where(np.abs(x) > 0.5, x, 0.0),
    "soft_shrink": lambda x: np.where(x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, 0.0)),
    "tanh_shrink": lambda x: x - np.tanh(x),
    "sparse_plus": lambda x: np.where(x <= -1, 0.0, np.where(x < 1, (x + 1) ** 2 / 4, x)),
    "sparse_sigmoid": lambda x: np.where(x <= -1, 0.0, np.where(x >= 1, 1.0, (x + 1) / 2)),
    "squareplus": lambda x: (x + np.sqrt(x**2 + 4)) / 2,
}
# Take an axis (so not elementwise) or required arguments: tested one by one below.
NOT_ELEMENTWISE = {"softmax", "log_softmax", "glu", "sparsemax", "threshold"}


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_activation_matches_numpy_formula(name):
    got = activations.get(name)(torch.tensor(X, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(got, REFERENCES[name](X), rtol=1e-10, atol=1e-12)


def test_gelu_approximate_uses_tanh_form():
    expected = 0.5 * X * (1 + np.tanh(np.sqrt(2 / np.pi) * (X + 0.044715 * X**3)))
    got = activations.gelu(torch.tensor(X), approximate=True).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_gelu_default_is_exact_erf_form_not_tanh():
    x = torch.tensor([1.5], dtype=torch.float64)
    exact = 0.5 * 1.5 * (1 + math.erf(1.5 / math.sqrt(2)))
    assert activations.gelu(x).item() == pytest.approx(exact, abs=1e-12)
    assert activations.gelu(x, approximate=True).item() != pytest.approx(exact, abs=1e-6)


def test_softmax_rows_sum_to_one_and_match_numpy():
    logits = np.random.default_rng(0).normal(size=(4, 5))
    expected = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
    got = activations.softmax(torch.tensor(logits)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    np.testing.assert_allclose(activations.log_softmax(torch.tensor(logits)).numpy(), np.log(expected), rtol=1e-10)


def test_softmax_axis_argument_selects_axis():
    logits = np.random.default_rng(1).normal(size=(3, 4))
    expected = np.exp(logits) / np.exp(logits).sum(axis=0, keepdims=True)
    np.testing.assert_allclose(activations.softmax(torch.tensor(logits), axis=0).numpy(), expected, rtol=1e-12)


def test_elu_alpha_scales_negative_part():
    got = activations.elu(torch.tensor([-1.0], dtype=torch.float64), alpha=2.0).item()
    assert got == pytest.approx(2.0 * (math.exp(-1.0) - 1.0))


def test_leaky_relu_default_slope_is_keras3_point_two():
    assert activations.leaky_relu(torch.tensor([-10.0])).item() == pytest.approx(-2.0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"negative_slope": 0.1},
        {"max_value": 6.0},
        {"max_value": 2.5},
        {"threshold": 1.0},
        {"negative_slope": 0.1, "max_value": 3.0},
        {"negative_slope": 0.3, "threshold": 1.0},
        {"negative_slope": 0.3, "threshold": -1.0, "max_value": 4.0},
    ],
)
def test_relu_options_follow_keras_piecewise_formula(kwargs):
    slope = kwargs.get("negative_slope", 0.0)
    cap = kwargs.get("max_value", np.inf)
    thr = kwargs.get("threshold", 0.0)
    # Keras: values above the threshold pass (capped at max_value); the rest become slope * (x - threshold).
    expected = np.where(X > thr, np.minimum(X, cap), 0.0) + np.where(X > thr, 0.0, slope * (X - thr))
    got = activations.relu(torch.tensor(X), **kwargs).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_get_none_is_linear_and_names_are_case_insensitive():
    assert activations.get(None) is activations.linear
    assert activations.get("ReLU") is activations.relu
    assert activations.get("  Softmax ") is activations.softmax


def test_get_returns_callable_unchanged():
    def custom(x):
        return x * 2

    assert activations.get(custom) is custom


def test_swish_is_alias_of_silu_and_serialises_as_silu():
    assert activations.get("swish") is activations.silu
    assert activations.serialize(activations.get("swish")) == "silu"


def test_function_names_are_keras_names():
    for name in ("relu", "softmax", "sigmoid", "leaky_relu", "hard_sigmoid", "linear"):
        assert activations.get(name).__name__ == name


def test_unknown_name_suggests_closest():
    with pytest.raises(UnknownNameError, match=r"Did you mean 'relu'\?.*Received: activation='rellu'"):
        activations.get("rellu")


def test_quoted_none_suggests_none_without_quotes():
    with pytest.raises(UnknownNameError, match="pass None \\(without quotes\\) or 'linear'"):
        activations.get("None")


def test_get_rejects_non_callable():
    with pytest.raises(ArgumentTypeError, match="Received: activation=3"):
        activations.get(3)


def test_serialize_round_trip_for_every_builtin():
    for name in activations.names():
        fn = activations.get(name)
        assert activations.deserialize(activations.serialize(fn)) is fn


def test_serialize_custom_function_says_custom_objects():
    def my_act(x):
        return x

    with pytest.raises(ConfigError, match="custom_objects"):
        activations.serialize(my_act)


def test_deserialize_uses_custom_objects_and_only_own_table():
    def my_act(x):
        return x

    assert activations.deserialize("my_act", custom_objects={"my_act": my_act}) is my_act
    with pytest.raises(UnknownNameError):
        activations.deserialize("os.system")


def test_every_name_has_a_numpy_reference_or_its_own_test():
    assert set(activations.names()) == set(REFERENCES) | NOT_ELEMENTWISE


@pytest.mark.parametrize("name, kwargs, expected", [
    ("celu", {"alpha": 2.0}, lambda x: np.maximum(x, 0) + 2.0 * np.expm1(np.minimum(x, 0) / 2.0)),
    ("hard_shrink", {"threshold": 2.0}, lambda x: np.where(np.abs(x) > 2.0, x, 0.0)),
    ("soft_shrink", {"threshold": 1.0}, lambda x: np.sign(x) * np.maximum(np.abs(x) - 1.0, 0.0)),
    ("squareplus", {"b": 1.0}, lambda x: (x + np.sqrt(x**2 + 1.0)) / 2),
])
def test_keyword_arguments_change_the_formula(name, kwargs, expected):
    got = activations.get(name)(torch.tensor(X), **kwargs).numpy()
    np.testing.assert_allclose(got, expected(X), rtol=1e-10, atol=1e-12)


def test_threshold_keeps_values_above_and_replaces_the_rest():
    got = activations.threshold(torch.tensor(X), 1.0, -5.0).numpy()
    np.testing.assert_allclose(got, np.where(X > 1.0, X, -5.0))


def test_threshold_needs_both_arguments_like_keras():
    with pytest.raises(TypeError):
        activations.get("threshold")(torch.tensor(X))


def test_glu_gates_first_half_with_sigmoid_of_second():
    x = np.random.default_rng(2).normal(size=(3, 8))
    expected = x[:, :4] * _np_sigmoid(x[:, 4:])
    np.testing.assert_allclose(activations.glu(torch.tensor(x)).numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(activations.glu(torch.tensor(x.T), axis=0).numpy(), expected.T, rtol=1e-12)


def test_glu_on_odd_axis_says_it_must_be_even():
    with pytest.raises(ShapeError, match=r"must be even.*Received: axis=-1"):
        activations.glu(torch.zeros(2, 5))


def _np_sparsemax(z):
    """Martins & Astudillo (2016), Algorithm 1, one row at a time."""
    out = np.zeros_like(z)
    for i, row in enumerate(z):
        s = np.sort(row)[::-1]
        cumsum = np.cumsum(s)
        k = max(j for j in range(1, len(s) + 1) if 1 + j * s[j - 1] > cumsum[j - 1])
        out[i] = np.maximum(row - (cumsum[k - 1] - 1) / k, 0)
    return out


def test_sparsemax_is_the_projection_onto_the_simplex():
    z = np.random.default_rng(3).normal(size=(6, 7))
    got = activations.sparsemax(torch.tensor(z)).numpy()
    np.testing.assert_allclose(got, _np_sparsemax(z), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got.sum(axis=-1), 1.0, rtol=1e-10)
    assert (got == 0).any()  # sparse, unlike softmax


def test_sparsemax_axis_argument_selects_axis():
    z = np.random.default_rng(4).normal(size=(5, 3))
    got = activations.sparsemax(torch.tensor(z), axis=0).numpy()
    np.testing.assert_allclose(got, _np_sparsemax(z.T).T, rtol=1e-10, atol=1e-12)


def test_sparsemax_with_several_kept_entries_matches_hand_worked_values():
    # sorted [1, 0.5, 0]: entries 1 and 0.5 are kept, tau = (1 + 0.5 - 1) / 2 = 0.25.
    got = activations.sparsemax(torch.tensor([[0.0, 0.5, 1.0]], dtype=torch.float64)).numpy()
    np.testing.assert_allclose(got, [[0.0, 0.25, 0.75]], atol=1e-12)


def test_hard_swish_alias_serialises_as_hard_silu():
    assert activations.get("hard_swish") is activations.hard_silu
    assert activations.serialize(activations.get("hard_swish")) == "hard_silu"


def test_keras_function_form_is_accepted_by_get_and_deserialize():
    saved = {"module": "keras.activations", "class_name": "function", "config": "celu", "registered_name": "celu"}
    assert activations.get(saved) is activations.celu
    assert activations.deserialize(saved) is activations.celu


def test_keras_object_form_that_is_not_a_function_is_refused():
    with pytest.raises(ConfigError, match="Received: activation="):
        activations.deserialize({"class_name": "Lambda", "config": {"code": "..."}})


@pytest.mark.parametrize("name", ["celu", "glu", "sparsemax", "squareplus", "hard_tanh"])
def test_new_names_work_as_layer_activation_and_survive_config(name):
    from cnnlab import layers

    dense = layers.Dense(4, activation=name)
    act = layers.Activation(name)
    assert dense.get_config()["activation"] == name == act.get_config()["activation"]
    assert layers.Dense.from_config(dense.get_config()).activation is activations.get(name)
