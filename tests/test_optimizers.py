"""Optimizers against NumPy implementations of the Keras 3 update rules."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from cnnlab import optimizers
from cnnlab.errors import ArgumentTypeError, ConfigError, UnknownNameError
from cnnlab.optimizers import schedules

STEPS = 4
RNG = np.random.default_rng(0)
INITIAL = [RNG.normal(size=(3, 2)), RNG.normal(size=(4,))]
GRADS = [[RNG.normal(size=w.shape) for w in INITIAL] for _ in range(STEPS)]


def run(opt, grads=GRADS, initial=INITIAL, via="step"):
    """Apply the gradient sequence with cnnlab; return the final weights as NumPy."""
    params = [torch.nn.Parameter(torch.tensor(w, dtype=torch.float32)) for w in initial]
    for step_grads in grads:
        tensors = [torch.tensor(g, dtype=torch.float32) for g in step_grads]
        if via == "step":
            for p, g in zip(params, tensors):
                p.grad = g
            opt.step(params)
        else:
            opt.apply_gradients(zip(tensors, params))
    return [p.detach().numpy().astype(np.float64) for p in params]


def reference(update, state_init, grads=GRADS, initial=INITIAL, lr=lambda t: 0.01, weight_decay=None, clip=None):
    """Run a per-weight NumPy update rule ``update(w, g, state, lr, t)`` (t = 1, 2, ...)."""
    weights = [w.copy() for w in initial]
    states = [state_init(w) for w in weights]
    for t, step_grads in enumerate(grads, start=1):
        rate = lr(t - 1)
        step_grads = clip(step_grads) if clip else step_grads
        for i, g in enumerate(step_grads):
            if weight_decay is not None:
                weights[i] = weights[i] - weights[i] * weight_decay * rate
            weights[i] = update(weights[i], g, states[i], rate, t)
    return weights


def assert_close(got, want):
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------- NumPy rules (Keras 3 formulas)

def sgd_rule(momentum=0.0, nesterov=False):
    def update(w, g, s, lr, t):
        if momentum == 0:
            return w - lr * g
        s["v"] = momentum * s["v"] - lr * g
        return w + (momentum * s["v"] - lr * g if nesterov else s["v"])
    return update, lambda w: {"v": np.zeros_like(w)}


def adam_rule(b1=0.9, b2=0.999, eps=1e-7, amsgrad=False):
    def update(w, g, s, lr, t):
        alpha = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        s["m"] += (g - s["m"]) * (1 - b1)
        s["v"] += (g * g - s["v"]) * (1 - b2)
        v = s["v"]
        if amsgrad:
            s["vh"] = np.maximum(s["vh"], s["v"])
            v = s["vh"]
        return w - alpha * s["m"] / (np.sqrt(v) + eps)
    return update, lambda w: {"m": np.zeros_like(w), "v": np.zeros_like(w), "vh": np.zeros_like(w)}


def adagrad_rule(init=0.1, eps=1e-7):
    def update(w, g, s, lr, t):
        s["a"] += g * g
        return w - lr * g / np.sqrt(s["a"] + eps)
    return update, lambda w: {"a": np.full_like(w, init)}


def adadelta_rule(rho=0.95, eps=1e-7):
    def update(w, g, s, lr, t):
        s["G"] = rho * s["G"] + (1 - rho) * g * g
        d = -np.sqrt(s["D"] + eps) * g / np.sqrt(s["G"] + eps)
        s["D"] = rho * s["D"] + (1 - rho) * d * d
        return w + lr * d
    return update, lambda w: {"G": np.zeros_like(w), "D": np.zeros_like(w)}


def rmsprop_rule(rho=0.9, momentum=0.0, eps=1e-7, centered=False):
    def update(w, g, s, lr, t):
        s["v"] = rho * s["v"] + (1 - rho) * g * g
        if centered:
            s["a"] = rho * s["a"] + (1 - rho) * g
            denom = s["v"] - s["a"] ** 2 + eps
        else:
            denom = s["v"] + eps
        inc = lr * g / np.sqrt(denom)
        if momentum > 0:
            s["m"] = momentum * s["m"] + inc
            return w - s["m"]
        return w - inc
    return update, lambda w: {"v": np.zeros_like(w), "a": np.zeros_like(w), "m": np.zeros_like(w)}


def nadam_rule(b1=0.9, b2=0.999, eps=1e-7):
    def u(s):
        return b1 * (1 - 0.5 * 0.96**s)

    def update(w, g, s, lr, t):
        # The running product of u_1..u_t, recomputed from scratch for independence.
        u_product = math.prod(u(k) for k in range(1, t + 1))
        s["m"] += (g - s["m"]) * (1 - b1)
        s["v"] += (g * g - s["v"]) * (1 - b2)
        m_hat = u(t + 1) * s["m"] / (1 - u_product * u(t + 1)) + (1 - u(t)) * g / (1 - u_product)
        v_hat = s["v"] / (1 - b2**t)
        return w - lr * m_hat / (np.sqrt(v_hat) + eps)
    return update, lambda w: {"m": np.zeros_like(w), "v": np.zeros_like(w)}


CASES = {
    "sgd": (lambda: optimizers.SGD(), sgd_rule(), 0.01),
    "sgd_momentum": (lambda: optimizers.SGD(0.1, momentum=0.9), sgd_rule(0.9), 0.1),
    "sgd_nesterov": (lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True), sgd_rule(0.9, True), 0.1),
    "adam": (lambda: optimizers.Adam(0.1), adam_rule(), 0.1),
    "adam_amsgrad": (lambda: optimizers.Adam(0.1, amsgrad=True), adam_rule(amsgrad=True), 0.1),
    "adam_betas": (lambda: optimizers.Adam(0.05, beta_1=0.5, beta_2=0.9, epsilon=1e-3), adam_rule(0.5, 0.9, 1e-3), 0.05),
    "adagrad": (lambda: optimizers.Adagrad(0.1), adagrad_rule(), 0.1),
    "adadelta": (lambda: optimizers.Adadelta(1.0), adadelta_rule(), 1.0),
    "rmsprop": (lambda: optimizers.RMSprop(0.01), rmsprop_rule(), 0.01),
    "rmsprop_momentum_centered": (lambda: optimizers.RMSprop(0.01, momentum=0.5, centered=True),
                                  rmsprop_rule(momentum=0.5, centered=True), 0.01),
    "nadam": (lambda: optimizers.Nadam(0.05), nadam_rule(), 0.05),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("via", ["step", "apply_gradients"])
def test_update_matches_keras_rule(case, via):
    make, (update, init), lr = CASES[case]
    assert_close(run(make(), via=via), reference(update, init, lr=lambda t: lr))


def test_adamw_decays_weights_before_the_adam_step():
    update, init = adam_rule()
    want = reference(update, init, lr=lambda t: 0.01, weight_decay=0.1)
    assert_close(run(optimizers.AdamW(0.01, weight_decay=0.1)), want)


def test_adamw_default_weight_decay_is_0_004():
    assert optimizers.AdamW().weight_decay == 0.004


def test_generic_weight_decay_on_sgd():
    update, init = sgd_rule(0.9)
    want = reference(update, init, lr=lambda t: 0.1, weight_decay=0.05)
    assert_close(run(optimizers.SGD(0.1, momentum=0.9, weight_decay=0.05)), want)


def test_clipnorm_scales_each_gradient_to_the_norm():
    def clip(gs):
        return [g * 0.5 / max(np.linalg.norm(g), 0.5) for g in gs]
    update, init = sgd_rule()
    assert_close(run(optimizers.SGD(0.1, clipnorm=0.5)), reference(update, init, lr=lambda t: 0.1, clip=clip))


def test_global_clipnorm_scales_all_gradients_together():
    def clip(gs):
        norm = math.sqrt(sum(float(np.sum(g * g)) for g in gs))
        return [g * 0.5 / max(norm, 0.5) for g in gs]
    update, init = adam_rule()
    assert_close(run(optimizers.Adam(0.1, global_clipnorm=0.5)), reference(update, init, lr=lambda t: 0.1, clip=clip))


def test_clipvalue_clips_each_element():
    update, init = sgd_rule(0.5)
    want = reference(update, init, lr=lambda t: 0.1, clip=lambda gs: [np.clip(g, -0.3, 0.3) for g in gs])
    assert_close(run(optimizers.SGD(0.1, momentum=0.5, clipvalue=0.3)), want)


def test_schedule_is_read_at_the_step_count_before_increment():
    sched = schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    update, init = adam_rule()
    want = reference(update, init, lr=lambda step: 0.1 * 0.5 ** (step / 2))
    opt = optimizers.Adam(sched)
    assert_close(run(opt), want)
    assert opt.iterations == STEPS
    assert opt.learning_rate == pytest.approx(0.1 * 0.5 ** (STEPS / 2))


def test_zero_arg_callable_learning_rate():
    update, init = sgd_rule()
    assert_close(run(optimizers.SGD(lambda: 0.2)), reference(update, init, lr=lambda t: 0.2))


def test_step_skips_params_without_grad_and_keeps_their_state():
    opt = optimizers.SGD(0.1, momentum=0.9)
    a, b = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    a.grad = torch.ones(2)
    opt.step([a, b])
    b.grad = torch.ones(2)
    opt.step([a, b])
    # a: v1 = -0.1, w = 0.9; v2 = 0.9 * -0.1 - 0.1 = -0.19, w = 0.71.  b: one step from zero velocity, w = 0.9.
    np.testing.assert_allclose(a.detach().numpy(), [0.71, 0.71], rtol=1e-6)
    np.testing.assert_allclose(b.detach().numpy(), [0.9, 0.9], rtol=1e-6)


def test_constraint_attribute_is_applied_after_the_update():
    opt = optimizers.SGD(1.0)
    w = torch.nn.Parameter(torch.zeros(3))
    w.constraint = lambda x: x.clamp(min=0.0)
    w.grad = torch.tensor([1.0, -2.0, 0.5])
    opt.step([w])
    np.testing.assert_allclose(w.detach().numpy(), [0.0, 2.0, 0.0])


def test_learning_rate_get_and_set():
    opt = optimizers.Adam()
    assert opt.learning_rate == 0.001
    opt.learning_rate = 0.05
    assert isinstance(opt.learning_rate, float) and opt.learning_rate == 0.05
    update, init = adam_rule()
    assert_close(run(opt), reference(update, init, lr=lambda t: 0.05))


def test_setting_a_float_under_a_schedule_raises():
    opt = optimizers.SGD(schedules.CosineDecay(0.1, 100))
    with pytest.raises(TypeError, match="LearningRateSchedule"):
        opt.learning_rate = 0.01


@pytest.mark.parametrize("make", [lambda: optimizers.Adam(0.1, amsgrad=True), lambda: optimizers.Nadam(0.05),
                                  lambda: optimizers.RMSprop(0.01, momentum=0.5, centered=True),
                                  lambda: optimizers.Adadelta(1.0), lambda: optimizers.Adagrad(0.1)])
def test_state_dict_round_trip_continues_identically(make):
    straight = run(make())
    first = make()
    run(first, grads=GRADS[:2])
    state = first.state_dict()
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    resumed = make()
    resumed.load_state_dict(state)  # before build: applied at the first step
    halfway = run(make(), grads=GRADS[:2])  # the weights after two steps
    params = [torch.nn.Parameter(torch.tensor(w, dtype=torch.float32)) for w in halfway]
    for step_grads in GRADS[2:]:
        for p, g in zip(params, step_grads):
            p.grad = torch.tensor(g, dtype=torch.float32)
        resumed.step(params)
    assert_close([p.detach().numpy() for p in params], straight)
    assert resumed.iterations == STEPS


def test_state_dict_keys_and_learning_rate_are_saved():
    opt = optimizers.Adam(0.01)
    run(opt, grads=GRADS[:1])
    opt.learning_rate = 0.003
    state = opt.state_dict()
    assert {"iterations", "learning_rate", "adam/momentum/0", "adam/velocity/1"} <= set(state)
    fresh = optimizers.Adam()
    fresh.load_state_dict(state)
    assert fresh.learning_rate == pytest.approx(0.003) and fresh.iterations == 1


def test_state_of_another_optimizer_is_refused():
    adam, sgd = optimizers.Adam(), optimizers.SGD(momentum=0.9)
    run(adam, grads=GRADS[:1])
    run(sgd, grads=GRADS[:1])
    with pytest.raises(ConfigError, match="another optimizer"):
        sgd.load_state_dict(adam.state_dict())


def test_config_round_trip_rebuilds_an_equal_optimizer():
    for opt in [optimizers.SGD(0.1, momentum=0.9, nesterov=True, clipnorm=1.0),
                optimizers.AdamW(weight_decay=0.01, amsgrad=True),
                optimizers.RMSprop(centered=True),
                optimizers.Nadam(schedules.PiecewiseConstantDecay([10], [0.1, 0.01]))]:
        config = optimizers.serialize(opt)
        again = optimizers.deserialize(config)
        assert type(again) is type(opt) and again.get_config() == opt.get_config()


def test_get_accepts_names_instances_and_dicts():
    assert isinstance(optimizers.get("RMSprop"), optimizers.RMSprop)
    assert isinstance(optimizers.get("nadam"), optimizers.Nadam)
    opt = optimizers.SGD()
    assert optimizers.get(opt) is opt
    assert optimizers.get({"class_name": "Adam", "config": {"learning_rate": 0.5}}).learning_rate == 0.5


def test_keras_defaults():
    assert optimizers.SGD().learning_rate == 0.01
    adagrad = optimizers.Adagrad()
    assert (adagrad.learning_rate, adagrad.initial_accumulator_value, adagrad.epsilon) == (0.001, 0.1, 1e-7)
    rms = optimizers.RMSprop()
    assert (rms.rho, rms.momentum, rms.centered, rms.epsilon) == (0.9, 0.0, False, 1e-7)
    ada = optimizers.Adadelta()
    assert (ada.learning_rate, ada.rho) == (0.001, 0.95)
    adam = optimizers.Adam()
    assert (adam.beta_1, adam.beta_2, adam.epsilon, adam.amsgrad) == (0.9, 0.999, 1e-7, False)


def test_unknown_name_suggests_the_closest():
    with pytest.raises(UnknownNameError, match="Did you mean 'adam'"):
        optimizers.get("adma")


@pytest.mark.parametrize("make, match", [
    (lambda: optimizers.SGD(-0.1), "learning_rate"),
    (lambda: optimizers.SGD(momentum=1.5), "momentum"),
    (lambda: optimizers.SGD(momentum=-0.1), "momentum"),
    (lambda: optimizers.Adam(clipnorm=1.0, clipvalue=1.0), "only one of"),
    (lambda: optimizers.AdamW(weight_decay=None), "weight_decay"),
    (lambda: optimizers.Adam(use_ema=True), "use_ema"),
])
def test_bad_arguments_raise_config_error(make, match):
    with pytest.raises(ConfigError, match=match):
        make()


def test_misspelt_keyword_suggests_the_right_one():
    with pytest.raises(ArgumentTypeError, match="Did you mean 'clipnorm'"):
        optimizers.Adam(clip_norm=1.0)


def test_no_gradients_at_all_raises():
    w = torch.nn.Parameter(torch.ones(2))
    with pytest.raises(ConfigError, match="no gradients"):
        optimizers.SGD().step([w])


def test_unknown_variable_after_build_raises():
    opt = optimizers.SGD(momentum=0.9)
    run(opt, grads=GRADS[:1])
    stranger = torch.nn.Parameter(torch.ones(2))
    with pytest.raises(ConfigError, match="not built with"):
        opt.apply_gradients([(torch.ones(2), stranger)])


# ---------------------------------------------------------------------------- schedules

def test_exponential_decay_formula():
    s = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert s(5) == pytest.approx(0.1 * 0.5**0.5)
    stair = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5, staircase=True)
    assert stair(9) == pytest.approx(0.1) and stair(10) == pytest.approx(0.05)


def test_piecewise_constant_uses_inclusive_upper_boundaries():
    s = schedules.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    assert [s(0), s(10), s(11), s(20), s(21)] == [1.0, 1.0, 0.5, 0.5, 0.1]


def test_cosine_decay_with_and_without_warmup():
    s = schedules.CosineDecay(1.0, decay_steps=100, alpha=0.1)
    # step 50: cosine term 0.5 * (1 + cos(pi / 2)) = 0.5 -> (1 - 0.1) * 0.5 + 0.1 = 0.55
    assert s(50) == pytest.approx(0.55) and s(1000) == pytest.approx(0.1)
    w = schedules.CosineDecay(0.0, decay_steps=10, warmup_target=1.0, warmup_steps=4)
    # warm-up: 2/4 of the way from 0 to 1; then the decay starts from 1.0 at step 4
    assert w(2) == pytest.approx(0.5) and w(4) == pytest.approx(1.0)
    assert w(9) == pytest.approx(0.5 * (1 + math.cos(math.pi * 5 / 10)))


def test_schedule_errors_and_round_trip():
    with pytest.raises(ConfigError, match="decay_steps"):
        schedules.ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(ConfigError, match="one more element"):
        schedules.PiecewiseConstantDecay([1, 2], [0.1])
    s = schedules.CosineDecay(0.1, 50, warmup_target=0.2, warmup_steps=5)
    assert schedules.deserialize(schedules.serialize(s)) == s
    with pytest.raises(UnknownNameError):
        schedules.deserialize({"class_name": "os.system", "config": {}})


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_fused_kernel_follows_the_keras_rule_over_many_steps(monkeypatch, amsgrad):
    """CPU float32 Adam runs torch's fused kernel; it must equal the foreach (Keras-formula) path step for step."""
    from cnnlab.optimizers import algorithms

    rng = np.random.default_rng(1)
    initial = [rng.normal(size=(5, 3)), rng.normal(size=(7,))]
    grads = [[rng.normal(size=w.shape) * 10 ** rng.uniform(-4, 1) for w in initial] for _ in range(60)]
    calls = []
    real = torch._fused_adam_
    monkeypatch.setattr(torch, "_fused_adam_", lambda *a, **k: calls.append(1) or real(*a, **k))
    fused = run(optimizers.Adam(0.01, amsgrad=amsgrad), grads=grads, initial=initial)
    assert len(calls) == 60
    monkeypatch.setattr(algorithms, "_fusable", lambda params, grads: False)
    plain = run(optimizers.Adam(0.01, amsgrad=amsgrad), grads=grads, initial=initial)
    want = reference(*adam_rule(amsgrad=amsgrad), grads=grads, initial=initial, lr=lambda t: 0.01)
    assert_close(fused, plain)
    assert_close(fused, want)


def test_adam_fused_step_count_follows_a_reset_iteration_counter(monkeypatch):
    """Setting ``iterations`` (as a restore does) moves the fused kernel's step counter with it."""
    from cnnlab.optimizers import algorithms

    def two_steps_reset_two_steps():
        opt = optimizers.Adam(0.1)
        params = [torch.nn.Parameter(torch.tensor(w, dtype=torch.float32)) for w in INITIAL]
        for t, step_grads in enumerate(GRADS):
            if t == 2:
                opt.iterations = 0
            for p, g in zip(params, step_grads):
                p.grad = torch.tensor(g, dtype=torch.float32)
            opt.step(params)
        return [p.detach().numpy() for p in params]

    fused = two_steps_reset_two_steps()
    with monkeypatch.context() as patch:
        patch.setattr(algorithms, "_fusable", lambda params, grads: False)
        plain = two_steps_reset_two_steps()
    assert_close(fused, plain)
    straight = run(optimizers.Adam(0.1))  # without the reset, the bias correction differs at steps 3-4
    assert not np.allclose(fused[0], straight[0])
