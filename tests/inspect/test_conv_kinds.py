"""Grad-CAM and filter plots for every 2-D convolution: Conv2D, SeparableConv2D, DepthwiseConv2D, Conv2DTranspose."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

import cnnlab
from cnnlab import inspect, layers
from cnnlab.errors import ConfigError

CONV_KINDS = {
    "Conv2D": lambda: layers.Conv2D(4, 3, padding="same", name="maps"),
    "SeparableConv2D": lambda: layers.SeparableConv2D(4, 3, padding="same", name="maps"),
    "DepthwiseConv2D": lambda: layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2, name="maps"),
    "Conv2DTranspose": lambda: layers.Conv2DTranspose(4, 3, padding="same", name="maps"),
}


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def cam_model(kind):
    """conv (same size as the input) -> global average -> linear Dense: Grad-CAM has a closed form."""
    return cnnlab.Sequential([layers.Input(shape=(6, 6, 2)), CONV_KINDS[kind](), layers.GlobalAveragePooling2D(),
                              layers.Dense(3, name="out")])


@pytest.mark.parametrize("kind", sorted(CONV_KINDS))
def test_grad_cam_reads_the_last_2d_convolution_of_any_kind(kind):
    model = cam_model(kind)
    x = np.random.default_rng(0).normal(size=(2, 6, 6, 2)).astype("float32")
    heat = inspect.grad_cam(model, x, class_index=1)
    # Through global average pooling and a linear Dense, d score_c / d A[i, j, k] = W[k, c] / (H * W), so the
    # channel weights are W[:, c] / 36 and the map (already at input size: no resize) is relu(A @ w), normalised.
    maps = inspect.feature_maps(model, x, "maps")
    weights = model.get_layer("out").get_weights()[0][:, 1] / 36
    expected = np.maximum(maps @ weights, 0)
    expected = expected / expected.max(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(heat, expected, rtol=1e-4, atol=1e-6)


def test_grad_cam_without_a_2d_convolution_names_the_accepted_layers():
    model = cnnlab.Sequential([layers.Input(shape=(6, 6, 1)), layers.Flatten(), layers.Dense(2)])
    with pytest.raises(ConfigError, match="SeparableConv2D, DepthwiseConv2D, Conv2DTranspose"):
        inspect.grad_cam(model, np.zeros((6, 6, 1), "float32"))


def _shown(fig):
    return [ax.images[0].get_array() for ax in fig.axes if ax.images]


def test_plot_filters_of_a_transposed_conv_slices_its_input_channel():
    layer = layers.Conv2DTranspose(3, 2)
    layer.build((None, 5, 5, 2))
    kernel = layer.get_weights()[0]  # Keras layout (kh, kw, filters, in)
    shown = _shown(inspect.plot_filters(layer, input_channel=1))
    assert len(shown) == 3
    for f, image in enumerate(shown):
        np.testing.assert_allclose(image, kernel[:, :, f, 1])


def test_plot_filters_of_depthwise_and_separable_show_the_kernels_of_one_channel():
    depthwise = layers.DepthwiseConv2D(3, depth_multiplier=2)
    depthwise.build((None, 5, 5, 3))
    kernel = depthwise.get_weights()[0]  # (kh, kw, in, depth_multiplier)
    shown = _shown(inspect.plot_filters(depthwise, input_channel=2))
    assert len(shown) == 2
    np.testing.assert_allclose(shown[1], kernel[:, :, 2, 1])
    separable = layers.SeparableConv2D(4, 3, depth_multiplier=3)
    separable.build((None, 5, 5, 2))
    depthwise_kernel = separable.get_weights()[0]
    shown = _shown(inspect.plot_filters(separable, input_channel=0))
    assert len(shown) == 3
    np.testing.assert_allclose(shown[2], depthwise_kernel[:, :, 0, 2])


def test_plot_filters_rejects_a_1d_convolution():
    layer = layers.Conv1D(2, 3)
    layer.build((None, 8, 1))
    with pytest.raises(ConfigError, match="no 4-D convolution kernel"):
        inspect.plot_filters(layer)
