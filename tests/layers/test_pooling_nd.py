"""1-D and 3-D pooling (local and global) against a NumPy reference with TensorFlow's padding rules."""

import itertools

import numpy as np
import pytest
from numpy_reference import tf_same_pads

from cnnlab import layers
from cnnlab.errors import ConfigError, ShapeError

TOL = dict(rtol=1e-5, atol=1e-5)
POOLS = {
    (1, "max"): layers.MaxPooling1D, (1, "avg"): layers.AveragePooling1D,
    (3, "max"): layers.MaxPooling3D, (3, "avg"): layers.AveragePooling3D,
}


def _random(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def pool_nd_channels_last(x, kind, pool_size, strides, padding):
    """Naive n-D pooling of ``(N, *spatial, C)``; 'same' pads TF's way and padded cells never count."""
    x = np.asarray(x, np.float64)
    spatial = x.shape[1:-1]
    pads = [tf_same_pads(n, k, s) if padding == "same" else (0, 0) for n, k, s in zip(spatial, pool_size, strides)]
    real = np.pad(np.ones(spatial, bool), pads)
    xp = np.pad(x, [(0, 0), *pads, (0, 0)])
    out_sizes = [(xp.shape[1 + i] - pool_size[i]) // strides[i] + 1 for i in range(len(spatial))]
    out = np.zeros((x.shape[0], *out_sizes, x.shape[-1]))
    for position in itertools.product(*(range(n) for n in out_sizes)):
        window = tuple(slice(p * s, p * s + k) for p, s, k in zip(position, strides, pool_size))
        cells = xp[(slice(None), *window)][:, real[window], :]  # (n, real cells, c)
        out[(slice(None), *position)] = cells.max(axis=1) if kind == "max" else cells.mean(axis=1)
    return out


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize(
    "size, pool, strides, padding",
    [
        (8, 2, None, "valid"),
        (9, 3, 2, "valid"),
        (7, 2, None, "valid"),  # the last step is dropped
        (7, 2, None, "same"),  # odd input: one padded step at the end
        (8, 3, 2, "same"),  # even input, stride 2: total padding 1, at the end
        (6, 4, 1, "same"),  # padding 1 before, 2 after
        (5, 5, 3, "same"),
    ],
)
def test_1d_pooling_matches_numpy_reference(kind, size, pool, strides, padding):
    x = _random((2, size, 3))
    got = POOLS[1, kind](pool, strides=strides, padding=padding)(x).numpy()
    s = pool if strides is None else strides
    expected = pool_nd_channels_last(x, kind, (pool,), (s,), padding)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, **TOL)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize(
    "shape, pool, strides, padding",
    [
        ((4, 4, 4), (2, 2, 2), None, "valid"),
        ((5, 6, 7), (2, 3, 2), (1, 2, 3), "valid"),
        ((5, 6, 7), (2, 3, 2), (1, 2, 3), "same"),  # uneven padding on every axis
        ((3, 4, 5), (3, 3, 3), (2, 2, 2), "same"),
        ((2, 3, 3), (1, 2, 2), None, "same"),
    ],
)
def test_3d_pooling_matches_numpy_reference(kind, shape, pool, strides, padding):
    x = _random((2, *shape, 3), seed=sum(shape))
    got = POOLS[3, kind](pool, strides=strides, padding=padding)(x).numpy()
    expected = pool_nd_channels_last(x, kind, pool, pool if strides is None else strides, padding)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, **TOL)


@pytest.mark.parametrize("rank, kind", sorted(POOLS))
def test_channels_first_pooling_matches_channels_last(rank, kind):
    x_last = _random((2, *(7,) * rank, 3))
    order = (0, rank + 1, *range(1, rank + 1))
    layer = POOLS[rank, kind](3, strides=2, padding="same", data_format="channels_first")
    got = layer(x_last.transpose(order)).numpy()
    expected = pool_nd_channels_last(x_last, kind, (3,) * rank, (2,) * rank, "same").transpose(order)
    np.testing.assert_allclose(got, expected, **TOL)


def test_1d_average_pooling_same_leaves_padding_out_of_the_average():
    # 1..5, pool 2, stride 2, 'same': one padded step at the end -> [(1+2)/2, (3+4)/2, 5/1]
    x = np.arange(1, 6, dtype=np.float32).reshape(1, 5, 1)
    np.testing.assert_allclose(layers.AveragePooling1D(2, padding="same")(x).numpy()[0, :, 0], [1.5, 3.5, 5], **TOL)


def test_3d_max_pooling_same_never_picks_the_padding():
    x = -np.arange(1, 28, dtype=np.float32).reshape(1, 3, 3, 3, 1)  # all negative: a padded 0 would win
    got = layers.MaxPooling3D(2, padding="same")(x).numpy()[0, ..., 0]
    assert got.shape == (2, 2, 2)
    assert got[-1, -1, -1] == -27 and got[0, 0, 0] == -1


