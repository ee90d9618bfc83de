"""Initializers: Keras formulas checked statistically, plus lookup, seeds and configs."""

import math

import numpy as np
import pytest
import torch

from cnnlab import initializers as init
from cnnlab.errors import ArgumentTypeError, ConfigError, ShapeError, UnknownNameError

CONV = (3, 3, 32, 64)  # fan_in = 3*3*32 = 288, fan_out = 3*3*64 = 576


@pytest.mark.parametrize(
    "shape, fans",
    [((), (1, 1)), ((7,), (7, 7)), ((5, 3), (5, 3)), (CONV, (288, 576)), ((5, 4, 2), (20, 10))],
)
def test_compute_fans_uses_keras_layout(shape, fans):
    assert init.compute_fans(shape) == fans


def test_glorot_uniform_on_conv_kernel_has_keras_bound_and_variance():
    bound = math.sqrt(6 / (288 + 576))
    w = init.GlorotUniform()(CONV)
    assert tuple(w.shape) == CONV and w.dtype == torch.float32
    w = w.double()
    assert w.abs().max().item() <= bound
    assert w.var().item() == pytest.approx(bound**2 / 3, rel=0.05)  # uniform(-b, b) has variance b²/3
    assert w.abs().max().item() > 0.95 * bound  # spans the interval, not a narrower one


@pytest.mark.parametrize(
    "cls, fan, scale",
    [(init.HeNormal, 288, 2.0), (init.LecunNormal, 288, 1.0), (init.GlorotNormal, (288 + 576) / 2, 1.0)],
)
def test_truncated_normal_presets_have_target_std_after_truncation(cls, fan, scale):
    target = math.sqrt(scale / fan)
    w = cls()(CONV)
    assert w.std().item() == pytest.approx(target, rel=0.05)
    # Drawn with stddev target/0.8796 and cut at 2 of those stddevs.
    assert w.abs().max().item() <= 2 * target / 0.87962566103423978 + 1e-7


@pytest.mark.parametrize("cls, fan, scale", [(init.HeUniform, 288, 2.0), (init.LecunUniform, 288, 1.0)])
def test_uniform_presets_use_sqrt_three_scale_over_fan(cls, fan, scale):
    limit = math.sqrt(3 * scale / fan)
    w = cls()(CONV)
    assert w.abs().max().item() <= limit
    assert w.var().item() == pytest.approx(limit**2 / 3, rel=0.05)


def test_variance_scaling_fan_out_untruncated_normal():
    w = init.VarianceScaling(scale=3.0, mode="fan_out", distribution="untruncated_normal")(CONV)
    assert w.std().item() == pytest.approx(math.sqrt(3.0 / 576), rel=0.05)
    assert w.abs().max().item() > 2 * math.sqrt(3.0 / 576)  # not truncated: 184k draws reach beyond 2 sd


def test_truncated_normal_respects_two_stddev_bound_and_mean():
    w = init.TruncatedNormal(mean=1.0, stddev=0.5)((200, 200))
    assert w.min().item() >= 0.0 and w.max().item() <= 2.0
    assert w.mean().item() == pytest.approx(1.0, abs=0.01)
    # Std of a normal truncated at ±2 sd is 0.8796 sd.
    assert w.std().item() == pytest.approx(0.5 * 0.8796, rel=0.03)


def test_random_normal_and_uniform_defaults_are_keras():
    normal = init.RandomNormal()((300, 300))
    assert normal.std().item() == pytest.approx(0.05, rel=0.03)
    uniform = init.RandomUniform()((300, 300))
    assert -0.05 <= uniform.min().item() and uniform.max().item() <= 0.05
    assert uniform.var().item() == pytest.approx(0.1**2 / 12, rel=0.05)


def test_constant_zeros_ones():
    assert torch.equal(init.Constant(2.5)((2, 3)), torch.full((2, 3), 2.5))
    assert torch.equal(init.get("zeros")((4,)), torch.zeros(4))
    assert torch.equal(init.get("ones")((2, 2)), torch.ones(2, 2))


def test_identity_is_gain_times_eye_and_rejects_non_matrix():
    assert torch.equal(init.Identity(gain=2.0)((2, 3)), torch.tensor([[2.0, 0, 0], [0, 2.0, 0]]))
    with pytest.raises(ShapeError, match="2-D"):
        init.Identity()((3, 3, 3))


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (3, 3, 2, 5)])
def test_orthogonal_gives_orthonormal_columns_or_rows(shape):
    w = init.Orthogonal(gain=1.5)(shape, dtype=torch.float64)
    flat = w.reshape(-1, shape[-1])
    small = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
    np.testing.assert_allclose(small.numpy(), 1.5**2 * np.eye(small.shape[0]), atol=1e-10)


def test_unseeded_draws_follow_torch_global_seed():
    torch.manual_seed(123)
    a = init.GlorotUniform()((5, 5))
    b = init.GlorotUniform()((5, 5))
    torch.manual_seed(123)
    assert torch.equal(init.GlorotUniform()((5, 5)), a)
    assert not torch.equal(a, b)


def test_integer_seed_repeats_on_every_call_like_keras3():
    he = init.HeNormal(seed=7)
    assert torch.equal(he((4, 4)), he((4, 4)))
    assert torch.equal(he((4, 4)), init.HeNormal(seed=7)((4, 4)))
    assert not torch.equal(he((4, 4)), init.HeNormal(seed=8)((4, 4)))


