"""Custom layers and models written as the Keras 3 guide "Making new layers and models via subclassing" writes them."""

import copy

import numpy as np
import pytest
import torch

import cnnlab as keras
from cnnlab import layers, ops
from cnnlab.errors import ArgumentTypeError, ConfigError, ShapeError
from cnnlab.eager import EagerTensor


class Linear(keras.layers.Layer):
    def __init__(self, units=32, input_dim=32):
        super().__init__()
        self.w = self.add_weight(shape=(input_dim, units), initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(units,), initializer="zeros", trainable=True)

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b


class ComputeSum(keras.layers.Layer):
    def __init__(self, input_dim):
        super().__init__()
        self.total = self.add_weight(initializer="zeros", shape=(input_dim,), trainable=False)

    def call(self, inputs):
        self.total.assign_add(ops.sum(inputs, axis=0))
        return self.total


class DeferredLinear(keras.layers.Layer):
    def __init__(self, units=32):
        super().__init__()
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="random_normal", trainable=True)

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b


class ActivityRegularizationLayer(keras.layers.Layer):
    def __init__(self, rate=1e-2):
        super().__init__()
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * ops.sum(inputs))
        return inputs


# ------------------------------------------------------------------------------------------- add_weight
def test_guide_linear_layer_computes_x_w_plus_b_and_answers_numpy():
    x = np.ones((2, 2), np.float32)
    layer = Linear(4, 2)
    y = layer(x)
    w, b = layer.get_weights()
    np.testing.assert_allclose(y.numpy(), x @ w + b, rtol=1e-6)
    assert [v.name for v in layer.weights] == ["variable", "variable_1"]
    assert [v.path for v in layer.weights] == ["linear/variable", "linear/variable_1"]


def test_weight_set_as_attribute_is_registered_once_under_that_attribute():
    layer = Linear(4, 2)
    assert sorted(dict(layer.named_parameters())) == ["b", "w"]
    assert layer.w is layer.weights[0].value


def test_non_trainable_weight_accumulates_with_assign_add():
    x = np.ones((2, 2), np.float32)
    my_sum = ComputeSum(2)
    np.testing.assert_array_equal(my_sum(x).numpy(), [2.0, 2.0])
    np.testing.assert_array_equal(my_sum(x).numpy(), [4.0, 4.0])
    assert len(my_sum.weights) == 1 and len(my_sum.non_trainable_weights) == 1 and my_sum.trainable_weights == []


def test_state_weight_keeps_its_keras_methods_after_the_module_moves():
    my_sum = ComputeSum(2)
    my_sum.to(torch.float32)
    my_sum.total.assign_sub([1.0, 2.0])
    np.testing.assert_array_equal(my_sum.weights[0].numpy(), [-1.0, -2.0])
    assert dict(my_sum.named_buffers())["total"] is my_sum.total


def test_deferred_build_creates_weights_on_first_call():
    layer = DeferredLinear(3)
    assert layer.weights == []
    layer(np.ones((2, 5), np.float32))
    assert [v.shape for v in layer.weights] == [(5, 3), (3,)]


def test_weight_tensor_has_keras_variable_methods():
    layer = layers.Dense(2)
    layer.build((None, 3))
    kernel = layer.kernel
    assert isinstance(kernel, torch.nn.Parameter) and kernel.trainable
    assert kernel.value is kernel and kernel.name == "kernel" and kernel.path == "dense/kernel"
    kernel.assign(np.ones((3, 2)))
    kernel.assign_add(np.ones((3, 2)))
    kernel.assign_sub(0.5)  # assign_add/assign_sub broadcast; assign needs the exact shape, as in Keras
    np.testing.assert_array_equal(kernel.numpy(), np.full((3, 2), 1.5, np.float32))
    with pytest.raises(ShapeError, match=r"expected shape \(3, 2\), got \(\)"):
        kernel.assign(0.0)
    assert "path=dense/kernel" in repr(kernel)
    with pytest.raises(ShapeError, match=r"expected shape \(3, 2\), got \(2, 3\)"):
        kernel.assign(np.ones((2, 3)))


