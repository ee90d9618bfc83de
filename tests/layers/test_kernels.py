"""The oneDNN path for large float32 Dense products: same values and gradients as ``F.linear``."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from cnnlab.layers import _kernels

pytestmark = pytest.mark.skipif(not _kernels._ENABLED, reason="torch built without oneDNN")


@pytest.fixture(autouse=True)
def onednn_path(monkeypatch):
    """The oneDNN path as it runs on CPUs where it is the default (not Intel's, with MKL as torch's BLAS)."""
    monkeypatch.setattr(_kernels, "_PREFERRED", True)


@pytest.mark.parametrize("vendor, mkl, want", [
    ("AuthenticAMD", True, True), ("HygonGenuine", True, True),  # MKL's slow path: oneDNN
    ("GenuineIntel", True, False),  # MKL's own CPUs: MKL is faster
    ("AuthenticAMD", False, False), ("", True, False),  # another BLAS, or an unknown CPU: torch's choice
])
def test_onednn_is_preferred_only_where_mkl_takes_its_slow_path(vendor, mkl, want):
    assert _kernels.onednn_preferred(vendor, mkl) is want


def test_this_machine_uses_the_path_its_vendor_calls_for(monkeypatch):
    monkeypatch.undo()  # the real module setting
    vendor = _kernels.cpu_vendor()
    assert _kernels._PREFERRED == _kernels.onednn_preferred(vendor, torch.backends.mkl.is_available())
    calls = []
    real = _kernels._onednn_linear
    monkeypatch.setattr(_kernels, "_onednn_linear", lambda *a: calls.append(a[0].shape) or real(*a))
    x, kernel, bias = _tensors()
    _kernels.linear(x, kernel, bias).sum().backward()
    assert len(calls) == (3 if _kernels._PREFERRED else 0)


def _tensors(batch=64, features=300, units=250, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, features, generator=gen, requires_grad=True)
    kernel = torch.randn(features, units, generator=gen, requires_grad=True)
    bias = torch.randn(units, generator=gen, requires_grad=True)
    return x, kernel, bias


def test_large_products_take_the_onednn_path_and_small_ones_do_not(monkeypatch):
    calls = []
    real = _kernels._onednn_linear
    monkeypatch.setattr(_kernels, "_onednn_linear", lambda *a: calls.append(a[0].shape) or real(*a))
    x, kernel, bias = _tensors()  # 64 * 300 * 250 = 4.8M multiply-accumulates
    _kernels.linear(x, kernel, bias).sum().backward()
    assert len(calls) == 3  # forward, grad of x, grad of kernel
    calls.clear()
    _kernels.linear(x[:8], kernel, bias)  # 0.6M: F.linear
    assert calls == []


@pytest.mark.parametrize("with_bias", [True, False])
def test_values_and_gradients_match_f_linear(with_bias):
    x, kernel, bias = _tensors()
    bias = bias if with_bias else None
    grad = torch.randn(64, 250, generator=torch.Generator().manual_seed(1))
    leaves = [t for t in (x, kernel, bias) if t is not None]
    got = _kernels.linear(x, kernel, bias)
    got_grads = torch.autograd.grad(got, leaves, grad)
    want = F.linear(x, kernel.t(), bias)
    want_grads = torch.autograd.grad(want, leaves, grad)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-4)
    for a, b in zip(got_grads, want_grads):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-4)


def test_only_the_gradients_asked_for_are_computed():
    x, kernel, bias = _tensors()
    frozen = x.detach()  # input without grad: only kernel and bias get one
    out = _kernels.linear(frozen, kernel, bias)
    g_kernel, g_bias = torch.autograd.grad(out.sum(), [kernel, bias])
    torch.testing.assert_close(g_kernel, frozen.t() @ torch.ones(64, 250), rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(g_bias, torch.full((250,), 64.0))


def test_second_order_gradients_work_like_f_linear():
    """A gradient penalty differentiates the gradient: the backward keeps a graph under create_graph=True."""
    def penalty(fn, dtype=torch.float32):
        x, kernel, bias = (t.detach().to(dtype).requires_grad_() for t in _tensors())
        (g_x,) = torch.autograd.grad(fn(x, kernel, bias).pow(2).sum(), [x], create_graph=True)
        (g_kernel,) = torch.autograd.grad(g_x.pow(2).sum(), [kernel])
        return g_kernel.double()

    exact = penalty(lambda x, k, b: F.linear(x, k.t(), b), torch.float64)  # float64 never takes the oneDNN path
    scale = exact.abs().max().item()
    for fn in (_kernels.linear, lambda x, k, b: F.linear(x, k.t(), b)):
        assert (penalty(fn) - exact).abs().max().item() < 1e-5 * scale


def test_inference_and_autocast_paths():
    x, kernel, bias = _tensors()
    with torch.inference_mode():
        torch.testing.assert_close(_kernels.linear(x, kernel, bias), F.linear(x, kernel.t(), bias),
                                   rtol=1e-5, atol=1e-4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert _kernels.linear(x, kernel, bias).dtype == torch.bfloat16  # autocast still applies
