"""Faster CPU paths for layer math, chosen per call, with the same results as the plain torch ops.

``linear``: torch's ``F.linear`` on the CPU goes to the BLAS torch was built with (MKL in the x86 wheels), which
takes a slower code path on CPUs that are not Intel's (on AMD EPYC it runs at half of oneDNN's rate: 209 vs 449
GFLOP/s for a 2048x2048 product). oneDNN, the library behind torch's CPU convolutions, runs at full rate there, so
on such CPUs large float32 products go through it (``torch.ops.mkldnn._linear_pointwise``), forward and backward.
On Intel CPUs MKL is the faster of the two (the two-conv CNN's Dense 3136->100 at batch 128, forward and
backward: 0.80 ms with MKL, 1.36 with oneDNN, on a 2-core Xeon), and elsewhere torch's own choice stands. Small
products stay with ``F.linear``, whose call overhead is lower.
"""

from __future__ import annotations

import platform

import torch
import torch.nn.functional as F

# Products below this many multiply-accumulates stay on F.linear (measured crossover on a 2-core EPYC: ~2-4M).
ONEDNN_MIN_MACS = 4_000_000
_ENABLED = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")


def cpu_vendor() -> str:
    """The CPU's vendor string (``GenuineIntel``, ``AuthenticAMD``, ...), or ``""`` where it cannot be read."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("vendor_id"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    processor = platform.processor()  # Windows: "AMD64 Family 23 Model 49 Stepping 0, AuthenticAMD"
    return processor.rsplit(",", 1)[-1].strip() if "," in processor else ""


def onednn_preferred(vendor: str, blas_is_mkl: bool) -> bool:
    """Whether large float32 products go through oneDNN rather than torch's BLAS: where that BLAS is MKL on a
    CPU of another vendor than Intel (MKL's slow path). Elsewhere torch's BLAS stays.

    Example:
        >>> onednn_preferred("AuthenticAMD", True), onednn_preferred("GenuineIntel", True)
        (True, False)
    """
    return blas_is_mkl and vendor not in ("", "GenuineIntel")


_PREFERRED = _ENABLED and onednn_preferred(cpu_vendor(), torch.backends.mkl.is_available())


def _onednn_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``x @ weight.T + bias`` (``weight`` is ``(out, in)``) through oneDNN."""
    return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], "")


class _OneDNNLinear(torch.autograd.Function):
    """``x @ kernel + bias`` with oneDNN in forward and backward.

    Under ``create_graph=True`` the backward is written with differentiable torch ops, so higher-order gradients
    (gradient penalties) still work.
    """

    @staticmethod
    def forward(ctx, x, kernel, bias):
        ctx.save_for_backward(x, kernel)
        ctx.has_bias = bias is not None
        return _onednn_linear(x, kernel.t(), bias)

    @staticmethod
    def backward(ctx, grad):
        x, kernel = ctx.saved_tensors
        grad_x = grad_kernel = grad_bias = None
        if torch.is_grad_enabled():  # create_graph=True: keep the graph
            if ctx.needs_input_grad[0]:
                grad_x = grad @ kernel.t()
            if ctx.needs_input_grad[1]:
                grad_kernel = x.t() @ grad
        else:
            if ctx.needs_input_grad[0]:
                grad_x = _onednn_linear(grad, kernel, None)  # grad @ kernel.T
            if ctx.needs_input_grad[1]:
                grad_kernel = _onednn_linear(x.t(), grad.t(), None)  # x.T @ grad
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_bias = grad.sum(0)
        return grad_x, grad_kernel, grad_bias


def _use_onednn(x: torch.Tensor, kernel: torch.Tensor) -> bool:
    return (_PREFERRED and x.device.type == "cpu" and x.dim() == 2 and x.dtype == torch.float32
            and kernel.dtype == torch.float32 and x.shape[0] * kernel.shape[0] * kernel.shape[1] >= ONEDNN_MIN_MACS
            and not torch.is_autocast_enabled("cpu") and not torch.compiler.is_compiling())


def linear(x: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``x @ kernel + bias`` for a Keras kernel of shape ``(in, out)``; oneDNN for large float32 CPU products."""
    if not _use_onednn(x, kernel):
        return F.linear(x, kernel.t(), bias)
    if torch.is_grad_enabled() and (x.requires_grad or kernel.requires_grad or
                                    (bias is not None and bias.requires_grad)):
        return _OneDNNLinear.apply(x, kernel, bias)
    return _onednn_linear(x, kernel.t(), bias)


# ----------------------------------------------------------------------------------- inference convolutions
# In inference (no autograd), a 2-D float32 convolution on the CPU runs as one oneDNN primitive with its
# activation fused in (``torch.ops.mkldnn._convolution_pointwise``): measured 1.7-2x faster than F.conv2d then
# the activation on ResNet-50 and MobileNetV2 shapes (2-core AVX-512 VM), the activation costing no extra pass.
# Only activations oneDNN computes exactly as torch does are fused; the others run after, as before.
_CONV_ENABLED = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_convolution_pointwise")


def inference_conv_ok(x: torch.Tensor) -> bool:
    """Whether ``conv_pointwise`` may run: CPU float32 4-D data outside autograd, autocast and compilation."""
    return (_CONV_ENABLED and not torch.is_grad_enabled() and x.device.type == "cpu" and x.dim() == 4
            and x.dtype == torch.float32 and not torch.is_autocast_enabled("cpu")
            and not torch.compiler.is_compiling() and not torch.jit.is_tracing() and not _exporting())


def _exporting() -> bool:
    """Inside ``torch.onnx.export``: the graph must hold standard convolutions."""
    return torch.onnx.is_in_onnx_export()


def fused_activation(fn) -> tuple[str, list] | None:
    """oneDNN's name and arguments for activation ``fn`` (an ``activations`` function), or None when not fused."""
    from cnnlab import activations

    return {activations.linear: ("none", []), activations.relu: ("relu", []),
            activations.relu6: ("hardtanh", [0.0, 6.0])}.get(fn)


def conv_pointwise(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, padding, strides, dilation,
                   groups: int, post: tuple[str, list], residual: torch.Tensor | None = None) -> torch.Tensor:
    """``post(F.conv2d(x, weight, bias, ...) [+ residual])`` as one oneDNN primitive (``x`` and ``residual``
    NCHW, any memory format; ``residual`` has the output's shape)."""
    pad = [padding] * 2 if isinstance(padding, int) else list(padding)
    if residual is not None:
        return torch.ops.mkldnn._convolution_pointwise.binary(
            x, residual, weight, bias, pad, list(strides), list(dilation), groups, "add", 1.0,
            None if post[0] == "none" else post[0], post[1], None)
    return torch.ops.mkldnn._convolution_pointwise(x, weight, bias, pad, list(strides), list(dilation), groups,
                                                   post[0], post[1], "")
