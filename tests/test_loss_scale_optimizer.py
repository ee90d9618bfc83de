"""LossScaleOptimizer: Keras 3's dynamic loss scaling rules, checked step by step against a NumPy reference."""

import math

import numpy as np
import pytest
import torch

import cnnlab as keras
from cnnlab import mixed_precision
from cnnlab.errors import ArgumentTypeError, ConfigError
from cnnlab.optimizers import SGD, Adam, LossScaleOptimizer

INF, NAN = math.inf, math.nan


@pytest.fixture(autouse=True)
def restore_policy():
    yield
    mixed_precision.set_global_policy("float32")


class ReferenceLossScale:
    """Keras's rules written out (keras/src/optimizers/loss_scale_optimizer.py), with SGD or Adam in NumPy."""

    def __init__(self, kind, lr, scale, growth_steps, w):
        self.kind, self.lr, self.scale, self.growth, self.w = kind, lr, np.float32(scale), growth_steps, w.copy()
        self.counter = self.iterations = 0
        self.m, self.v = np.zeros_like(w), np.zeros_like(w)

    def step(self, scaled_grad):
        if not np.all(np.isfinite(scaled_grad)):
            self.counter, self.scale = 0, np.float32(self.scale * np.float32(0.5))
            return
        g = scaled_grad / self.scale
        if self.kind == "sgd":
            self.w = self.w - self.lr * g
        else:  # Keras's Adam: bias correction folded into the rate, epsilon outside the square root
            t = self.iterations + 1
            self.m = self.m + (g - self.m) * (1 - 0.9)
            self.v = self.v + (g * g - self.v) * (1 - 0.999)
            alpha = self.lr * math.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
            self.w = self.w - self.m * alpha / (np.sqrt(self.v) + 1e-7)
        self.iterations += 1
        if self.counter == self.growth - 1:
            self.counter, self.scale = 0, np.float32(self.scale * np.float32(2.0))
        else:
            self.counter += 1


# Scaled gradients, as backward() would leave them: overflow at steps 2 and 5, a NaN at step 6.
GRADIENTS = [[1.0, -2.0], [3.0, 0.5], [INF, 1.0], [0.25, 4.0], [2.0, 2.0], [-INF, 0.0], [NAN, 1.0],
             [1.5, -1.0], [0.5, 0.5], [1.0, 1.0], [2.0, -3.0]]


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_every_step_follows_keras_rules_on_hand_made_gradients(kind):
    w0 = np.array([1.0, -1.0], dtype=np.float32)
    inner = SGD(learning_rate=0.1) if kind == "sgd" else Adam(learning_rate=0.01)
    opt = LossScaleOptimizer(inner, initial_scale=8.0, dynamic_growth_steps=2)
    ref = ReferenceLossScale(kind, 0.1 if kind == "sgd" else 0.01, 8.0, 2, w0)
    w = torch.nn.Parameter(torch.tensor(w0))
    for grad in GRADIENTS:
        before = w.detach().clone()
        opt.apply([torch.tensor(grad, dtype=torch.float32)], [w])
        ref.step(np.array(grad, dtype=np.float32))
        np.testing.assert_allclose(w.detach().numpy(), ref.w, rtol=1e-6, atol=1e-7)
        assert (float(opt.dynamic_scale), int(opt.step_counter), opt.iterations) == (ref.scale, ref.counter,
                                                                                     ref.iterations)
        if not np.all(np.isfinite(grad)):
            assert torch.equal(w.detach(), before)  # a skipped step leaves the weights exactly as they were
    # By hand, growing every 2 good steps: 8 -> 16 (step 1) -> 8 (inf) -> 16 -> 8 (inf) -> 4 (NaN) -> 8 -> 16.
    assert ref.iterations == 8 and ref.scale == 16.0


def test_a_skipped_step_leaves_the_slots_and_the_step_count_alone():
    w = torch.nn.Parameter(torch.ones(3))
    opt = LossScaleOptimizer(Adam())
    opt.apply([torch.tensor([1.0, 2.0, 3.0])], [w])
    state = opt.inner_optimizer.state_dict()
    opt.apply([torch.tensor([1.0, NAN, 3.0])], [w])
    after = opt.inner_optimizer.state_dict()
    assert all(torch.equal(state[k], after[k]) for k in state) and opt.iterations == 1
    assert float(opt.dynamic_scale) == 2.0 ** 14 and int(opt.step_counter) == 0


