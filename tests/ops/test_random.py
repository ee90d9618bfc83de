"""cnnlab.random: distributions, seeds and reproducibility across processes."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from cnnlab import random, utils
from cnnlab.errors import ArgumentTypeError, ConfigError


def test_int_seed_is_stateless_and_seed_generator_is_a_stream():
    assert torch.equal(random.normal((4,), seed=3), random.normal((4,), seed=3))
    assert not torch.equal(random.normal((4,), seed=3), random.normal((4,), seed=4))
    gen = random.SeedGenerator(7)
    first, second = random.uniform((4,), seed=gen), random.uniform((4,), seed=gen)
    assert not torch.equal(first, second)
    replay = random.SeedGenerator(7)
    assert torch.equal(random.uniform((4,), seed=replay), first)
    assert torch.equal(random.uniform((4,), seed=replay), second)


def test_global_seed_makes_unseeded_calls_repeat():
    utils.set_random_seed(11)
    a = (random.normal((3,)), random.SeedGenerator().next(), random.uniform((2,), seed=random.SeedGenerator()))
    utils.set_random_seed(11)
    b = (random.normal((3,)), random.SeedGenerator().next(), random.uniform((2,), seed=random.SeedGenerator()))
    for x, y in zip(a, b):
        assert torch.equal(x, y)


_CHILD = ("import cnnlab; cnnlab.utils.set_random_seed(5); from cnnlab import random; "
          "print(random.normal((3,)).tolist(), random.randint((3,), 0, 100, seed=random.SeedGenerator()).tolist(), "
          "random.shuffle(list(range(6)), seed=2).tolist())")


def test_same_seed_gives_same_numbers_in_a_new_process():
    runs = [subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, check=True).stdout
            for _ in range(2)]
    assert runs[0] == runs[1] and runs[0].strip()


def test_distribution_moments_and_ranges():
    n = (200_000,)
    normal = random.normal(n, mean=2.0, stddev=3.0, seed=1).numpy()
    assert abs(normal.mean() - 2.0) < 0.05 and abs(normal.std() - 3.0) < 0.05
    uniform = random.uniform(n, minval=-1.0, maxval=3.0, seed=2).numpy()
    assert uniform.min() >= -1.0 and uniform.max() < 3.0 and abs(uniform.mean() - 1.0) < 0.02
    ints = random.randint(n, 2, 5, seed=3)
    assert ints.dtype == torch.int32 and set(np.unique(ints.numpy())) == {2, 3, 4}
    truncated = random.truncated_normal(n, stddev=2.0, seed=4).numpy()
    assert np.abs(truncated).max() <= 4.0 and abs(truncated.std() - 2.0 * 0.8796) < 0.02  # std of N(0,1) cut at +-2
    gamma = random.gamma(n, alpha=2.5, seed=5).numpy()
    assert abs(gamma.mean() - 2.5) < 0.03 and abs(gamma.var() - 2.5) < 0.08
    small = random.gamma(n, alpha=0.5, seed=6).numpy()
    assert abs(small.mean() - 0.5) < 0.01
    beta = random.beta(n, 2.0, 3.0, seed=7).numpy()
    assert abs(beta.mean() - 0.4) < 0.005
    binomial = random.binomial(n, 10, 0.3, seed=8).numpy()
    assert abs(binomial.mean() - 3.0) < 0.03 and abs(binomial.var() - 2.1) < 0.05


def test_dtypes_follow_keras():
    assert random.normal((2,)).dtype == torch.float32
    assert random.uniform((2,), dtype="float64").dtype == torch.float64
    assert random.randint((2,), 0, 3, dtype="int64").dtype == torch.int64


def test_dropout_zeroes_at_rate_and_rescales():
    x = np.ones((100_000,), "float32")
    out = random.dropout(x, 0.25, seed=1).numpy()
    kept = out != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(out[kept], 1 / 0.75, rtol=1e-6)
    shared = random.dropout(np.ones((4, 50, 3), "float32"), 0.5, noise_shape=(None, 1, 3), seed=2).numpy()
    assert (shared == shared[:, :1]).all()


def test_shuffle_permutes_along_axis_and_categorical_follows_probabilities():
    x = np.arange(20).reshape(10, 2)
    shuffled = random.shuffle(x, seed=3).numpy()
    assert sorted(shuffled[:, 0].tolist()) == x[:, 0].tolist() and (shuffled[:, 1] == shuffled[:, 0] + 1).all()
    columns = random.shuffle(x, axis=1, seed=3).numpy()
    assert sorted(columns[0].tolist()) == [0, 1]
    logits = np.log([[0.1, 0.6, 0.3]])
    draws = random.categorical(logits, 50_000, seed=4)
    assert draws.shape == (1, 50_000) and draws.dtype == torch.int32
    np.testing.assert_allclose(np.bincount(draws.numpy()[0], minlength=3) / 50_000, [0.1, 0.6, 0.3], atol=0.01)


def test_random_errors_name_the_argument():
    with pytest.raises(ArgumentTypeError, match="seed must be None, an int or a cnnlab.random.SeedGenerator"):
        random.normal((2,), seed="1")
    with pytest.raises(ArgumentTypeError, match="SeedGenerator: seed must be an int"):
        random.SeedGenerator(1.5)
    with pytest.raises(ConfigError, match="maxval must be greater than minval"):
        random.randint((2,), 5, 5)
    with pytest.raises(ConfigError, match="rate must be in"):
        random.dropout(np.ones(3), 1.0)
    with pytest.raises(ConfigError, match="dtype must be a float type"):
        random.normal((2,), dtype="int32")
    with pytest.raises(ArgumentTypeError, match="shape must be a tuple of ints"):
        random.uniform("abc")
    with pytest.raises(ConfigError, match="logits must be 2-D"):
        random.categorical([0.1, 0.2], 3)
