"""Strategies in one process: Keras semantics of scope/get_strategy, unavailable strategies, sharding."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import cnnlab
from cnnlab import distribute
from cnnlab.distribute import strategy as strategy_mod
from cnnlab.distribute.replicas import shard_bounds
from cnnlab.errors import CnnlabError, ConfigError


@pytest.fixture(autouse=True)
def no_torchrun_env(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "TF_CONFIG"):
        monkeypatch.delenv(name, raising=False)


def _train(strategy):
    cnnlab.backend.set_random_seed(7)
    x = np.random.RandomState(0).rand(20, 4, 4, 1).astype("float32")
    y = np.arange(20) % 2
    context = strategy.scope() if strategy is not None else _nothing()
    with context:
        model = cnnlab.Sequential([cnnlab.layers.Input((4, 4, 1)), cnnlab.layers.Flatten(),
                                   cnnlab.layers.Dense(2, activation="softmax")])
        model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=6, epochs=2, verbose=0)
    return model.get_weights(), history.history


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def test_plain_process_mirrored_strategy_is_one_replica_and_trains_as_without_strategy():
    strategy = distribute.MirroredStrategy()
    assert strategy.num_replicas_in_sync == 1
    assert strategy.is_chief
    with_strategy = _train(strategy)
    without = _train(None)
    for a, b in zip(with_strategy[0], without[0]):
        np.testing.assert_array_equal(a, b)
    assert with_strategy[1] == without[1]


def test_get_strategy_is_the_scope_strategy_inside_and_the_default_outside():
    strategy = distribute.MultiWorkerMirroredStrategy()
    default = distribute.get_strategy()
    assert default is not strategy and default.num_replicas_in_sync == 1
    with strategy.scope() as entered:
        assert entered is strategy
        assert distribute.get_strategy() is strategy
        assert distribute.current() is strategy
    assert distribute.get_strategy() is default


def test_scope_of_a_second_strategy_inside_the_first_is_refused():
    first, second = distribute.MirroredStrategy(), distribute.MirroredStrategy()
    with first.scope(), pytest.raises(ConfigError, match="inside the scope of another strategy"), second.scope():
        pass


def test_parameter_server_strategy_says_why_and_what_to_use_instead():
    with pytest.raises(distribute.StrategyUnavailableError) as info:
        distribute.ParameterServerStrategy()
    message = str(info.value)
    assert isinstance(info.value, CnnlabError)
    assert "MirroredStrategy" in message and "MultiWorkerMirroredStrategy" in message
    assert "docs/distributed.md" in message


def test_tpu_strategy_without_torch_xla_names_the_package_and_the_alternative():
    pytest.importorskip("torch", reason="torch is always there")
    try:
        import torch_xla  # noqa: F401
        pytest.skip("torch_xla is installed here")
    except ImportError:
        pass
    with pytest.raises(distribute.StrategyUnavailableError, match="torch_xla") as info:
        distribute.TPUStrategy()
    assert "MirroredStrategy" in str(info.value) and "docs/distributed.md" in str(info.value)


def test_more_devices_than_processes_is_refused_with_the_launch_command():
    with pytest.raises(ConfigError, match=r"cnnlab launch -n 2 script.py"):
        distribute.MirroredStrategy(devices=["/gpu:0", "/gpu:1"])


def test_tf_config_without_torchrun_is_refused(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {}}')
    with pytest.raises(ConfigError, match="does not read TF_CONFIG"):
        distribute.MultiWorkerMirroredStrategy()


@pytest.mark.parametrize("value", ["soon", "0", "-5"])
def test_a_bad_timeout_in_the_environment_is_refused(monkeypatch, value):
    monkeypatch.setenv(strategy_mod.TIMEOUT_ENV_VAR, value)
    with pytest.raises(ConfigError, match="Received"):
        distribute.MirroredStrategy()


def test_shard_bounds_of_an_uneven_batch():
    # 7 samples on 2 replicas: 7 // 2 = 3 each, the first rank takes the remainder.
    assert [shard_bounds(7, r, 2) for r in range(2)] == [(0, 4), (4, 7)]
    # 1 sample on 2 replicas: rank 1 gets an empty shard.
    assert [shard_bounds(1, r, 2) for r in range(2)] == [(0, 1), (1, 1)]


@given(size=st.integers(0, 500), world=st.integers(1, 16))
def test_shards_split_a_batch_into_contiguous_parts_differing_by_at_most_one(size, world):
    bounds = [shard_bounds(size, r, world) for r in range(world)]
    assert bounds[0][0] == 0 and bounds[-1][1] == size
    assert all(bounds[r][1] == bounds[r + 1][0] for r in range(world - 1))
    sizes = [end - start for start, end in bounds]
    assert max(sizes) - min(sizes) <= 1
