"""User mistakes: the exact error class, a message naming the place, and a suggested fix."""

import re

import numpy as np
import pytest
from architectures import mnist_cnn_layers

import cnnlab
from cnnlab import layers
from cnnlab.errors import ArgumentTypeError, ConfigError, ShapeError, UnknownNameError


def _mnist_model():
    return cnnlab.Sequential(mnist_cnn_layers({"input_shape": (28, 28, 1)}))


def test_batch_without_channel_axis_gets_it_when_the_input_shape_is_known():
    # Keras adds the size-1 axis a model's Input ends with; a model that learns its shape from the data cannot.
    x = np.zeros((5, 28, 28), np.float32)
    assert tuple(_mnist_model()(x).shape) == (5, 10)
    with pytest.raises(ShapeError) as info:
        cnnlab.Sequential(mnist_cnn_layers())(x)
    message = str(info.value)
    assert re.search(r"Conv2D 'conv2d(_\d+)?' expects 4-D input \(batch, height, width, channels\)", message)
    assert "28, 28)" in message
    assert "x.reshape(x.shape + (1,))" in message


def test_single_conv_layer_on_3d_input_suggests_the_channel_axis():
    with pytest.raises(ShapeError, match=re.escape("got shape (60000, 28, 28). Add a channel axis: "
                                                   "x.reshape(x.shape + (1,))")):
        layers.Conv2D(32, 3)(np.zeros((60000, 28, 28), np.uint8))


def test_channels_first_data_into_channels_last_model_suggests_transpose():
    with pytest.raises(ShapeError, match=r"conv2d.*\(5, 1, 28, 28\).*channels-first.*x\.transpose\(0, 2, 3, 1\)"):
        _mnist_model()(np.zeros((5, 1, 28, 28), np.float32))


def test_channel_mismatch_with_a_built_layer_names_both_counts():
    conv = layers.Conv2D(4, 3)
    conv(np.zeros((1, 8, 8, 3), np.float32))
    with pytest.raises(ShapeError, match=r"Conv2D 'conv2d' was built for inputs with 3 on channels.*\(1, 8, 8, 5\)"):
        conv(np.zeros((1, 8, 8, 5), np.float32))


def test_dense_on_images_suggests_flatten():
    dense = layers.Dense(2)
    dense(np.zeros((3, 20), np.float32))
    with pytest.raises(ShapeError, match=r"Dense 'dense'.*Add a Flatten\(\) layer"):
        dense(np.zeros((3, 4, 4, 5), np.float32))


def test_kernel_larger_than_valid_input_says_how_to_fix():
    with pytest.raises(ShapeError, match=r"Conv2D 'conv2d': the kernel height \(5\) is larger than the input height "
                                         r"\(3\) with padding='valid'.*padding='same'"):
        layers.Conv2D(4, 5)(np.zeros((1, 3, 3, 1), np.float32))


def test_image_shrunk_too_far_inside_a_model_shows_shapes_layer_by_layer():
    with pytest.raises(ShapeError) as info:
        cnnlab.Sequential([layers.Input((12, 12, 1)), layers.Conv2D(4, 5), layers.MaxPooling2D(2), layers.Conv2D(8, 5)])
    message = str(info.value)
    assert "conv2d (Conv2D): (None, 12, 12, 1) -> (None, 8, 8, 4)  [(12 - 5)/1 + 1 = 8" in message
    assert "max_pooling2d (MaxPooling2D): (None, 8, 8, 4) -> (None, 4, 4, 4)" in message
    assert "conv2d_1 (Conv2D): input (None, 4, 4, 4)  <-- fails here" in message


@pytest.mark.parametrize("make", [
    lambda: layers.Conv2D(32, 3, padding="sane"),
    lambda: layers.MaxPooling2D(2, padding="sane"),
    lambda: layers.AveragePooling2D(2, padding="sane"),
])
def test_bad_padding_lists_valid_choices(make):
    with pytest.raises(ConfigError) as info:
        make()
    message = str(info.value)
    assert "'valid'" in message and "'same'" in message
    assert message.endswith("Received: padding='sane'")