def test_weight_tensor_computes_and_backpropagates_like_a_parameter():
    layer = Linear(2, 3)
    x = torch.ones(4, 3)
    layer(x).sum().backward()
    np.testing.assert_allclose(layer.w.grad.numpy(), np.full((3, 2), 4.0))
    assert type(layer.w * 2) is torch.Tensor  # torch's disabled __torch_function__: no dispatch cost


def test_add_weight_keras_defaults_glorot_for_floats_zeros_for_ints():
    layer = layers.Layer()
    w = layer.add_weight(shape=(100, 100))
    limit = np.sqrt(6 / 200)
    assert 0 < np.abs(w.numpy()).max() <= limit
    count = layer.add_weight(shape=(), dtype="int64", trainable=True, name="count")
    assert count.dtype == torch.int64 and count.numpy() == 0 and not layer.weights[1].trainable
    assert layer.add_weight().shape == ()


def test_add_weight_legacy_name_first_form_still_works():
    layer = layers.Layer()
    w = layer.add_weight("kernel", (2, 3), "ones", None, False)
    assert layer.kernel is w and layer.weights[0].name == "kernel" and not layer.weights[0].trainable
    np.testing.assert_array_equal(w.numpy(), np.ones((2, 3)))


def test_add_weight_accepts_keras_inert_keywords():
    layer = layers.Layer()
    layer.add_weight(shape=(2,), autocast=False, aggregation="mean", name="w")
    assert layer.weights[0].name == "w"


def test_add_weight_argument_errors_name_the_fix():
    layer = layers.Layer(name="probe")
    with pytest.raises(ArgumentTypeError, match=r"'shape' .*Did you mean.*shape|unexpected keyword argument 'shap'"):
        layer.add_weight(shap=(2,))
    with pytest.raises(ArgumentTypeError, match="shape was passed both positionally and as a keyword"):
        layer.add_weight((2,), shape=(2,))
    with pytest.raises(ShapeError, match=r"known, non-negative ints.*Received: shape=\(None, 2\)"):
        layer.add_weight(shape=(None, 2))
    with pytest.raises(ConfigError, match="without '/'"):
        layer.add_weight(shape=(2,), name="a/b")
    with pytest.raises(ArgumentTypeError, match="at most 3 positional"):
        layer.add_weight((2,), "zeros", "float32", True)


def test_deepcopy_keeps_weight_types():
    layer = Linear(2, 2)
    clone = copy.deepcopy(layer)
    clone.w.assign(np.zeros((2, 2)))
    assert not np.array_equal(layer.w.numpy(), clone.w.numpy())