def test_keras_defaults_and_aliases():
    assert layers.MaxPooling1D().pool_size == (2,) and layers.MaxPooling1D().strides == (2,)
    assert layers.MaxPooling3D().pool_size == (2, 2, 2)
    assert layers.AveragePooling3D((1, 2, 3)).strides == (1, 2, 3)  # strides default to pool_size
    with pytest.raises(TypeError, match="pool_size"):
        layers.AveragePooling1D()  # Keras gives AveragePooling1D/3D no default pool size
    assert layers.MaxPool1D is layers.MaxPooling1D and layers.AvgPool3D is layers.AveragePooling3D
    assert layers.GlobalAvgPool1D is layers.GlobalAveragePooling1D
    assert layers.GlobalMaxPool3D is layers.GlobalMaxPooling3D


def test_pooling_config_has_keras_keys():
    config = layers.AveragePooling3D(2, strides=(1, 2, 1), padding="same", name="p").get_config()
    assert config == {"name": "p", "trainable": True, "dtype": "float32", "pool_size": (2, 2, 2),
                      "strides": (1, 2, 1), "padding": "same", "data_format": "channels_last"}
    assert layers.GlobalMaxPooling1D(keepdims=True, name="g").get_config() == {
        "name": "g", "trainable": True, "dtype": "float32", "data_format": "channels_last", "keepdims": True}


@pytest.mark.parametrize("rank", [1, 3])
def test_global_pooling_reduces_every_spatial_axis(rank):
    x = _random((2, *range(3, 3 + rank), 4))
    axes = tuple(range(1, rank + 1))
    average = {1: layers.GlobalAveragePooling1D, 3: layers.GlobalAveragePooling3D}[rank]
    maximum = {1: layers.GlobalMaxPooling1D, 3: layers.GlobalMaxPooling3D}[rank]
    np.testing.assert_allclose(average()(x).numpy(), x.mean(axis=axes), **TOL)
    np.testing.assert_allclose(maximum()(x).numpy(), x.max(axis=axes), **TOL)
    np.testing.assert_allclose(average(keepdims=True)(x).numpy(), x.mean(axis=axes, keepdims=True), **TOL)
    first = np.moveaxis(x, -1, 1)
    np.testing.assert_allclose(maximum(data_format="channels_first")(first).numpy(), x.max(axis=axes), **TOL)


def test_window_larger_than_steps_with_valid_padding_is_a_shape_error():
    with pytest.raises(ShapeError, match=r"pool window \(4\) is larger than the input steps \(3\).*padding='same'"):
        layers.MaxPooling1D(4)(_random((1, 3, 2)))


def test_window_larger_than_depth_is_a_shape_error_naming_the_axis():
    with pytest.raises(ShapeError, match=r"larger than the input depth \(1\).*volume has shrunk"):
        layers.AveragePooling3D(2)(_random((1, 1, 4, 4, 2)))


def test_pooling_rejects_input_of_the_wrong_rank_with_the_layout():
    with pytest.raises(ShapeError, match=r"MaxPooling3D .* expects 5-D input \(batch, depth, height, width, chann"):
        layers.MaxPooling3D()(_random((1, 4, 4, 2)))
    with pytest.raises(ShapeError, match=r"expects 3-D input \(batch, features, steps\)"):
        layers.GlobalMaxPooling1D(data_format="channels_first")(_random((1, 4, 4, 2)))


@pytest.mark.parametrize("kwargs, arg", [
    ({"pool_size": (2, 2)}, "pool_size"),
    ({"pool_size": 0}, "pool_size"),
    ({"pool_size": 2, "strides": (1, 2)}, "strides"),
    ({"pool_size": 2, "padding": "full"}, "padding"),
    ({"pool_size": 2, "data_format": "NCW"}, "data_format"),
])
def test_bad_1d_pooling_arguments_name_the_argument(kwargs, arg):
    with pytest.raises(ConfigError, match=rf"AveragePooling1D .*{arg}.*Received: {arg}="):
        layers.AveragePooling1D(**kwargs)


def test_3d_pool_size_needs_three_values():
    with pytest.raises(ConfigError, match=r"tuple of 3 positive ints.*Received: pool_size=\(2, 2\)"):
        layers.MaxPooling3D((2, 2))


def test_global_pooling_rejects_a_bad_data_format():
    with pytest.raises(ConfigError, match="GlobalAveragePooling3D .*data_format"):
        layers.GlobalAveragePooling3D(data_format="channels_middle")


def test_old_import_path_of_global_pooling_still_works():
    from cnnlab.layers.pooling import GlobalAveragePooling2D

    assert GlobalAveragePooling2D is layers.GlobalAveragePooling2D


def test_pooling_backward_pass_matches_numpy_gradient_of_average():
    import torch

    x = torch.from_numpy(_random((1, 5, 2))).requires_grad_()
    layers.AveragePooling1D(2, padding="same")(x).sum().backward()
    # each step feeds one window; the last window holds only step 5, so its weight is 1, the others 1/2
    np.testing.assert_allclose(x.grad.numpy()[0, :, 0], [0.5, 0.5, 0.5, 0.5, 1.0], **TOL)
