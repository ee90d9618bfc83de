"""tf.constant, shapes, dtypes and tf.math through ``import cnnlab as tf``, against NumPy and TF's documented rules."""

import numpy as np
import pytest
import torch

import cnnlab as tf
from cnnlab.errors import ArgumentTypeError, ConfigError, ShapeError

X = np.arange(12, dtype=np.float32).reshape(3, 4) - 5.5


def test_constant_types_python_values_as_tensorflow_does():
    assert tf.constant(1.5).dtype == tf.float32
    assert tf.constant([1, 2]).dtype == tf.int32
    assert tf.constant([True]).dtype == tf.bool
    assert tf.constant(np.zeros(2)).dtype == tf.float64  # NumPy arrays keep their dtype
    assert tf.constant(2**40).dtype == tf.int64
    assert tf.constant([1, 2], dtype=tf.float16).dtype == torch.float16
    assert tf.constant(7, shape=[2, 2]).tolist() == [[7, 7], [7, 7]]
    assert tf.constant([1, 2, 3, 4], shape=(2, 2)).tolist() == [[1, 2], [3, 4]]
    assert isinstance(tf.constant(1.0), tf.Tensor) and tf.constant([1.0]).numpy().tolist() == [1.0]


def test_constant_refuses_a_shape_it_cannot_fill():
    with pytest.raises(ShapeError, match="cannot fill shape"):
        tf.constant([1, 2, 3], shape=[2, 2])


def test_strings_and_tf_string_are_refused_with_a_clear_message():
    with pytest.raises(ArgumentTypeError, match="hold numbers only"):
        tf.constant(["cat", "dog"])
    with pytest.raises(ConfigError, match="tf.string has no equivalent"):
        tf.cast([1, 2], tf.string)


def test_convert_to_tensor_never_changes_a_tensors_dtype():
    assert tf.convert_to_tensor([1, 2], dtype=tf.float32).dtype == tf.float32
    assert tf.convert_to_tensor(3, dtype_hint=tf.float32).dtype == tf.float32
    with pytest.raises(ConfigError, match="tf.cast"):
        tf.convert_to_tensor(tf.constant(1.0), dtype=tf.int32)


def test_cast_truncates_towards_zero_like_tensorflow():
    assert tf.cast([-1.7, 1.7], tf.int32).tolist() == [-1, 1]


def test_reshape_split_and_gather_against_numpy():
    np.testing.assert_array_equal(tf.reshape(X, [2, -1]).numpy(), X.reshape(2, -1))
    parts = tf.split(X, [1, -1], axis=1)
    np.testing.assert_array_equal(parts[1].numpy(), X[:, 1:])
    np.testing.assert_array_equal(tf.gather(X, [[2, 0]]).numpy(), X[[[2, 0]]])
    np.testing.assert_array_equal(tf.gather(X, [3, 1], axis=1).numpy(), X[:, [3, 1]])
    with pytest.raises(ShapeError, match="cannot reshape"):
        tf.reshape(X, [5, -1])
    with pytest.raises(ShapeError, match="equal parts"):
        tf.split(X, 3, axis=1)
    with pytest.raises(ShapeError, match="add up"):
        tf.split(X, [1, 1], axis=1)
    with pytest.raises(ShapeError, match="indices must be in"):
        tf.gather(X, [5])
    with pytest.raises(ConfigError, match="batch_dims"):
        tf.gather(X, [0], batch_dims=1)


def test_squeeze_and_unstack_check_their_axis():
    with pytest.raises(ShapeError, match="cannot be squeezed"):
        tf.squeeze(X, axis=0)
    with pytest.raises(ShapeError, match="num=2"):
        tf.unstack(X, num=2)


def test_where_one_hot_range_and_creation_follow_tensorflow():
    assert tf.where([True, False, True]).tolist() == [[0], [2]]
    with pytest.raises(ConfigError, match="give both x and y"):
        tf.where([True], x=[1.0])
    np.testing.assert_array_equal(tf.one_hot([0, 2, -1], 3).numpy(), [[1, 0, 0], [0, 0, 1], [0, 0, 0]])
    assert tf.range(3).dtype == tf.int32 and tf.range(0.0, 1.0, 0.5).tolist() == [0.0, 0.5]
    assert tf.fill([2], 1).dtype == tf.int32 and tf.zeros([2, 3]).dtype == tf.float32
    assert tf.shape(np.zeros((2, 5))).tolist() == [2, 5] and tf.shape(X).dtype == tf.int32
    assert int(tf.size(X)) == 12 and int(tf.rank(X)) == 2
    assert tf.eye(2, batch_shape=[3]).shape == (3, 2, 2)


def test_pad_modes_against_numpy():
    pads = [[1, 2], [2, 1]]
    np.testing.assert_array_equal(tf.pad(X, pads).numpy(), np.pad(X, pads))
    np.testing.assert_array_equal(tf.pad(X, pads, "REFLECT").numpy(), np.pad(X, pads, "reflect"))
    np.testing.assert_array_equal(tf.pad(X, pads, "SYMMETRIC").numpy(), np.pad(X, pads, "symmetric"))
    with pytest.raises(ConfigError, match="mode must be"):
        tf.pad(X, pads, "EDGE")
    with pytest.raises(ShapeError, match="one \\[before, after\\] pair"):
        tf.pad(X, [[1, 1]])


