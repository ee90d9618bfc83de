"""keras.saving: registration, scopes, Keras's serialised dict format, JSON round trips and clone_model."""

import numpy as np
import pytest

import cnnlab as keras
from cnnlab.errors import ArgumentTypeError, ConfigError


@pytest.fixture(autouse=True)
def clean_registry():
    saved = dict(keras.saving.get_custom_objects())
    keras.saving.get_custom_objects().clear()
    yield
    keras.saving.get_custom_objects().clear()
    keras.saving.get_custom_objects().update(saved)


def _scale_class():
    class Scale(keras.layers.Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    return Scale


def test_register_keras_serializable_names_the_object_package_then_name():
    Scale = keras.saving.register_keras_serializable(package="MyLayers")(_scale_class())
    assert keras.saving.get_registered_name(Scale) == "MyLayers>Scale"
    assert keras.saving.get_registered_object("MyLayers>Scale") is Scale
    assert keras.saving.get_custom_objects() == {"MyLayers>Scale": Scale}
    assert keras.saving.get_registered_name(len) == "len"


def test_register_refuses_a_package_with_the_separator():
    with pytest.raises(ConfigError, match="without '>'"):
        keras.saving.register_keras_serializable(package="a>b")


@pytest.mark.parametrize("suffix", ["keras", "h5", "cnnlab"])
def test_registered_layer_and_function_load_without_custom_objects(tmp_path, suffix):
    Scale = keras.saving.register_keras_serializable(package="MyLayers")(_scale_class())

    @keras.saving.register_keras_serializable(package="fns", name="square")
    def square(x):
        return x**2

    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2, activation=square)(Scale(0.5)(inputs)))
    path = tmp_path / f"m.{suffix}"
    model.save(path)
    loaded = keras.models.load_model(path)
    x = np.random.default_rng(0).random((4, 3)).astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    assert isinstance(loaded.layers[1], Scale)


def test_custom_object_scope_finds_classes_only_inside_the_block(tmp_path):
    Scale = _scale_class()
    inputs = keras.Input((3,))
    keras.Model(inputs, Scale()(inputs)).save(tmp_path / "m.keras")
    with keras.saving.custom_object_scope({"Scale": Scale}):
        assert isinstance(keras.models.load_model(tmp_path / "m.keras").layers[1], Scale)
    with pytest.raises(Exception, match="Scale"):
        keras.models.load_model(tmp_path / "m.keras")


def test_custom_object_scope_refuses_a_non_dict():
    with pytest.raises(ArgumentTypeError, match="dict of names"):
        keras.saving.CustomObjectScope(["Scale"])


def test_serialize_keras_object_writes_keras_dict_format_for_each_kind():
    cases = [keras.regularizers.L2(0.01), keras.initializers.HeNormal(), keras.constraints.MaxNorm(3),
             keras.losses.MeanSquaredError(), keras.optimizers.Adam(1e-3), keras.layers.Dense(3)]
    for obj in cases:
        entry = keras.saving.serialize_keras_object(obj)
        assert set(entry) == {"module", "class_name", "config", "registered_name"}
        assert entry["class_name"] == type(obj).__name__ and entry["registered_name"] is None
        assert type(keras.saving.deserialize_keras_object(entry)) is type(obj)
    relu = keras.saving.serialize_keras_object(keras.activations.relu)
    assert relu["class_name"] == "function" and relu["config"] == "relu"
    assert keras.saving.deserialize_keras_object(relu) is keras.activations.relu


def test_deserialize_unknown_class_says_how_to_register():
    with pytest.raises(ConfigError, match="register_keras_serializable"):
        keras.saving.deserialize_keras_object({"class_name": "Nope", "config": {}})


def test_serialize_refuses_objects_without_config():
    with pytest.raises(ArgumentTypeError, match="no get_config"):
        keras.saving.serialize_keras_object(object())


def test_to_json_and_model_from_json_rebuild_sequential_and_functional():
    seq = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4), keras.layers.Dense(1)])
    inputs = keras.Input((5,))
    fun = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    for model in (seq, fun):
        rebuilt = keras.models.model_from_json(model.to_json())
        assert type(rebuilt) is type(model) and rebuilt.count_params() == model.count_params()


def test_model_from_json_refuses_text_that_is_not_json():
    with pytest.raises(ConfigError, match="not valid JSON"):
        keras.models.model_from_json("{not json")


def test_clone_model_has_same_shapes_and_new_weights():
    inputs = keras.Input((5,))
    model = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Dense(4)(inputs)))
    clone = keras.models.clone_model(model)
    assert [w.shape for w in clone.get_weights()] == [w.shape for w in model.get_weights()]
    assert not np.allclose(clone.get_weights()[0], model.get_weights()[0])
    seq = keras.Sequential([keras.Input((5,)), keras.layers.Dense(2)])
    twin = keras.models.clone_model(seq, clone_function=lambda layer: layer.__class__.from_config(layer.get_config()))
    assert twin.count_params() == 12


def test_clone_model_refuses_unsupported_arguments():
    seq = keras.Sequential([keras.Input((5,)), keras.layers.Dense(2)])
    with pytest.raises(ConfigError, match="input_tensors"):
        keras.models.clone_model(seq, input_tensors=[keras.Input((5,))])


@pytest.mark.parametrize("suffix", ["keras", "h5", "cnnlab"])
def test_functional_model_subclass_loads_back_as_its_class(tmp_path, suffix):
    class CustomModel(keras.Model):
        pass

    inputs = keras.Input((4,))
    model = CustomModel(inputs, keras.layers.Dense(2)(inputs))
    model.save(tmp_path / f"m.{suffix}")
    loaded = keras.models.load_model(tmp_path / f"m.{suffix}", custom_objects={"CustomModel": CustomModel})
    assert isinstance(loaded, CustomModel)
    x = np.ones((2, 4), "float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_functional_from_config_keeps_graph_of_a_layer_whose_config_has_no_name():
    class Bare(keras.layers.Layer):
        def call(self, x):
            return x + 1

        def get_config(self):
            return {}

    inputs = keras.Input((4,))
    model = keras.Model(inputs, Bare()(inputs))
    rebuilt = keras.Model.from_config(model.get_config(), custom_objects={"Bare": Bare})
    assert tuple(rebuilt.output_shape) == (None, 4)


def test_layer_weights_are_the_objects_add_weight_returned():
    class Linear(keras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], 2))
            self.b = self.add_weight(shape=(2,), initializer="zeros", trainable=False)

        def call(self, x):
            return x @ self.w + self.b

    layer = Linear()
    layer.build((None, 3))
    assert layer.weights == [layer.w, layer.b]
    assert layer.trainable_weights[0] is layer.w and layer.non_trainable_weights[0] is layer.b
    assert all(isinstance(w, keras.Variable) for w in layer.weights)
    dense = keras.layers.Dense(2, kernel_regularizer="l2")
    dense.build((None, 3))
    assert dense.weights[0].regularizer is not None and len(dense.losses) == 1
