"""TF1 graph-mode code through ``import cnnlab as tf`` is refused with the eager line to write instead."""

import importlib
import sys

import numpy as np
import pytest

import cnnlab as tf
from cnnlab.errors import CnnlabError, GraphModeError


@pytest.mark.parametrize("call,fix", [
    (lambda: tf.Session(), "fetch.numpy()"),
    (lambda: tf.InteractiveSession(), "tensor.numpy()"),
    (lambda: tf.placeholder(tf.float32, [None, 784]), "pass NumPy arrays or tensors directly"),
    (lambda: tf.get_variable("w", [3]), "tf.Variable(initial_value"),
    (lambda: tf.global_variables_initializer(), "delete the line"),
    (lambda: tf.reset_default_graph(), "reset_names"),
    (lambda: tf.compat.v1.Session(), "fetch.numpy()"),
    (lambda: tf.compat.v1.placeholder(tf.float32), "pass NumPy arrays"),
    (lambda: tf.compat.v1.disable_eager_execution(), "write the code eagerly"),
    (lambda: tf.compat.v1.global_variables_initializer(), "delete the line"),
    (lambda: tf.compat.v1.train.AdamOptimizer(0.1), "tf.keras.optimizers"),
])
def test_tf1_graph_calls_raise_graph_mode_error_with_the_eager_fix(call, fix):
    with pytest.raises(GraphModeError, match="TensorFlow 1 graph-mode code") as info:
        call()
    assert fix in str(info.value) and "Received: tf." in str(info.value)
    assert isinstance(info.value, CnnlabError) and isinstance(info.value, NotImplementedError)


def test_the_error_names_what_was_called():
    with pytest.raises(GraphModeError, match=r"Received: tf.compat.v1.Session"):
        with tf.compat.v1.Session() as sess:
            sess.run(None)


def test_harmless_compat_v1_calls_still_work():
    tf.compat.v1.enable_eager_execution()
    tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)
    assert tf.compat.v1.executing_eagerly()


def test_tf1_mnist_input_data_import_is_refused_with_the_load_data_line():
    sys.modules.pop("cnnlab.examples.tutorials.mnist.input_data", None)
    with pytest.raises(GraphModeError, match=r"cnnlab\.datasets\.mnist\.load_data\(\)"):
        from cnnlab.examples.tutorials.mnist import input_data  # noqa: F401
    with pytest.raises(GraphModeError):
        importlib.import_module("cnnlab.examples.tutorials.mnist.input_data")


def test_other_examples_modules_are_still_not_found():
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("cnnlab.examples.nothing_here")


def test_eval_on_a_facade_value_says_to_read_it_with_numpy():
    pooled = tf.nn.max_pool(tf.constant(np.arange(16.0).reshape(1, 4, 4, 1)), ksize=2, strides=2, padding="VALID")
    with pytest.raises(GraphModeError, match=r"tensor\.numpy\(\)") as info:
        pooled.eval()
    assert "TensorFlow 1" in str(info.value)
    np.testing.assert_array_equal(pooled.numpy().ravel(), [5.0, 7.0, 13.0, 15.0])


def test_compat_v2_is_not_provided():
    with pytest.raises(AttributeError, match="tf.compat.v1 only"):
        tf.compat.v2  # noqa: B018
