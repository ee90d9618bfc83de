"""Merge layers, their functional forms and Lambda against real Keras 3: outputs, shapes, configs, summaries, files."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import cnnlab  # noqa: E402
import cnnlab.inspect  # noqa: E402
from cnnlab.errors import FileFormatError  # noqa: E402
from cnnlab.layers._out_of_scope import OUT_OF_SCOPE  # noqa: E402
from cnnlab.layers.base import reset_names  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "layers"))
import cases_merge  # noqa: E402

TOLERANCE = 1e-5


def normalise_names(text: str) -> str:
    return re.sub(r"(?<=[a-z0-9])_(\d+)\b", lambda m: "_" * len(m.group(0)), text)


def double(x):
    return x * 2


def _random(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def _keras_class(cls):
    return getattr(keras.layers, cls.__name__)


@pytest.mark.parametrize("case", cases_merge.CASES, ids=lambda c: f"{c[0].__name__}-{c[1]}")
def test_merge_output_equals_keras(case):
    cls, kwargs, input_shapes, output_shape, _ = case
    xs = [_random(s, i) for i, s in enumerate(input_shapes)]
    expected = np.asarray(_keras_class(cls)(**kwargs)(xs))
    got = cls(**kwargs)(xs).numpy()
    assert got.shape == expected.shape == output_shape
    np.testing.assert_allclose(got, expected, rtol=TOLERANCE, atol=TOLERANCE)


@pytest.mark.parametrize("case", cases_merge.CASES, ids=lambda c: f"{c[0].__name__}-{c[1]}")
def test_merge_symbolic_shape_and_config_equal_keras(case):
    cls, kwargs, input_shapes, _, _ = case
    k_layer, c_layer = _keras_class(cls)(**kwargs), cls(**kwargs)
    k_out = k_layer([keras.Input(s[1:]) for s in input_shapes])
    c_out = c_layer([cnnlab.layers.Input(s[1:]) for s in input_shapes])
    assert c_out.shape == tuple(k_out.shape)
    k_config, c_config = k_layer.get_config(), c_layer.get_config()
    for config in (k_config, c_config):
        config.pop("name"), config.pop("dtype")
    assert c_config == k_config  # tuples where Keras has tuples (Dot's axes pair)


@pytest.mark.parametrize("name", ["add", "subtract", "multiply", "average", "maximum", "minimum"])
def test_functional_forms_equal_keras(name):
    a, b = _random((3, 4, 5), 0), _random((3, 4, 5), 1)
    np.testing.assert_allclose(getattr(cnnlab.layers, name)([a, b]).numpy(),
                               np.asarray(getattr(keras.layers, name)([a, b])), rtol=TOLERANCE, atol=TOLERANCE)


def test_concatenate_and_dot_forms_equal_keras():
    a, b = _random((3, 4, 5), 0), _random((3, 4, 2), 1)
    np.testing.assert_allclose(cnnlab.layers.concatenate([a, b], axis=-1).numpy(),
                               np.asarray(keras.layers.concatenate([a, b], axis=-1)), rtol=TOLERANCE)
    np.testing.assert_allclose(cnnlab.layers.dot([a, b], axes=1, normalize=True).numpy(),
                               np.asarray(keras.layers.dot([a, b], axes=1, normalize=True)),
                               rtol=TOLERANCE, atol=TOLERANCE)


def every_merge(k):
    """A functional model using each merge layer and functional form once or more."""
    L = k.layers
    a, b = L.Input((6, 6, 4)), L.Input((6, 6, 4))
    c1 = L.Conv2D(4, 3, padding="same")(a)
    sub, mul = L.Subtract()([c1, b]), L.multiply([a, b])
    avg = L.Average()([a, b, c1])
    added = L.add([L.Maximum()([sub, mul]), L.minimum([avg, mul])])
    pooled = L.GlobalAveragePooling2D()(L.concatenate([added, sub], axis=-1))
    h1, h2 = L.Dense(5)(pooled), L.Dense(5)(L.GlobalMaxPooling2D()(b))
    cosine = L.Dot(axes=1, normalize=True)([h1, h2])
    gram = L.dot([L.Reshape((6, 24))(a), L.Reshape((6, 24))(b)], axes=(2, 2))
    out = L.Concatenate()([cosine, L.Flatten()(gram), L.Subtract()([h1, h2])])
    return k.Model([a, b], L.Dense(3, activation="softmax")(out))


def _pair():
    keras.backend.clear_session()
    reset_names()
    k_model, c_model = every_merge(keras), every_merge(cnnlab)
    c_model.set_weights(k_model.get_weights())
    return k_model, c_model, [_random((2, 6, 6, 4), 0), _random((2, 6, 6, 4), 1)]


def test_summary_of_a_model_with_every_merge_equals_keras():
    k_model, c_model, _ = _pair()
    captured = []
    k_model.summary(print_fn=captured.append)
    assert normalise_names(cnnlab.inspect.render_summary(c_model)) == normalise_names("".join(captured))
    # By name: Functional.layers lists a multi-input graph in another order than Keras (the summary does not).
    assert {l.name: l.count_params() for l in c_model.layers} == {l.name: l.count_params() for l in k_model.layers}


def test_model_with_every_merge_gives_keras_outputs():
    k_model, c_model, x = _pair()
    np.testing.assert_allclose(c_model(x).detach().numpy(), np.asarray(k_model(x)), rtol=TOLERANCE, atol=TOLERANCE)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_merge_model_files_cross_both_ways(tmp_path, suffix):
    k_model, c_model, x = _pair()
    expected = np.asarray(k_model(x))
    c_model.save(tmp_path / f"c{suffix}")
    from_cnnlab = keras.models.load_model(tmp_path / f"c{suffix}")
    np.testing.assert_allclose(np.asarray(from_cnnlab(x)), expected, rtol=TOLERANCE, atol=TOLERANCE)
    k_model.save(tmp_path / f"k{suffix}")
    from_keras = cnnlab.load_model(tmp_path / f"k{suffix}")
    np.testing.assert_allclose(from_keras.predict(x, verbose=0), expected, rtol=TOLERANCE, atol=TOLERANCE)
    assert sorted(type(l).__name__ for l in from_keras.layers) == sorted(type(l).__name__ for l in k_model.layers)


def _lambda_model(k, function):
    L = k.layers
    return k.Sequential([L.Input((4,)), L.Dense(3), L.Lambda(function, name="fn_layer"), L.Dense(2)])


def test_lambda_with_a_named_function_crosses_keras_files_both_ways(tmp_path):
    keras.backend.clear_session()
    k_model, c_model = _lambda_model(keras, double), _lambda_model(cnnlab, double)
    c_model.set_weights(k_model.get_weights())
    x = _random((3, 4), 0)
    expected = np.asarray(k_model(x))
    np.testing.assert_allclose(c_model.predict(x, verbose=0), expected, rtol=TOLERANCE, atol=TOLERANCE)
    c_model.save(tmp_path / "c.keras")
    from_cnnlab = keras.models.load_model(tmp_path / "c.keras", custom_objects={"double": double})
    np.testing.assert_allclose(np.asarray(from_cnnlab(x)), expected, rtol=TOLERANCE, atol=TOLERANCE)
    k_model.save(tmp_path / "k.keras")
    from_keras = cnnlab.load_model(tmp_path / "k.keras", custom_objects={"double": double})
    np.testing.assert_allclose(from_keras.predict(x, verbose=0), expected, rtol=TOLERANCE, atol=TOLERANCE)


def test_keras_lambda_with_bytecode_is_refused_and_loads_with_a_function_under_its_name(tmp_path):
    keras.backend.clear_session()
    k_model = _lambda_model(keras, lambda t: t * 2)
    k_model.save(tmp_path / "k.keras")
    with pytest.raises(FileFormatError, match=r"'fn_layer' is a Lambda layer whose function is a Python lambda "
                                              r"stored as marshalled bytecode"):
        cnnlab.load_model(tmp_path / "k.keras")
    x = _random((3, 4), 0)
    loaded = cnnlab.load_model(tmp_path / "k.keras", custom_objects={"fn_layer": double})
    np.testing.assert_allclose(loaded.predict(x, verbose=0), np.asarray(k_model(x)), rtol=TOLERANCE, atol=TOLERANCE)


def test_every_out_of_scope_name_is_a_keras_layer_cnnlab_lacks():
    assert set(OUT_OF_SCOPE) <= set(dir(keras.layers))
    assert not set(OUT_OF_SCOPE) & set(cnnlab.layers.__all__)