def test_reductions_follow_tensorflow_dtypes_and_defaults():
    ints = np.array([[1, 2], [4, -7]], np.int32)
    assert tf.reduce_mean(ints, axis=1).tolist() == [1, -1]  # integer mean, truncated towards zero
    assert tf.reduce_sum(ints).dtype == tf.int32
    assert tf.argmax(X).dtype == tf.int64 and tf.argmax(X).tolist() == np.argmax(X, 0).tolist()
    np.testing.assert_allclose(tf.reduce_prod(X, 0).numpy(), X.prod(0), rtol=1e-6)
    np.testing.assert_allclose(tf.reduce_logsumexp(X, 1).numpy(), np.log(np.exp(X).sum(1)), rtol=1e-6)
    np.testing.assert_allclose(tf.math.reduce_std(X).numpy(), X.std(), rtol=1e-6)
    assert bool(tf.reduce_any(X > 5)) and not bool(tf.reduce_all(X > 0))


def test_elementwise_math_and_comparisons_against_numpy():
    np.testing.assert_allclose(tf.exp(X / 4).numpy(), np.exp(X / 4), rtol=1e-6)
    np.testing.assert_allclose(tf.math.log(np.abs(X)).numpy(), np.log(np.abs(X)), rtol=1e-6)
    np.testing.assert_array_equal(tf.round(np.array([0.5, 1.5, -2.5], np.float32)).numpy(), [0.0, 2.0, -2.0])
    np.testing.assert_array_equal(tf.equal(X, 0.5).numpy(), X == 0.5)
    np.testing.assert_allclose(tf.multiply(X, 2).numpy(), X * 2)
    assert tf.divide(np.array([1, 2], np.int32), np.array([2, 2], np.int32)).dtype == tf.float64
    np.testing.assert_allclose(tf.matmul(X, X, transpose_b=True).numpy(), X @ X.T, rtol=1e-5)
    np.testing.assert_allclose(tf.clip_by_value(X, -1, 1).numpy(), np.clip(X, -1, 1))


def test_matmul_errors_name_the_shapes():
    with pytest.raises(ShapeError, match="rank >= 2"):
        tf.matmul([1.0, 2.0], X)
    with pytest.raises(ShapeError, match="inner sizes differ"):
        tf.matmul(X, X)


def test_top_k_and_confusion_matrix_against_numpy():
    values, indices = tf.math.top_k(X, k=2)
    np.testing.assert_array_equal(indices.numpy(), np.argsort(-X, axis=1)[:, :2])
    np.testing.assert_array_equal(values.numpy(), -np.sort(-X, axis=1)[:, :2])
    labels, preds = [0, 1, 2, 2], [0, 2, 2, 1]
    expected = np.zeros((3, 3), np.int32)
    np.add.at(expected, (labels, preds), 1)
    np.testing.assert_array_equal(tf.math.confusion_matrix(labels, preds).numpy(), expected)
    with pytest.raises(ConfigError, match=">= 0"):
        tf.math.confusion_matrix([-1], [0])
    with pytest.raises(ShapeError, match="as many values"):
        tf.math.confusion_matrix([0, 1], [0])


def test_variable_works_with_the_facade_functions():
    v = tf.Variable([[1.0, 2.0]], name="v", dtype=tf.float32)
    assert tf.reduce_sum(tf.matmul(v, tf.transpose(v))).item() == 5.0
    v.assign_add([[1.0, 1.0]])
    assert (v * 2).tolist() == [[4.0, 6.0]] and v.numpy().tolist() == [[2.0, 3.0]]


def test_tensor_shape_is_a_tuple_with_as_list():
    shape = tf.TensorShape([None, 28, 28])
    assert shape.as_list() == [None, 28, 28] and shape.rank == 3 and shape[1] == 28
    assert shape.num_elements() is None and tf.TensorShape([2, 3]).num_elements() == 6
    assert repr(tf.TensorShape([2, 3])) == "TensorShape([2, 3])"


def test_misspelt_names_and_keywords_get_a_did_you_mean():
    with pytest.raises(AttributeError, match="Did you mean 'reduce_mean'"):
        tf.reduce_maen  # noqa: B018
    with pytest.raises(AttributeError, match="Did you mean 'reduce_logsumexp'"):
        tf.math.reduce_logsumexpp  # noqa: B018
    with pytest.raises(ArgumentTypeError, match="Did you mean 'keepdims'"):
        tf.reduce_sum(X, keep_dims=True)
    with pytest.raises(ArgumentTypeError, match="Signature: tf.reshape"):
        tf.reshape(X)


def test_torch_errors_inside_a_facade_function_name_the_function():
    with pytest.raises(ShapeError, match="tf.concat"):
        tf.concat([X, X[:, :2].T], axis=0)


def test_star_import_does_not_hide_python_builtins():
    namespace: dict = {}
    exec("from cnnlab import *", namespace)
    assert "print" not in namespace and "range" not in namespace and "constant" in namespace
    assert tf.print is not print and tf.range(2).tolist() == [0, 1]