def test_the_scale_doubles_after_dynamic_growth_steps_good_steps():
    w = torch.nn.Parameter(torch.ones(1))
    opt = LossScaleOptimizer(SGD(0.0), initial_scale=4.0, dynamic_growth_steps=3)
    scales = []
    for _ in range(7):
        opt.apply([torch.ones(1)], [w])
        scales.append((float(opt.dynamic_scale), int(opt.step_counter)))
    assert scales == [(4.0, 1), (4.0, 2), (8.0, 0), (8.0, 1), (8.0, 2), (16.0, 0), (16.0, 1)]


def test_scale_loss_uses_the_initial_scale_then_the_current_one():
    opt = LossScaleOptimizer(SGD(), initial_scale=64.0)
    assert float(opt.scale_loss(torch.tensor(0.5))) == 32.0  # before the first step, as Keras's
    opt.apply([torch.tensor([INF])], [torch.nn.Parameter(torch.ones(1))])
    assert float(opt.scale_loss(torch.tensor(0.5))) == 16.0


def test_a_huge_finite_gradient_is_not_mistaken_for_an_overflow():
    w = torch.nn.Parameter(torch.zeros(2))
    opt = LossScaleOptimizer(SGD(1.0), initial_scale=1.0)
    opt.apply([torch.tensor([3e38, 3e38])], [w])  # their sum or norm would overflow; each value is finite
    assert opt.iterations == 1 and float(w.detach()[0]) == float(np.float32(-3e38))


def test_the_inner_optimizer_stops_unscaling_and_answers_for_rate_and_count():
    inner = SGD(learning_rate=0.5, loss_scale_factor=128.0)
    opt = LossScaleOptimizer(inner)
    assert inner.loss_scale_factor is None
    opt.learning_rate = 0.25
    assert inner.learning_rate == opt.learning_rate == 0.25
    opt.iterations = 7
    assert inner.iterations == 7


def test_state_dict_round_trip_continues_the_same_run():
    w1, w2 = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    first = LossScaleOptimizer(Adam(), initial_scale=16.0, dynamic_growth_steps=2)
    for grad in GRADIENTS[:5]:
        first.apply([torch.tensor(grad)], [w1])
    w2.data.copy_(w1.data)
    second = LossScaleOptimizer(Adam(), initial_scale=16.0, dynamic_growth_steps=2)
    second.load_state_dict(first.state_dict())  # before build: kept until the first step
    for grad in GRADIENTS[5:]:
        first.apply([torch.tensor(grad)], [w1])
        second.apply([torch.tensor(grad)], [w2])
    assert torch.equal(w1, w2) and first.iterations == second.iterations
    assert float(first.dynamic_scale) == float(second.dynamic_scale)


@pytest.mark.parametrize("key, value, message", [
    ("loss_scale_optimizer/dynamic_scale", 0.0, "dynamic_scale` must be a finite number > 0"),
    ("loss_scale_optimizer/step_counter", 2000, r"step_counter` must be an integer in \[0, 2000\)"),
])
def test_a_bad_saved_scale_state_is_refused(key, value, message):
    opt = LossScaleOptimizer(SGD())
    with pytest.raises(ConfigError, match=message):
        opt.load_state_dict({**opt.state_dict(), key: torch.tensor(value)})


def test_config_round_trip_in_keras_layout():
    opt = LossScaleOptimizer(Adam(learning_rate=0.002), initial_scale=1024.0, dynamic_growth_steps=10)
    config = keras.optimizers.serialize(opt)
    assert config["class_name"] == "LossScaleOptimizer"
    assert set(config["config"]) == {"name", "inner_optimizer", "initial_scale", "dynamic_growth_steps"}
    assert config["config"]["inner_optimizer"]["module"] == "keras.optimizers"
    again = keras.optimizers.deserialize(config)
    assert isinstance(again.inner_optimizer, Adam) and again.get_config() == opt.get_config()