# ------------------------------------------------------------------------------------------- add_loss
def test_add_loss_values_are_cleared_at_each_outer_call():
    class OuterLayer(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.activity_reg = ActivityRegularizationLayer(1e-2)

        def call(self, inputs):
            return self.activity_reg(inputs)

    layer = OuterLayer()
    assert len(layer.losses) == 0
    layer(np.zeros((1, 1), np.float32))
    assert len(layer.losses) == 1
    layer(np.ones((1, 1), np.float32))
    assert len(layer.losses) == 1 and float(layer.losses[0]) == pytest.approx(1e-2)


def test_losses_list_add_loss_values_then_weight_penalties():
    class OuterLayerWithKernelRegularizer(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(32, kernel_regularizer=keras.regularizers.l2(1e-3))
            self.reg = ActivityRegularizationLayer(1.0)

        def call(self, inputs):
            return self.reg(self.dense(inputs))

    layer = OuterLayerWithKernelRegularizer()
    out = layer(np.ones((1, 1), np.float32))
    kernel = layer.dense.kernel.numpy()
    assert len(layer.losses) == 2
    assert float(layer.losses[0].detach()) == pytest.approx(float(out.numpy().sum()), rel=1e-5)
    assert float(layer.losses[1].detach()) == pytest.approx(1e-3 * float((kernel ** 2).sum()), rel=1e-5)


def test_add_loss_in_a_functional_model_is_not_kept_from_the_symbolic_build():
    inputs = keras.Input(shape=(3,))
    outputs = ActivityRegularizationLayer(1.0)(layers.Dense(2)(inputs))
    model = keras.Model(inputs, outputs)
    assert model.losses == []
    y = model(np.ones((2, 3), np.float32))
    assert len(model.losses) == 1 and float(model.losses[0]) == pytest.approx(float(y.sum()), rel=1e-5)


def test_add_loss_refuses_non_tensors():
    with pytest.raises(ArgumentTypeError, match=r"add_loss\(\) takes a tensor"):
        layers.Layer().add_loss("big")


def test_activity_regularizer_goes_to_losses():
    layer = layers.Dense(2, activity_regularizer="l1", kernel_initializer="ones")
    y = layer(np.ones((4, 3), np.float32))
    assert float(layer.losses[0]) == pytest.approx(0.01 * float(y.abs().sum()) / 4, rel=1e-5)


# ------------------------------------------------------------------------------ tensors handed to users
def test_outer_call_results_answer_numpy_and_still_backpropagate():
    model = keras.Sequential([layers.Input((3,)), layers.Dense(2)])
    y = model(np.ones((1, 3), np.float32))
    assert isinstance(y, EagerTensor) and y.numpy().shape == (1, 2)
    y.sum().backward()
    assert model.layers[0].kernel.grad is not None
    dense = layers.Dense(2)
    assert dense(np.ones((1, 3), np.float32)).numpy().shape == (1, 2)


def test_inner_layer_outputs_stay_plain_tensors():
    seen = []

    class Probe(keras.layers.Layer):
        def call(self, x):
            seen.append(type(x))
            return x

    model = keras.Sequential([layers.Input((3,)), layers.Dense(2), Probe()])
    model(np.ones((1, 3), np.float32))
    assert seen and all(kind is torch.Tensor for kind in seen)


def test_keras_tensor_reports_keras_dtype_shape_and_repr():
    inputs = keras.Input(shape=(28, 28, 1), name="image")
    assert inputs.dtype == "float32" and inputs.dtype == torch.float32
    assert inputs.shape == (None, 28, 28, 1) and inputs.ndim == 4
    assert repr(inputs) == "<KerasTensor shape=(None, 28, 28, 1), dtype=float32, sparse=False, ragged=False, name=image>"


# ------------------------------------------------------------------------------ activation reassignment
@pytest.mark.parametrize("make", [lambda: layers.Dense(3, activation="softmax"),
                                  lambda: layers.Conv2D(3, 1, activation="relu")])
def test_setting_activation_to_none_takes_effect_on_the_next_call(make):
    layer = make()
    x = np.random.default_rng(0).normal(size=(2, 2, 2, 4) if isinstance(layer, layers.Conv2D) else (2, 4))
    x = x.astype(np.float32)
    before = layer(x).numpy()
    layer.activation = None
    after = layer(x).numpy()
    assert not np.allclose(before, after)
    assert layer.get_config()["activation"] == "linear"
    layer.activation = "relu"
    np.testing.assert_allclose(layer(x).numpy(), np.maximum(after, 0), rtol=1e-6)


def test_grad_cam_style_last_activation_none_in_a_sequential():
    model = keras.Sequential([layers.Input((4, 4, 1)), layers.Conv2D(2, 3, activation="relu"),
                              layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(3, activation="softmax")])
    x = np.random.default_rng(1).normal(size=(2, 4, 4, 1)).astype(np.float32)
    probabilities = model(x).numpy()
    model.layers[-1].activation = None
    logits = model(x).numpy()
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(softmax, probabilities, rtol=1e-5)


def test_user_layer_may_keep_activation_none_as_its_own_marker():
    class Plain(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.activation = None

    assert Plain().activation is None


# ------------------------------------------------------------------------------------------- Variable
def test_top_level_variable_has_keras_api():
    v = keras.Variable(2.0, name="scale")
    assert v.dtype == "float32" and v.shape == () and v.trainable and v.name == "scale"
    v.assign_add(1.0)
    v.assign_sub(0.5)
    assert float(v) == 2.5 and v.numpy() == np.float32(2.5)
    x = torch.ones(3)
    np.testing.assert_allclose((v * x).detach().numpy(), [2.5] * 3)
    np.testing.assert_allclose((x * v).detach().numpy(), [2.5] * 3)
    product = torch.matmul(torch.ones(1, 2), keras.Variable(np.ones((2, 1))))
    np.testing.assert_allclose(product.detach().numpy(), [[2.0]])
    assert v.value.requires_grad
    assert keras.Variable(1).dtype == "int32" and not keras.Variable(1).trainable


def test_variable_from_initializer_and_errors():
    v = keras.Variable(initializer="ones", shape=(2, 2), dtype="float32", trainable=False)
    np.testing.assert_array_equal(v.numpy(), np.ones((2, 2)))
    assert not v.trainable
    with pytest.raises(ShapeError, match="an initializer needs a shape"):
        keras.Variable(initializer="zeros")
    with pytest.raises(ShapeError, match="expected shape"):
        v.assign(np.zeros(3))


def test_layer_weights_are_keras_variables():
    layer = layers.Dense(2)
    layer.build((None, 3))
    assert all(isinstance(v, keras.Variable) for v in layer.weights)
    assert keras.backend.standardize_dtype(layer.weights[0].dtype) == "float32"


# --------------------------------------------------------------------------------------- models
class CustomModel(keras.Model):
    def marker(self):
        return "custom"


def test_model_subclass_built_from_inputs_and_outputs_is_functional():
    inputs = keras.Input(shape=(4,))
    outputs = layers.Dense(2)(inputs)
    model = CustomModel(inputs, outputs)
    assert isinstance(model, CustomModel) and model.marker() == "custom"
    assert type(model).__name__ == "CustomModel" and model.name.startswith("custom_model")
    assert model.outputs[0].shape == (None, 2) and model.count_params() == 10
    assert model(np.ones((1, 4), np.float32)).shape == (1, 2)


def test_model_from_config_for_sequential_functional_and_subclasses():
    seq = keras.Sequential([layers.Input((3,)), layers.Dense(2)])
    assert keras.Sequential.from_config(seq.get_config()).count_params() == 8
    inputs = keras.Input(shape=(4,))
    functional = keras.Model(inputs, layers.Dense(2)(inputs))
    assert keras.Model.from_config(functional.get_config()).count_params() == 10
    custom = CustomModel(inputs, layers.Dense(3)(inputs))
    rebuilt = CustomModel.from_config(custom.get_config())
    assert isinstance(rebuilt, CustomModel) and rebuilt.count_params() == 15

    class Net(keras.Model):
        def __init__(self, units=2, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.dense = layers.Dense(units)

        def call(self, x):
            return self.dense(x)

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    net = Net.from_config(Net(units=5).get_config())
    assert net.units == 5


def test_model_from_config_for_a_subclass_without_the_arguments_says_how_to_fix():
    class Net(keras.Model):
        def __init__(self, units):
            super().__init__()

    with pytest.raises(ConfigError, match="could not rebuild the model from its config"):
        Net.from_config({"name": "net"})


def test_gradient_with_respect_to_a_handed_out_intermediate_output_flows():
    # The Grad-CAM pattern: a model returning a conv output and the predictions made from it.
    inputs = keras.Input((8, 8, 1))
    conv = keras.layers.Conv2D(4, 3)(inputs)
    dense = keras.layers.Dense(3)
    out = dense(keras.layers.Flatten()(conv))
    feature, preds = keras.Model(inputs, [conv, out])(np.random.default_rng(0).random((2, 8, 8, 1), "float32"))
    (grad,) = torch.autograd.grad(preds[:, 0].sum(), feature)
    kernel = dense.kernel.detach().numpy()[:, 0].reshape(6, 6, 4)  # d preds[:, 0] / d feature, per sample
    np.testing.assert_allclose(grad.numpy(), np.broadcast_to(kernel, (2, 6, 6, 4)), rtol=1e-6)
    assert feature.numpy().shape == (2, 6, 6, 4)
