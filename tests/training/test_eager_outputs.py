"""Tensors handed to the user answer ``.numpy()`` as TensorFlow's do, and the training loops never pay for it."""

import numpy as np
import torch

import cnnlab as keras
from cnnlab.eager import EagerTensor


def _model(seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((6, 6, 1))
    conv = keras.layers.Conv2D(2, 3, name="conv")(inputs)
    outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(conv))
    return keras.Model(inputs, [conv, outputs])


def test_values_computed_from_a_model_output_answer_numpy_and_keep_the_gradient():
    model = _model()
    x = np.random.default_rng(0).random((2, 6, 6, 1)).astype("float32")
    conv, preds = model(x)
    assert type(conv) is EagerTensor and conv.requires_grad
    heatmap = (conv * 2.0).sum(dim=-1) @ torch.ones(4, 1)  # a chain of ops, as Grad-CAM writes it
    assert isinstance(heatmap, EagerTensor)
    reference = (conv.detach().numpy() * 2.0).sum(axis=-1) @ np.ones((4, 1), dtype="float32")
    np.testing.assert_allclose(heatmap.numpy(), reference, rtol=1e-6)
    grad = torch.autograd.grad(preds[:, 0].sum(), conv)[0]  # the handed-out tensor is still in the graph
    assert grad.shape == conv.shape and float(grad.abs().sum()) > 0


def test_outputs_that_need_no_gradient_stay_plain_tensors():
    model = _model()
    with torch.no_grad():
        conv, _ = model(np.zeros((1, 6, 6, 1), dtype="float32"))
    assert type(conv) is torch.Tensor


def test_bfloat16_values_read_as_float32_numbers():
    value = torch.tensor([1.5, -2.25], dtype=torch.bfloat16, requires_grad=True)
    value.__class__ = EagerTensor
    out = value * 2
    assert out.numpy().dtype == np.float32
    np.testing.assert_array_equal(out.numpy(), [3.0, -4.5])


def test_the_training_loops_hand_plain_tensors_to_their_steps():
    seen = []

    class Recording(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2)

        def call(self, x):
            return self.dense(x)

        def train_step(self, data):
            y_pred = self(data[0], training=True)
            seen.append(type(y_pred))
            return super().train_step(data)

    model = Recording()
    model.compile("sgd", "mse")
    model.fit(np.zeros((4, 3), "float32"), np.zeros((4, 2), "float32"), batch_size=2, verbose=0)
    assert seen == [torch.Tensor, torch.Tensor]
    assert type(model(np.zeros((1, 3), "float32"))) is EagerTensor  # outside the loop: handed out again


def test_numpy_calls_formatting_and_tf1_eval_on_handed_out_tensors():
    import pytest

    from cnnlab.eager import hand_out
    from cnnlab.errors import GraphModeError

    values = np.array([[1.0, 5.0], [3.0, -2.0]], dtype="float32")
    t = hand_out(torch.tensor(values))
    assert np.min(t) == values.min() and np.argmax(t) == values.argmax()
    np.testing.assert_array_equal(np.max(t, axis=0), values.max(axis=0))
    np.testing.assert_array_equal(t.max(dim=0).values.numpy(), values.max(axis=0))  # torch's own call still works
    assert f"{t.sum():0.2f}" == "7.00"
    assert np.asarray(t, dtype="float64").dtype == np.float64
    with pytest.raises(GraphModeError, match=r"tensor\.numpy\(\)"):
        t.eval()


def test_handed_out_inputs_reach_the_training_step_as_plain_tensors():
    from cnnlab.eager import hand_out

    seen = []

    class Recording(keras.Sequential):
        def train_step(self, data):
            seen.append(type(data[0]))
            return super().train_step(data)

    model = Recording([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(hand_out(torch.zeros(4, 3)), hand_out(torch.zeros(4, 1)), batch_size=4, verbose=0)
    assert seen == [torch.Tensor]


def test_layers_run_handed_out_inputs_as_plain_tensors_and_keep_their_gradient():
    from cnnlab.eager import hand_out

    seen = []

    class Spy(keras.layers.Layer):
        def call(self, x):
            seen.append(type(x))
            return x * 3.0

    x = hand_out(torch.ones(2, 3))
    x.requires_grad_(True)
    y = Spy()(x)
    assert seen == [torch.Tensor] and type(y) is EagerTensor  # plain inside, handed out again
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 3), 3.0))
