"""The merge layers, their functional forms and Rescaling against NumPy."""

import numpy as np
import pytest

from cnnlab import layers
from cnnlab.errors import ConfigError, ShapeError

TOL = dict(rtol=1e-6, atol=1e-6)


def _random(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_add_sums_all_inputs():
    a, b, c = (_random((2, 4, 4, 3), s) for s in range(3))
    np.testing.assert_allclose(layers.Add()([a, b, c]).numpy(), a + b + c, **TOL)


@pytest.mark.parametrize("axis", [-1, 1, 2])
def test_concatenate_matches_numpy(axis):
    a, b = _random((2, 3, 4, 5), 0), _random((2, 3, 4, 5), 1)
    np.testing.assert_array_equal(layers.Concatenate(axis=axis)([a, b]).numpy(), np.concatenate([a, b], axis=axis))


def test_add_of_different_shapes_names_both_shapes():
    a, b = layers.Input((4, 4, 3)), layers.Input((4, 4, 5))
    with pytest.raises(ShapeError, match=r"Add 'add'.*\(None, 4, 4, 3\) and \(None, 4, 4, 5\)"):
        layers.Add()([a, b])


def test_merge_of_a_single_tensor_asks_for_a_list():
    with pytest.raises(ShapeError, match=r"Concatenate\(\)\(\[a, b\]\)"):
        layers.Concatenate()(layers.Input((4, 4, 3)))


def test_rescaling_multiplies_then_adds_offset():
    x = np.arange(0, 256, dtype=np.uint8).reshape(1, 16, 16, 1)
    got = layers.Rescaling(1 / 127.5, offset=-1)(x).numpy()
    np.testing.assert_allclose(got, x.astype(np.float64) / 127.5 - 1, rtol=1e-6, atol=1e-6)
    assert got.min() == -1 and got.max() == 1


# ------------------------------------------------------------------ references
def _dot_reference(x, y, axes, normalize=False):
    """Keras's batch dot, sample by sample with np.tensordot."""
    ax, ay = (axes, axes) if isinstance(axes, int) else axes
    ax, ay = ax % x.ndim, ay % y.ndim
    if normalize:
        x = x / np.maximum(np.linalg.norm(x, axis=ax, keepdims=True), 1e-7)
        y = y / np.maximum(np.linalg.norm(y, axis=ay, keepdims=True), 1e-7)
    out = np.stack([np.tensordot(x[i], y[i], axes=(ax - 1, ay - 1)) for i in range(len(x))])
    return out.reshape(len(x), 1) if out.ndim == 1 else out


ELEMENTWISE = [
    (layers.Add, layers.add, lambda xs: sum(xs[1:], xs[0])),
    (layers.Multiply, layers.multiply, lambda xs: np.prod(np.stack(xs), axis=0)),
    (layers.Average, layers.average, lambda xs: np.mean(np.stack(xs), axis=0)),
    (layers.Maximum, layers.maximum, lambda xs: np.max(np.stack(xs), axis=0)),
    (layers.Minimum, layers.minimum, lambda xs: np.min(np.stack(xs), axis=0)),
]


@pytest.mark.parametrize("layer_cls, _, reference", ELEMENTWISE, ids=[c[0].__name__ for c in ELEMENTWISE])
def test_elementwise_merge_matches_numpy(layer_cls, _, reference):
    xs = [_random((2, 4, 4, 3), s) for s in range(3)]
    np.testing.assert_allclose(layer_cls()(xs).numpy(), reference(xs), **TOL)


def test_subtract_takes_first_minus_second():
    a, b = _random((2, 5), 0), _random((2, 5), 1)
    np.testing.assert_allclose(layers.Subtract()([a, b]).numpy(), a - b, **TOL)


@pytest.mark.parametrize("layer_cls, _, reference", ELEMENTWISE, ids=[c[0].__name__ for c in ELEMENTWISE])
def test_elementwise_merge_broadcasts_like_keras(layer_cls, _, reference):
    # Keras inserts the missing axes after the batch axis, i.e. NumPy broadcasting of the sample shapes.
    a, b = _random((2, 3), 0), _random((2, 4, 3), 1)
    got = layer_cls()([a, b]).numpy()
    np.testing.assert_allclose(got, reference([np.broadcast_to(a[:, None, :], b.shape), b]), **TOL)
    assert layer_cls().compute_output_shape([(None, 3), (None, 4, 3)]) == (None, 4, 3)


def test_merge_shape_keeps_unknown_sizes_and_the_known_batch():
    assert layers.Add().compute_output_shape([(None, None, 3), (None, 5, 3)]) == (None, None, 3)
    assert layers.Maximum().compute_output_shape([(8, 1, 3), (None, 5, 3)]) == (8, 5, 3)


@pytest.mark.parametrize("axes, shapes", [
    (1, [(3, 5), (3, 5)]),
    (-1, [(3, 4, 6), (3, 2, 6)]),
    ((1, 2), [(3, 4, 5), (3, 6, 4)]),
    ((2, 1), [(3, 4, 5), (3, 5, 2, 3)]),
    ((1, 1), [(3, 4), (3, 4, 7)]),
    ((-2, -1), [(3, 5, 4, 2), (3, 4)]),
])
@pytest.mark.parametrize("normalize", [False, True])
def test_dot_matches_numpy_batch_dot(axes, shapes, normalize):
    x, y = _random(shapes[0], 0), _random(shapes[1], 1)
    layer = layers.Dot(axes=axes, normalize=normalize)
    expected = _dot_reference(x, y, axes, normalize)
    got = layer([x, y])
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-5)
    assert layer.compute_output_shape([(None,) + s[1:] for s in shapes]) == (None,) + expected.shape[1:]