def test_unknown_activation_gets_did_you_mean():
    with pytest.raises(UnknownNameError, match=r"Conv2D 'conv2d' argument activation: unknown activation 'rleu'\. "
                                               r"Did you mean 'relu'\?.*Received: activation='rleu'"):
        layers.Conv2D(32, 3, activation="rleu")


def test_unknown_initializer_gets_did_you_mean():
    with pytest.raises(UnknownNameError, match=r"Dense 'dense' argument kernel_initializer.*'he_normall'\. "
                                               r"Did you mean 'he_normal'\?"):
        layers.Dense(3, kernel_initializer="he_normall")


def test_activation_string_none_suggests_none_or_linear():
    with pytest.raises(UnknownNameError, match=r"pass None \(without quotes\) or 'linear'.*Received: activation='None'"):
        layers.Dense(10, activation="None")


def test_misspelt_keyword_names_the_right_one():
    with pytest.raises(ArgumentTypeError) as info:
        layers.Conv2D(filter=32, kernel_size=3)
    assert isinstance(info.value, TypeError)
    assert "unexpected keyword argument 'filter'. Did you mean 'filters'?" in str(info.value)
    assert str(info.value).endswith("Received: filter=32")


def test_misspelt_layer_class_names_the_right_one():
    with pytest.raises(AttributeError, match=r"'Conv2d'\. Did you mean 'Conv2D'\?"):
        layers.Conv2d  # noqa: B018


def test_layer_looked_up_on_the_top_level_points_to_cnnlab_layers():
    with pytest.raises(AttributeError, match=r"use cnnlab\.layers\.Dense"):
        cnnlab.Dense  # noqa: B018


def test_wrong_number_of_inputs_to_a_functional_model():
    a, b = layers.Input((4,), name="a"), layers.Input((3,), name="b")
    model = cnnlab.Model([a, b], layers.Concatenate()([a, b]))
    x = np.zeros((2, 4), np.float32)
    with pytest.raises(ShapeError, match=r"Model 'functional' expects 2 inputs \('a' \(None, 4\), 'b' \(None, 3\)\); "
                                         r"got 1\. Pass a list of 2 arrays in that order"):
        model(x)
    with pytest.raises(ShapeError, match="got 3"):
        model([x, x, x])


@pytest.mark.parametrize("make, argument", [
    (lambda: layers.Conv2D(0, 3), "filters=0"),
    (lambda: layers.Conv2D(8, 0), "kernel_size=0"),
    (lambda: layers.Conv2D(8, (3, -1)), "kernel_size=(3, -1)"),
    (lambda: layers.Dense(-1), "units=-1"),
    (lambda: layers.Dense(0), "units=0"),
    (lambda: layers.MaxPooling2D(0), "pool_size=0"),
    (lambda: layers.Dropout(rate=1.5), "rate=1.5"),
    (lambda: layers.Dropout(rate=-0.1), "rate=-0.1"),
])
def test_bad_sizes_and_rates_fail_in_the_constructor(make, argument):
    with pytest.raises(ConfigError) as info:
        make()
    assert str(info.value).endswith(f"Received: {argument}")


def test_strings_as_input_data_ask_for_numbers():
    model = cnnlab.Sequential([layers.Dense(2, input_shape=(4,))])
    with pytest.raises(ArgumentTypeError, match=r"expects numeric input.*dtype <U1.*x\.astype\('float32'\)"):
        model(np.array([["a", "b", "c", "d"]]))
    with pytest.raises(ArgumentTypeError, match="expects numeric input"):
        layers.Conv2D(2, 1)(np.full((1, 2, 2, 1), "7"))


def test_nested_lists_are_array_data_and_ragged_rows_are_explained():
    from cnnlab import layers as L

    assert tuple(L.Dense(2)([[1.0, 2.0], [3.0, 4.0]]).shape) == (2, 2)
    with pytest.raises(ArgumentTypeError, match=r"Dense 'dense_1' cannot turn the input into an array.*rows of equal length"):
        L.Dense(2)([[1, 2], [3]])
