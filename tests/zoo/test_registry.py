"""The zoo registry and every registered model (registry-driven: a new model is covered by registering it)."""

import numpy as np
import pytest

from cnnlab import zoo
from cnnlab.errors import ArgumentTypeError, ConfigError, UnknownNameError

SHAPES = [(28, 28, 1), (8, 8, 1), (32, 32, 3)]


@pytest.mark.parametrize("name", zoo.list_models())
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_every_zoo_model_builds_and_predicts_probabilities(name, shape):
    model = zoo.create_model(name, input_shape=shape, num_classes=7)
    assert model.count_params() > 0
    probs = model.predict(np.random.default_rng(0).random((3, *shape), dtype=np.float32), verbose=0)
    assert probs.shape == (3, 7)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)  # a softmax output
    assert zoo.model_entrypoint(name).__doc__


@pytest.mark.parametrize("name", zoo.list_models())
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
    assert zoo.list_models("*net*") == ["lenet5", "small_resnet"]
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