def test_generator_argument_is_used_when_no_seed():
    a = init.RandomNormal()((3,), generator=torch.Generator().manual_seed(1))
    b = init.RandomNormal()((3,), generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b)


def test_dtype_argument_and_half_precision():
    assert init.GlorotUniform()((2, 2), dtype=torch.float16).dtype == torch.float16
    assert init.Zeros()((2,), dtype="float64").dtype == torch.float64


@pytest.mark.parametrize(
    "name, cls",
    [
        ("glorot_uniform", init.GlorotUniform), ("GlorotUniform", init.GlorotUniform), ("HE_NORMAL", init.HeNormal),
        ("lecun", init.LecunNormal), ("lecun_uniform", init.LecunUniform), ("random_normal", init.RandomNormal),
        ("truncated_normal", init.TruncatedNormal), ("variance_scaling", init.VarianceScaling),
        ("orthogonal", init.Orthogonal), ("identity", init.Identity), ("constant", init.Constant),
        ("he_uniform", init.HeUniform), ("glorot_normal", init.GlorotNormal), ("random_uniform", init.RandomUniform),
    ],
)
def test_get_by_name_is_case_insensitive(name, cls):
    assert type(init.get(name)) is cls


def test_get_accepts_instance_class_dict_callable_and_none():
    instance = init.HeNormal(seed=1)
    assert init.get(instance) is instance
    assert type(init.get(init.Ones)) is init.Ones
    built = init.get({"class_name": "RandomNormal", "config": {"stddev": 2.0}})
    assert built.stddev == 2.0
    fn = lambda shape, dtype=None: np.ones(shape)  # noqa: E731
    assert init.get(fn) is fn
    assert init.get(None) is None


def test_get_array_used_as_value_and_shape_checked():
    value = np.arange(6.0).reshape(2, 3)
    got = init.get(value)((2, 3))
    np.testing.assert_array_equal(got.numpy(), value)
    with pytest.raises(ShapeError, match=r"\(2, 3\)"):
        init.get(value)((3, 2))


def test_initialize_calls_plain_functions_and_checks_shape():
    got = init.initialize(lambda shape, dtype=None: np.full(shape, 3.0), (2, 2))
    assert torch.equal(got, torch.full((2, 2), 3.0))
    with pytest.raises(ShapeError, match="returned shape"):
        init.initialize(lambda shape, dtype=None: np.zeros(3), (2, 2))


def test_unknown_name_suggests_closest():
    with pytest.raises(UnknownNameError, match=r"Did you mean 'glorot_uniform'\?.*Received: initializer='glorot_unifrom'"):
        init.get("glorot_unifrom")


def test_get_rejects_other_types():
    with pytest.raises(ArgumentTypeError, match="Received: initializer=3.5"):
        init.get(3.5)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"scale": 0}, "scale must be a positive"),
        ({"mode": "fan_inn"}, "mode must be one of fan_in, fan_out, fan_avg"),
        ({"distribution": "gauss"}, "distribution must be one of"),
    ],
)
def test_variance_scaling_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        init.VarianceScaling(**kwargs)


def test_variance_scaling_accepts_normal_as_truncated_normal():
    assert init.VarianceScaling(distribution="normal").distribution == "truncated_normal"


def test_bad_seed_and_shape_raise():
    with pytest.raises(ArgumentTypeError, match="seed"):
        init.RandomNormal(seed="1")
    with pytest.raises(ShapeError, match="shape"):
        init.Zeros()((2, -1))


@pytest.mark.parametrize(
    "instance",
    [
        init.Zeros(), init.Constant(1.5), init.RandomNormal(0.1, 0.2, seed=3), init.RandomUniform(-1, 1),
        init.TruncatedNormal(stddev=0.3), init.VarianceScaling(2.0, "fan_avg", "uniform", seed=4),
        init.GlorotUniform(seed=5), init.HeNormal(), init.LecunUniform(), init.Orthogonal(gain=2.0), init.Identity(3.0),
    ],
)
def test_config_round_trip_rebuilds_equal_initializer(instance):
    config = init.serialize(instance)
    rebuilt = init.deserialize(config)
    assert type(rebuilt) is type(instance)
    assert rebuilt.get_config() == instance.get_config()
    assert config["class_name"] == type(instance).__name__


def test_deserialize_ignores_keras_extra_keys_and_reads_keras_configs():
    keras_style = {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": None},
                   "registered_name": None}
    assert type(init.deserialize(keras_style)) is init.GlorotUniform


def test_serialize_custom_initializer_points_to_custom_objects():
    class MyInit(init.Initializer):
        def _generate(self, shape, dtype, generator):
            return torch.zeros(shape, dtype=dtype)

    with pytest.raises(ConfigError, match="custom_objects"):
        init.serialize(MyInit())
    assert type(init.deserialize({"class_name": "MyInit", "config": {}}, custom_objects={"MyInit": MyInit})) is MyInit


def test_deserialize_rejects_unknown_arguments():
    with pytest.raises(ConfigError, match="does not accept"):
        init.deserialize({"class_name": "Zeros", "config": {"value": 1}})