def test_a_keras_config_with_base_defaults_loads():
    # Older Keras wrote the base optimizer's arguments (all at their defaults) into this config.
    config = {"name": "loss_scale_optimizer", "initial_scale": 32768.0, "dynamic_growth_steps": 2000,
              "clipnorm": None, "use_ema": False, "loss_scale_factor": None,
              "inner_optimizer": {"module": "keras.optimizers", "class_name": "SGD", "registered_name": None,
                                  "config": {"name": "SGD", "learning_rate": 0.01}}}
    opt = LossScaleOptimizer.from_config(config)
    assert isinstance(opt.inner_optimizer, SGD) and opt.initial_scale == 2.0 ** 15


@pytest.mark.parametrize("kwargs, error, message", [
    ({"dynamic": False}, ConfigError, "only scales dynamically.*Received: dynamic=False"),
    ({"clipnorm": 1.0}, ConfigError, "does not take `clipnorm`; set it on the inner optimizer"),
    ({"initial_scal": 2.0}, ArgumentTypeError, "unexpected arguments \\['initial_scal'\\]"),
    ({"initial_scale": 0.0}, ConfigError, "initial_scale` must be a finite number > 0.*Received: initial_scale=0.0"),
    ({"initial_scale": math.inf}, ConfigError, "Received: initial_scale=inf"),
    ({"dynamic_growth_steps": 0}, ConfigError, "dynamic_growth_steps` must be an int >= 1"),
    ({"dynamic_growth_steps": 2.5}, ConfigError, "Received: dynamic_growth_steps=2.5"),
])
def test_bad_arguments_are_refused_where_written(kwargs, error, message):
    with pytest.raises(error, match=message):
        LossScaleOptimizer(SGD(), **kwargs)


@pytest.mark.parametrize("inner", ["adam", None])
def test_the_inner_optimizer_must_be_an_instance(inner):
    with pytest.raises(ArgumentTypeError, match="inner_optimizer` must be an optimizer instance"):
        LossScaleOptimizer(inner)


def test_a_loss_scale_optimizer_cannot_wrap_another():
    with pytest.raises(ArgumentTypeError, match="not another LossScaleOptimizer"):
        LossScaleOptimizer(LossScaleOptimizer(SGD()))


def test_a_config_without_inner_optimizer_is_refused():
    with pytest.raises(ConfigError, match="no 'inner_optimizer'"):
        LossScaleOptimizer.from_config({"name": "loss_scale_optimizer"})


# ------------------------------------------------------------------------------------------ with the trainer
def _model():
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])


@pytest.fixture
def quiet_float16(monkeypatch):
    monkeypatch.setattr(mixed_precision, "_WARNED", {"mixed_float16"})  # the CPU speed warning has its own test
    mixed_precision.set_global_policy("mixed_float16")


def test_compile_wraps_the_optimizer_under_mixed_float16_only(quiet_float16):
    model = _model()
    model.compile(optimizer="adam", loss="mse")
    assert isinstance(model.optimizer, LossScaleOptimizer) and model.optimizer.name == "loss_scale_optimizer"
    assert isinstance(model.optimizer.inner_optimizer, Adam)
    model.compile(optimizer="adam", loss="mse", auto_scale_loss=False)
    assert isinstance(model.optimizer, Adam)
    mine = LossScaleOptimizer(SGD(), initial_scale=4.0)
    model.compile(optimizer=mine, loss="mse")
    assert model.optimizer is mine  # not wrapped twice
    mixed_precision.set_global_policy("mixed_bfloat16")
    model.compile(optimizer="adam", loss="mse")
    assert isinstance(model.optimizer, Adam)


def test_an_overflowing_train_step_is_skipped_and_halves_the_scale():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, kernel_initializer="ones")])
    model.compile(optimizer=LossScaleOptimizer(SGD(0.1), initial_scale=2.0 ** 127), loss="mse")
    before = [w.copy() for w in model.get_weights()]
    model.train_on_batch(np.full((4, 4), 1e3, np.float32), np.zeros((4, 3), np.float32))  # loss 1.6e7 * 2**127
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert model.optimizer.iterations == 0 and float(model.optimizer.dynamic_scale) == 2.0 ** 126