def test_dot_normalize_gives_cosine_similarity():
    x, y = np.array([[3.0, 4.0]], np.float32), np.array([[4.0, 3.0]], np.float32)
    # cos = (3*4 + 4*3) / (5 * 5) = 24 / 25
    np.testing.assert_allclose(layers.Dot(axes=1, normalize=True)([x, y]).numpy(), [[0.96]], rtol=1e-6)


def test_dot_normalize_of_zero_vector_gives_zero_not_nan():
    zeros, ones = np.zeros((1, 3), np.float32), np.ones((1, 3), np.float32)
    assert layers.Dot(axes=1, normalize=True)([zeros, ones]).numpy().tolist() == [[0.0]]


# ------------------------------------------------------------ functional forms
FORMS = [(f, 2) for _, f, _ in ELEMENTWISE] + [(layers.subtract, 2)]


@pytest.mark.parametrize("form, _", FORMS, ids=[f.__name__ for f, _ in FORMS])
def test_functional_form_equals_its_layer_on_eager_and_symbolic_inputs(form, _):
    layer_cls = getattr(layers, form.__name__.capitalize())
    a, b = _random((2, 3, 4), 0), _random((2, 3, 4), 1)
    np.testing.assert_array_equal(form([a, b]).numpy(), layer_cls()([a, b]).numpy())
    symbolic = form([layers.Input((3, 4)), layers.Input((3, 4))], name=f"my_{form.__name__}")
    assert symbolic.shape == (None, 3, 4)
    assert symbolic.node.layer.name == f"my_{form.__name__}"
    assert type(symbolic.node.layer) is layer_cls


def test_concatenate_form_takes_axis_and_layer_kwargs():
    a, b = _random((2, 3, 4), 0), _random((2, 3, 2), 1)
    np.testing.assert_array_equal(layers.concatenate([a, b]).numpy(), np.concatenate([a, b], axis=-1))
    out = layers.concatenate([layers.Input((3, 4)), layers.Input((5, 4))], axis=1, name="joined")
    assert out.shape == (None, 8, 4) and out.node.layer.name == "joined"


def test_dot_form_takes_axes_and_normalize():
    a, b = _random((2, 4), 0), _random((2, 4), 1)
    np.testing.assert_allclose(layers.dot([a, b], axes=1, normalize=True).numpy(),
                               _dot_reference(a, b, 1, normalize=True), rtol=1e-5, atol=1e-6)
    out = layers.dot([layers.Input((3, 5)), layers.Input((10, 3))], axes=(1, 2))
    assert out.shape == (None, 5, 10)
    assert layers.dot([a, b]).shape == (2, 1)  # Keras's default axes=-1


