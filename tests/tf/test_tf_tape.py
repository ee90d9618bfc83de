"""The eager TensorFlow names (``import cnnlab as tf``): GradientTape and the reductions, against NumPy."""

import numpy as np
import pytest
import torch

import cnnlab as tf
from cnnlab.errors import ArgumentTypeError, CnnlabError


def test_gradient_of_a_non_scalar_target_is_the_gradient_of_its_sum():
    x = torch.tensor([[1.0, -2.0], [3.0, 0.5]])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x**3
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), 3 * x.detach().numpy() ** 2)


def test_gradient_follows_the_structure_of_sources_and_gives_none_when_unconnected():
    a, b, c = (torch.tensor([2.0], requires_grad=True) for _ in range(3))
    with tf.GradientTape() as tape:
        y = a * b
    grads = tape.gradient(y, [a, b, c])
    assert [g if g is None else g.item() for g in grads] == [2.0, 2.0, None]
    with tf.GradientTape() as tape:
        y = a * 5
    assert tape.gradient(y, [c], unconnected_gradients="zero")[0].item() == 0.0


def test_gradient_with_respect_to_model_weights_matches_numpy():
    model = tf.keras.Sequential([tf.keras.layers.Input((3,)), tf.keras.layers.Dense(2, use_bias=False)])
    x = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 4.0]], "float32")
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(x))
    (grad,) = tape.gradient(loss, model.trainable_weights)
    np.testing.assert_allclose(grad.numpy(), np.repeat(x.sum(0)[:, None], 2, axis=1))  # d sum(xW) / dW


def test_a_tape_records_under_an_outer_no_grad_like_tensorflow():
    w = torch.tensor([1.5], requires_grad=True)
    with torch.no_grad(), tf.GradientTape() as tape:
        y = w * w
    assert tape.gradient(y, w).item() == pytest.approx(3.0)


def test_second_gradient_needs_a_persistent_tape():
    w = torch.tensor([2.0], requires_grad=True)
    with tf.GradientTape() as tape:
        y = w**2
    tape.gradient(y, w)
    with pytest.raises(CnnlabError, match="persistent=True"):
        tape.gradient(y, w)
    with tf.GradientTape(persistent=True) as tape:
        y, z = w**2, w**3
    assert (tape.gradient(y, w).item(), tape.gradient(z, w).item()) == (4.0, 12.0)


def test_watch_refuses_what_is_not_a_tensor():
    with tf.GradientTape() as tape, pytest.raises(ArgumentTypeError, match="only tensors can be watched"):
        tape.watch([1.0, 2.0])


def test_reductions_and_argmax_use_tensorflow_defaults():
    x = np.array([[1.0, 5.0, 2.0], [4.0, 0.0, 6.0]], "float32")
    np.testing.assert_array_equal(tf.argmax(x).numpy(), np.argmax(x, axis=0))  # TF's default axis is 0
    np.testing.assert_allclose(tf.reduce_mean(x, axis=(0, 1)).numpy(), x.mean())
    np.testing.assert_allclose(tf.math.reduce_max(x, axis=1).numpy(), x.max(1))
    np.testing.assert_allclose(tf.reduce_min(x, axis=0, keepdims=True).numpy(), x.min(0, keepdims=True))
    np.testing.assert_allclose(tf.squeeze(x[:, None, :]).numpy(), x)
    np.testing.assert_allclose(tf.maximum(x, 3.0).numpy(), np.maximum(x, 3.0))
    assert tf.newaxis is None and x[:, tf.newaxis].shape == (2, 1, 3)


def test_gradient_with_respect_to_a_tf_variable_and_an_optimizer_step():
    v = tf.Variable(3.0, name="w")
    with tf.GradientTape() as tape:
        loss = v * v + 2 * v
    (grad,) = tape.gradient(loss, [v])
    assert grad.item() == pytest.approx(8.0)  # d(v^2 + 2v)/dv at 3
    v.assign_sub(0.5 * grad)
    assert v.numpy() == pytest.approx(-1.0)


def test_a_single_variable_source_gives_a_single_gradient_and_watch_accepts_variables():
    v = tf.Variable([1.0, 2.0])
    with tf.GradientTape() as tape:
        tape.watch(v)
        y = tf.reduce_sum(tf.square(v))
    np.testing.assert_allclose(tape.gradient(y, v).numpy(), [2.0, 4.0])


def test_a_non_trainable_variable_gets_no_gradient_as_in_tensorflow():
    v = tf.Variable(2.0, trainable=False)
    with tf.GradientTape() as tape:
        y = v * 3
    assert tape.gradient(y, v) is None


def test_a_misspelt_tape_keyword_names_the_right_one():
    with pytest.raises(ArgumentTypeError, match="Did you mean 'persistent'"):
        tf.GradientTape(persistant=True)
