"""The zoo registry and every registered model (registry-driven: a new model is covered by registering it)."""

import numpy as np
import pytest

from cnnlab import zoo
from cnnlab.errors import ArgumentTypeError, ConfigError, ShapeError, UnknownNameError

SHAPES = [(28, 28, 1), (8, 8, 1), (32, 32, 3)]
# The tutorial CNNs; Keras's architectures (cnnlab.zoo.applications) have their own tests below.
CLASSIC = [name for name in zoo.list_models() if not zoo.is_application(name)]


@pytest.mark.parametrize("name", CLASSIC)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_every_zoo_model_builds_and_predicts_probabilities(name, shape):
    model = zoo.create_model(name, input_shape=shape, num_classes=7)
    assert model.count_params() > 0
    probs = model.predict(np.random.default_rng(0).random((3, *shape), dtype=np.float32), verbose=0)
    assert probs.shape == (3, 7)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)  # a softmax output
    assert zoo.model_entrypoint(name).__doc__


@pytest.mark.parametrize("name", CLASSIC)
@pytest.mark.parametrize("variant", [{"dropout": 0.5}, {"batch_norm": True}, {"kernel_regularizer": "l2"}])
def test_every_zoo_model_accepts_the_regularisation_options(name, variant):
    model = zoo.create_model(name, input_shape=(8, 8, 1), **variant)
    assert model.predict(np.zeros((1, 8, 8, 1), np.float32), verbose=0).shape == (1, 10)


def test_param_counts_match_hand_worked_totals():
    # lenet5 28x28: conv 5*5*1*6+6=156; conv 5*5*6*16+16=2416; flatten 5*5*16=400;
    # dense 400*120+120=48120; 120*84+84=10164; 84*10+10=850 → 61706.
    assert zoo.create_model("lenet5").count_params() == 61706
    # mnist_cnn_5x5: 5*5*32+32=832; 5*5*32*64+64=51264; flatten 4*4*64=1024;
    # 1024*64+64=65600; 64*10+10=650 → 118346.
    assert zoo.create_model("mnist_cnn_5x5").count_params() == 118346
    # fashion_cnn: 3*3*32+32=320; 3*3*32*64+64=18496; flatten 7*7*64=3136;
    # 3136*100+100=313700; 100*10+10=1010 → 333526.
    assert zoo.create_model("fashion_cnn").count_params() == 333526


def test_small_inputs_are_padded_only_as_much_as_needed():
    # 8x8 digits: LeNet-5 pads by 2 to 12x12, the 5x5 CNN by 4 to 16x16.
    assert zoo.create_model("lenet5", input_shape=(8, 8, 1)).layers[0].get_config()["padding"] == ((2, 2), (2, 2))
    assert zoo.create_model("mnist_cnn_5x5", input_shape=(8, 8, 1)).layers[0].get_config()["padding"] == ((4, 4), (4, 4))
    assert type(zoo.create_model("lenet5").layers[0]).__name__ == "Conv2D"  # 28x28 needs no padding


def test_small_resnet_is_functional_with_residual_adds():
    model = zoo.create_model("small_resnet")
    assert type(model).__name__ == "Functional"
    assert sum(type(layer).__name__ == "Add" for layer in model.layers) == 3


def test_list_models_filters_with_a_pattern():
    assert [n for n in zoo.list_models("*net*") if not zoo.is_application(n)] == ["lenet5", "small_resnet"]
    assert zoo.list_models("small_*") == ["small_resnet", "small_vgg"]
    assert set(zoo.list_models()) >= {"lenet5", "fashion_cnn", "mnist_cnn_5x5", "small_vgg", "small_resnet"}


def test_unknown_name_suggests_the_closest():
    with pytest.raises(UnknownNameError, match="Did you mean 'lenet5'"):
        zoo.create_model("lenet")


def test_unknown_option_names_the_valid_ones():
    with pytest.raises(ArgumentTypeError, match="Did you mean 'dropout'"):
        zoo.create_model("lenet5", dropuot=0.5)


def test_bad_input_shape_is_rejected():
    with pytest.raises(ConfigError, match="channels"):
        zoo.create_model("lenet5", input_shape=(28, 28))


# ------------------------------------------------------------------ Keras's architectures
@pytest.mark.parametrize(("keras_name", "name"), [
    ("MobileNetV2", "mobilenet_v2"), ("MobileNetV3Small", "mobilenet_v3_small"), ("ResNet50", "resnet50"),
    ("ResNet152V2", "resnet152_v2"), ("EfficientNetB0", "efficientnet_b0"), ("EfficientNetV2B3", "efficientnet_v2_b3"),
    ("EfficientNetV2S", "efficientnet_v2_s"), ("ConvNeXtXLarge", "convnext_xlarge"), ("InceptionV3", "inception_v3"),
    ("DenseNet121", "densenet121"), ("VGG16", "vgg16"), ("Xception", "xception"), ("MobileNet", "mobilenet"),
])
def test_applications_are_registered_under_keras_names_in_snake_case(keras_name, name):
    assert zoo.is_application(name) and zoo.is_model(name)
    assert f"applications.{keras_name}" in zoo.model_entrypoint(name).__doc__


def test_every_public_application_builder_is_in_the_zoo():
    from cnnlab import applications

    builders = [n for n in applications.__all__ if n[0].isupper()]
    assert len([n for n in zoo.list_models() if zoo.is_application(n)]) == len(set(builders)) >= 37


def test_application_is_built_with_keras_arguments_and_random_weights():
    from cnnlab import applications
    from cnnlab.layers.base import reset_names

    model = zoo.create_model("mobilenet_v2", input_shape=(32, 32, 1), num_classes=4)
    reset_names()
    keras_way = applications.MobileNetV2(weights=None, input_shape=(32, 32, 1), classes=4)
    assert model.name == keras_way.name == "mobilenetv2_1.00_32"
    assert model.count_params() == keras_way.count_params()
    probs = model.predict(np.random.default_rng(0).random((2, 32, 32, 1), dtype=np.float32), verbose=0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize(("name", "smallest"), [("mobilenet_v2", 32), ("resnet50", 32), ("inception_v3", 75),
                                                 ("xception", 71)])
def test_application_refuses_small_images_naming_the_minimum_and_image_size(name, smallest):
    with pytest.raises(ShapeError, match=f"at least {smallest}x{smallest}.*--image-size"):
        zoo.create_model(name, input_shape=(smallest - 1, smallest, 3))


def test_application_loads_a_weights_file(tmp_path):
    model = zoo.create_model("mobilenet_v3_small", input_shape=(32, 32, 3), num_classes=3)
    path = str(tmp_path / "m.weights.h5")
    model.save_weights(path)
    again = zoo.create_model("mobilenet_v3_small", input_shape=(32, 32, 3), num_classes=3, weights=path)
    for got, want in zip(again.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(got, want)


def test_application_rejects_the_classic_regularisation_options():
    with pytest.raises(ArgumentTypeError, match="Options of mobilenet_v2: weights"):
        zoo.create_model("mobilenet_v2", input_shape=(32, 32, 3), dropout=0.5)
