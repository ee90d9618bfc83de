"""tf.random's TensorFlow-only names: stateless ops, split, Generator and the global generator.

Values are cnnlab's own stream (not TF's Philox), so these check TF's contract: seeds replay, shapes, dtypes
and ranges, and the errors.
"""

import numpy as np
import pytest

import cnnlab as tf
from cnnlab.errors import ArgumentTypeError, ConfigError, ShapeError


def test_tf_random_is_one_namespace_with_the_keras_names():
    assert tf.random.stateless_uniform is not None and tf.random.normal is not None
    assert tf.random is tf.keras.random


def test_stateless_uniform_replays_the_seed_and_stays_in_range():
    a = tf.random.stateless_uniform([1000], seed=(3, 4), minval=-2.0, maxval=5.0)
    np.testing.assert_array_equal(a.numpy(), tf.random.stateless_uniform([1000], (3, 4), -2.0, 5.0).numpy())
    assert a.dtype == tf.float32 and -2.0 <= a.numpy().min() and a.numpy().max() < 5.0
    assert not np.array_equal(a.numpy(), tf.random.stateless_uniform([1000], (4, 3), -2.0, 5.0).numpy())


def test_stateless_uniform_draws_integers_in_half_open_range():
    out = tf.random.stateless_uniform([2000], seed=(1, 1), minval=3, maxval=7, dtype=tf.int32).numpy()
    assert out.dtype == np.int32 and set(np.unique(out)) == {3, 4, 5, 6}


def test_stateless_uniform_full_range_integers_need_both_bounds_none():
    out = tf.random.stateless_uniform([500], seed=(1, 1), minval=None, maxval=None, dtype=tf.int32).numpy()
    assert out.dtype == np.int32 and out.min() < -2**29 and out.max() > 2**29
    with pytest.raises(ConfigError, match="needs both minval and maxval"):
        tf.random.stateless_uniform([2], seed=(1, 1), dtype=tf.int32)


def test_stateless_uniform_integer_range_must_not_be_empty():
    with pytest.raises(ConfigError, match="minval < maxval.*Received: minval=5, maxval=5"):
        tf.random.stateless_uniform([2], seed=(1, 1), minval=5, maxval=5, dtype=tf.int64)


def test_stateless_normal_replays_and_has_the_requested_moments():
    a = tf.random.stateless_normal([20000], seed=(7, 8), mean=3.0, stddev=0.5, dtype=tf.float64)
    assert a.dtype == tf.float64
    np.testing.assert_array_equal(a.numpy(), tf.random.stateless_normal([20000], (7, 8), 3.0, 0.5, tf.float64).numpy())
    assert abs(a.numpy().mean() - 3.0) < 0.02 and abs(a.numpy().std() - 0.5) < 0.02


def test_stateless_normal_refuses_integer_dtype():
    with pytest.raises(ConfigError, match="float type"):
        tf.random.stateless_normal([2], seed=(1, 2), dtype=tf.int32)


def test_stateless_ops_reject_a_badly_shaped_seed():
    with pytest.raises(ShapeError, match=r"shape \[2\].*got shape \[3\]"):
        tf.random.stateless_uniform([2], seed=(1, 2, 3))


def test_split_gives_num_distinct_seeds_of_the_seed_dtype():
    seeds = tf.random.split(tf.constant([1, 2], dtype=tf.int64), num=3)
    assert tuple(seeds.shape) == (3, 2) and seeds.dtype == tf.int64
    assert len({tuple(row) for row in seeds.numpy().tolist()}) == 3
    np.testing.assert_array_equal(seeds.numpy(), tf.random.split(tf.constant([1, 2], dtype=tf.int64), 3).numpy())
    assert tf.random.split((1, 2)).dtype == tf.int32  # Python ints are int32, as in TF
    assert tuple(tf.random.split((1, 2), num=1)[0, :].shape) == (2,)