def test_loss_scaling_leaves_float32_training_unchanged():
    x, y = np.random.default_rng(0).random((8, 4), dtype=np.float32), np.arange(8) % 3
    results = []
    for optimizer in (SGD(0.1), LossScaleOptimizer(SGD(0.1), initial_scale=256.0), SGD(0.1, loss_scale_factor=64.0)):
        keras.utils.set_random_seed(1)
        model = _model()
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
        model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
        results.append(model.get_weights())
    for other in results[1:]:  # power-of-two scales: exact in float32
        assert all(np.array_equal(a, b) for a, b in zip(results[0], other))


def test_a_model_compiled_with_loss_scaling_saves_and_loads_with_its_state(tmp_path, quiet_float16):
    model = _model()
    model.compile(optimizer=Adam(), loss="sparse_categorical_crossentropy")
    model.optimizer.dynamic_growth_steps = 2  # so the saved scale differs from the initial one
    model.fit(np.ones((12, 4), np.float32), np.arange(12) % 3, batch_size=4, epochs=1, verbose=0)
    for name in ("model.cnnlab", "model.keras"):
        model.save(tmp_path / name)
        loaded = keras.models.load_model(tmp_path / name).optimizer
        assert isinstance(loaded, LossScaleOptimizer) and loaded.iterations == 3
        config, expected = loaded.get_config(), model.optimizer.get_config()
        inner_lr = config["inner_optimizer"]["config"].pop("learning_rate")  # a .keras file holds it as float32
        assert inner_lr == pytest.approx(expected["inner_optimizer"]["config"].pop("learning_rate"), rel=1e-7)
        assert config == expected
    for name in ("model.cnnlab", "model.keras"):  # both keep the whole state: scale, counter and Adam's slots
        restored = keras.models.load_model(tmp_path / name).optimizer
        assert float(restored.dynamic_scale) == 2.0 ** 16 and int(restored.step_counter) == 1
        assert len(restored.variables) == len(model.optimizer.variables) > 2
        # variables[0] is the learning rate, which a .keras file holds as float32
        assert float(restored.variables[0]) == pytest.approx(float(model.optimizer.variables[0]), rel=1e-7)
        assert all(torch.equal(a, b) for a, b in zip(restored.variables[1:], model.optimizer.variables[1:]))


def test_a_keras_file_with_loss_scaling_continues_the_same_run(tmp_path, quiet_float16):
    x, y = np.random.default_rng(0).random((16, 4), dtype=np.float32), np.arange(16) % 3
    keras.utils.set_random_seed(0)
    model = _model()
    model.compile(optimizer=Adam(2.0 ** -10), loss="sparse_categorical_crossentropy")  # exact in float32
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    model.save(tmp_path / "run.keras")
    loaded = keras.models.load_model(tmp_path / "run.keras")
    for m in (model, loaded):
        m.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), loaded.get_weights()))


def test_a_keras_file_whose_loss_scale_state_is_cut_short_is_refused(tmp_path, quiet_float16):
    import h5py
    import zipfile
    from cnnlab.errors import FileFormatError

    model = _model()
    model.compile(optimizer=Adam(), loss="sparse_categorical_crossentropy")
    model.fit(np.ones((4, 4), np.float32), np.arange(4) % 3, batch_size=4, verbose=0)
    model.save(tmp_path / "good.keras")
    with zipfile.ZipFile(tmp_path / "good.keras") as src:
        members = {n: src.read(n) for n in src.namelist()}
    (tmp_path / "w.h5").write_bytes(members["model.weights.h5"])
    with h5py.File(tmp_path / "w.h5", "r+") as f:
        group = f["optimizer/vars"]
        for key in sorted(group.keys(), key=int)[2:]:
            del group[key]
    members["model.weights.h5"] = (tmp_path / "w.h5").read_bytes()
    with zipfile.ZipFile(tmp_path / "cut.keras", "w") as dst:
        for n, data in members.items():
            dst.writestr(n, data)
    with pytest.raises(FileFormatError, match="LossScaleOptimizer state has 2 variables"):
        keras.models.load_model(tmp_path / "cut.keras")