def test_merges_train_in_a_functional_model():
    import cnnlab

    inputs = layers.Input((6,))
    a, b = layers.Dense(4)(inputs), layers.Dense(4)(inputs)
    merged = layers.concatenate([layers.subtract([a, b]), layers.multiply([a, b]), layers.average([a, b]),
                                 layers.maximum([a, b]), layers.minimum([a, b]), layers.dot([a, b], axes=1)])
    model = cnnlab.Model(inputs, layers.Dense(1)(merged))
    model.compile(optimizer="sgd", loss="mse")
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(_random((16, 6), 0), _random((16, 1), 1), epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert all(not np.allclose(w0, w1) for w0, w1 in zip(before, model.get_weights()))


def test_merge_config_round_trip_keeps_dot_arguments():
    layer = layers.Dot(axes=(1, 2), normalize=True, name="cosine")
    config = layer.get_config()
    assert config["axes"] == (1, 2) and config["normalize"] is True
    assert layers.Dot.from_config(config).get_config() == config


# ------------------------------------------------------------------- errors
@pytest.mark.parametrize("layer_cls", [layers.Subtract, layers.Dot])
def test_two_input_merges_refuse_three_inputs(layer_cls):
    kwargs = {"axes": 1} if layer_cls is layers.Dot else {}
    xs = [layers.Input((4,)) for _ in range(3)]
    with pytest.raises(ShapeError, match=rf"{layer_cls.__name__} '.*' takes exactly 2 inputs.*Received: input_shape="):
        layer_cls(**kwargs)(xs)


def test_merge_of_shapes_that_do_not_broadcast_names_both_shapes():
    with pytest.raises(ShapeError, match=r"Multiply 'multiply'.*\(None, 4, 3\) and \(None, 5, 3\).*Received"):
        layers.Multiply()([layers.Input((4, 3)), layers.Input((5, 3))])


def test_eager_merge_of_mismatched_shapes_raises_shape_error_not_torch_error():
    layer = layers.Maximum()
    layer([_random((2, 4), 0), _random((2, 4), 1)])
    with pytest.raises(ShapeError, match=r"Maximum 'maximum'.*\(None, 4\) and \(None, 5\)"):
        layer([_random((2, 4), 0), _random((2, 5), 1)])


def test_merge_of_different_batch_sizes_is_refused():
    with pytest.raises(ShapeError, match="different batch sizes"):
        layers.Add().compute_output_shape([(2, 4), (3, 4)])


@pytest.mark.parametrize("axes", ["1", (1, 2, 3), (1.0, 2), None, True])
def test_dot_refuses_axes_that_are_not_an_int_or_a_pair(axes):
    with pytest.raises(ConfigError, match=r"Dot 'dot': axes must be an int or a pair of ints.*Received: axes="):
        layers.Dot(axes=axes)


def test_dot_refuses_the_batch_axis():
    with pytest.raises(ConfigError, match=r"axis 0 is the batch axis.*Received: axes=\(0, 1\)"):
        layers.Dot(axes=(0, 1))


def test_dot_refuses_axes_of_different_sizes():
    with pytest.raises(ShapeError, match=r"Dot 'dot': the summed axes must have the same size; got 4 .* and 5"):
        layers.Dot(axes=1)([layers.Input((4,)), layers.Input((5,))])


def test_dot_refuses_an_axis_beyond_the_rank():
    with pytest.raises(ShapeError, match=r"axis 3 is not a feature axis of an input of shape \(None, 4\)"):
        layers.Dot(axes=3)([layers.Input((4,)), layers.Input((4,))])


def test_concatenate_refuses_an_axis_beyond_the_rank():
    with pytest.raises(ShapeError, match=r"axis 4 is out of range for inputs of rank 3"):
        layers.Concatenate(axis=4)([layers.Input((4, 3)), layers.Input((4, 3))])


def test_concatenate_refuses_a_non_int_axis():
    with pytest.raises(ConfigError, match=r"axis must be an int. Received: axis='-1'"):
        layers.Concatenate(axis="-1")


def test_built_merge_called_on_a_lone_tensor_asks_for_a_list():
    layer = layers.Add()
    layer([_random((2, 4), 0), _random((2, 4), 1)])
    with pytest.raises(ShapeError, match=r"Add 'add' takes a list of inputs, e.g. Add\(\)\(\[a, b\]\)"):
        layer(_random((2, 4), 0))