def test_split_rejects_a_negative_num():
    with pytest.raises(ConfigError, match="num must be an int >= 0"):
        tf.random.split((1, 2), num=-1)


def test_generator_from_seed_replays_its_stream_and_advances():
    a, b = tf.random.Generator.from_seed(123), tf.random.Generator.from_seed(123, alg="philox")
    first = a.normal([4])
    np.testing.assert_array_equal(first.numpy(), b.normal([4]).numpy())
    assert not np.array_equal(first.numpy(), a.normal([4]).numpy())
    a.reset_from_seed(123)
    np.testing.assert_array_equal(first.numpy(), a.normal([4]).numpy())


def test_make_seeds_is_two_by_count_int64_with_tf_zero_second_row():
    seeds = tf.random.Generator.from_seed(1).make_seeds(5)
    assert tuple(seeds.shape) == (2, 5) and seeds.dtype == tf.int64
    assert not seeds.numpy()[1].any() and len(set(seeds.numpy()[0].tolist())) == 5
    assert tuple(tf.random.Generator.from_seed(1).make_seeds()[:, 0].shape) == (2,)


def test_generator_uniform_and_normal_shapes_dtypes_ranges():
    rng = tf.random.Generator.from_seed(9)
    u = rng.uniform([3, 4], minval=2, maxval=3)
    n = rng.normal(shape=(2,), mean=1.0, stddev=0.1, dtype=tf.float64)
    i = rng.uniform([100], 0, 10, dtype=tf.int64)
    assert u.dtype == tf.float32 and tuple(u.shape) == (3, 4) and 2 <= u.numpy().min() and u.numpy().max() < 3
    assert n.dtype == tf.float64 and tuple(n.shape) == (2,)
    assert i.dtype == tf.int64 and 0 <= i.numpy().min() and i.numpy().max() < 10


def test_generator_split_gives_independent_generators():
    children = tf.random.Generator.from_seed(5).split(3)
    draws = [c.uniform([4]).numpy().tolist() for c in children]
    assert len(children) == 3 and len({tuple(d) for d in draws}) == 3


def test_non_deterministic_generators_differ():
    a, b = tf.random.Generator.from_non_deterministic_state(), tf.random.Generator.from_non_deterministic_state()
    assert not np.array_equal(a.uniform([4]).numpy(), b.uniform([4]).numpy())


def test_generator_state_copy_and_reset_replay_the_stream():
    rng = tf.random.Generator.from_seed(11)
    rng.normal([2])
    copy = tf.random.Generator(copy_from=rng)
    again = tf.random.Generator(state=rng.state, alg="philox")
    expected = rng.normal([3]).numpy()
    np.testing.assert_array_equal(copy.normal([3]).numpy(), expected)
    np.testing.assert_array_equal(again.normal([3]).numpy(), expected)
    assert tuple(rng.state.shape) == (3,) and rng.state.dtype == tf.int64 and rng.algorithm == 1


def test_global_generator_can_be_replaced():
    original = tf.random.get_global_generator()
    assert tf.random.get_global_generator() is original
    mine = tf.random.Generator.from_seed(3)
    try:
        tf.random.set_global_generator(mine)
        assert tf.random.get_global_generator() is mine
    finally:
        tf.random.set_global_generator(original)


def test_set_global_generator_refuses_other_objects():
    with pytest.raises(ArgumentTypeError, match="must be a tf.random.Generator"):
        tf.random.set_global_generator(np.random.default_rng())


def test_generator_rejects_an_unknown_algorithm():
    with pytest.raises(ConfigError, match="alg must be one of"):
        tf.random.Generator.from_seed(1, alg="mersenne")


def test_generator_without_state_says_how_to_build_one():
    with pytest.raises(ConfigError, match="from_seed"):
        tf.random.Generator()


def test_generator_method_keyword_typo_gets_a_did_you_mean():
    with pytest.raises(ArgumentTypeError, match="Did you mean 'stddev'"):
        tf.random.Generator.from_seed(1).normal([2], stdev=2.0)
