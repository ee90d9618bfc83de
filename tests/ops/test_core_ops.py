"""cnnlab.ops core ops (shape, cast, scatter, slice, control flow) against NumPy.

Named test_core_ops.py because tests/layers/test_core.py holds the basename test_core.
"""

import numpy as np
import pytest
import torch

from cnnlab import ops
from cnnlab.errors import ArgumentTypeError, ConfigError, ShapeError, UnknownNameError

X = np.arange(12.0, dtype="float32").reshape(3, 4)


def _close(got, expected):
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-6, atol=1e-6)


def test_shape_is_a_tuple_of_ints_and_dtype_a_keras_name():
    assert ops.shape(X) == (3, 4) and all(type(s) is int for s in ops.shape(torch.zeros(2, 5)))
    assert ops.shape([[1, 2, 3]]) == (1, 3)
    assert ops.dtype(X) == "float32" and ops.dtype([1, 2]) == "int32" and ops.dtype(torch.zeros(1, dtype=torch.bool)) == "bool"


def test_convert_to_tensor_follows_keras_dtypes():
    assert ops.convert_to_tensor([1.0, 2.0]).dtype == torch.float32
    assert ops.convert_to_tensor([1, 2]).dtype == torch.int32
    assert ops.convert_to_tensor([True]).dtype == torch.bool
    assert ops.convert_to_tensor(np.arange(3)).dtype == torch.int64
    assert ops.convert_to_tensor(np.float64(2.0)).shape == ()
    assert ops.convert_to_tensor(X, dtype="float16").dtype == torch.float16
    assert ops.convert_to_tensor(X[:, ::2]).shape == (3, 2)
    assert isinstance(ops.convert_to_numpy(torch.ones(2, requires_grad=True)), np.ndarray)
    assert ops.is_tensor(ops.zeros(1)) and not ops.is_tensor(X)


def test_cast_truncates_and_saturate_cast_clips():
    _close(ops.cast([1.7, -1.7], "int32"), [1, -1])
    assert ops.cast(X, "float64").dtype == torch.float64
    _close(ops.saturate_cast([300.0, -5.0, 7.6], "uint8"), np.clip([300.0, -5.0, 7.6], 0, 255).astype("uint8"))


def test_stop_gradient_blocks_backprop():
    x = torch.ones(2, requires_grad=True)
    (x * 2 + ops.stop_gradient(x) * 5).sum().backward()
    _close(x.grad, [2.0, 2.0])


def test_scatter_adds_duplicates_and_scatter_update_replaces():
    expected = np.zeros((3, 4))
    np.add.at(expected, ([0, 2, 0], [1, 3, 1]), [1.0, 2.0, 3.0])
    _close(ops.scatter([[0, 1], [2, 3], [0, 1]], [1.0, 2.0, 3.0], (3, 4)), expected)
    updated = X.copy()
    updated[[0, 2], [1, 3]] = [9.0, 8.0]
    _close(ops.scatter_update(X, [[0, 1], [2, 3]], [9.0, 8.0]), updated)
    rows = X.copy()
    rows[1] = [-1, -2, -3, -4]
    _close(ops.scatter_update(X, [[1]], [[-1.0, -2, -3, -4]]), rows)


@pytest.mark.parametrize("reduction, numpy_op", [("add", np.add), ("max", np.maximum), ("min", np.minimum),
                                                 ("mul", np.multiply)])
def test_scatter_update_reductions_match_numpy(reduction, numpy_op):
    expected = X.copy()
    numpy_op.at(expected, ([1, 1, 2], [0, 0, 3]), [5.0, 20.0, -1.0])
    _close(ops.scatter_update(X, [[1, 0], [1, 0], [2, 3]], [5.0, 20.0, -1.0], reduction=reduction), expected)


def test_slice_and_slice_update_match_numpy():
    _close(ops.slice(X, (1, 1), (2, 2)), X[1:3, 1:3])
    updated = X.copy()
    updated[0:2, 2:4] = 0
    _close(ops.slice_update(X, (0, 2), np.zeros((2, 2), "float32")), updated)


def test_control_flow_runs_like_python():
    assert ops.cond(True, lambda: 1, lambda: 2) == 1
    assert ops.cond(torch.tensor(False), lambda: 1, lambda: 2) == 2
    assert ops.while_loop(lambda i: i < 10, lambda i: i + 3, 0) == 12
    assert ops.while_loop(lambda i, s: i < 4, lambda i, s: (i + 1, s + i), (0, 0)) == (4, 6)
    assert ops.while_loop(lambda i: True, lambda i: i + 1, 0, maximum_iterations=5) == 5
    assert ops.fori_loop(0, 5, lambda i, v: v + i, 0) == 10
    assert ops.switch(7, [lambda a: a, lambda a: -a], 3) == -3  # index clamped to the last branch


def test_map_vectorized_map_scan_and_unstack_match_numpy():
    _close(ops.map(lambda row: row.sum(), X), X.sum(1))
    _close(ops.vectorized_map(lambda row: row * 2, X), X * 2)
    carry, ys = ops.scan(lambda c, x: (c + x, c * x), 0.0, np.arange(4.0))
    _close(carry, 6.0)
    _close(ys, [0.0, 0.0, 2.0, 9.0])
    _close(ops.associative_scan(lambda a, b: a + b, X, axis=1), np.cumsum(X, 1))
    parts = ops.unstack(X, axis=1)
    assert len(parts) == 4
    _close(parts[2], X[:, 2])


def test_custom_gradient_uses_the_given_backward():
    @ops.custom_gradient
    def double(x):
        return x * 2, lambda upstream: upstream * 10

    x = torch.ones(3, requires_grad=True)
    double(x).sum().backward()
    _close(x.grad, [10.0, 10.0, 10.0])


def test_core_errors_name_op_and_argument():
    with pytest.raises(UnknownNameError, match="cast argument dtype.*Did you mean 'float32'"):
        ops.cast(X, "flaot32")
    with pytest.raises(ShapeError, match="scatter: indices must have shape"):
        ops.scatter([[0, 1, 2]], [1.0], (3,))
    with pytest.raises(ConfigError, match="Received: reduction='avg'"):
        ops.scatter_update(X, [[0, 0]], [1.0], reduction="avg")
    with pytest.raises(ShapeError, match="slice: start_indices and shape"):
        ops.slice(X, (1,), (2,))
    with pytest.raises(ShapeError, match="unstack: num=3"):
        ops.unstack(X, num=3, axis=1)
    with pytest.raises(ArgumentTypeError, match="convert_to_tensor: cannot make a tensor"):
        ops.convert_to_tensor({"a": 1})
