"""``TorchModule``: any PyTorch ``nn.Module`` used as a cnnlab layer."""

from __future__ import annotations

import torch
from torch import nn

from cnnlab.errors import ArgumentTypeError, ConfigError
from cnnlab.layers import _args
from cnnlab.layers.base import Layer, Variable


def _is_view_stride_error(err: RuntimeError) -> bool:
    """True for PyTorch's refusal of ``.view`` on a tensor whose memory layout does not allow it."""
    return "view size is not compatible with input tensor's size and stride" in str(err)


def _nchw_copy(x: torch.Tensor) -> torch.Tensor:
    # Not .contiguous(): with one channel the permuted batch already counts as contiguous, yet its strides
    # still make convolutions choose channels-last outputs. A copy in the standard format has NCHW strides.
    return x.clone(memory_format=torch.contiguous_format)


class _ModuleVariable(Variable):
    """A parameter (or floating-point buffer) of the wrapped module, seen as a Keras-style weight."""

    def __init__(self, layer: TorchModule, target: str, trainable: bool):
        super().__init__(layer, target.replace(".", "/"), trainable=trainable)
        self._target = target

    @property
    def value(self):
        module = self._layer.module
        return module.get_parameter(self._target) if self._trainable else module.get_buffer(self._target)


class TorchModule(Layer):
    """Wrap a PyTorch ``nn.Module`` as a layer: it trains with ``fit``, shows in ``summary()`` and saves its weights.

    PyTorch modules expect images channels-first; with ``data_format="channels_first"`` (the default) a 4-D
    input ``(N, H, W, C)`` is transposed to ``(N, C, H, W)`` on the way in, and a 4-D output back to
    channels-last on the way out. With ``data_format="channels_last"`` the tensors pass unchanged. The
    transposed batch stays channels-last in memory (the faster layout for convolutions on CPU); a module whose
    ``forward`` calls ``.view`` on it gets a contiguous NCHW copy instead, from the first time ``.view`` refuses.

    The module's parameters are the layer's trainable weights (its floating-point buffers, such as
    BatchNorm statistics, the non-trainable ones), so ``count_params``, ``get_weights`` and
    ``save_weights`` include them. ``model.save`` needs the architecture too: subclass ``TorchModule``
    with an ``__init__`` that builds the module itself and pass the subclass in ``custom_objects``
    when loading; a plain ``TorchModule`` saves with ``save_weights`` only.

    Args:
        module: the ``nn.Module`` to wrap.
        data_format: ``"channels_first"`` (transpose 4-D tensors for the module) or ``"channels_last"``.
        output_shape: the output shape of one sample, if it cannot be found by running the module once.

    Shape:
        Input: what the module takes (channels-last for 4-D when ``data_format="channels_first"``).
        Output: what the module returns (4-D outputs transposed back to channels-last).

    Example:
        >>> net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 28 * 28, 10))
        >>> model = Sequential([Input(shape=(28, 28, 1)), TorchModule(net), Softmax()])
    """

    def __init__(self, module, data_format="channels_first", output_shape=None, **kwargs):
        super().__init__(**kwargs)
        owner = f"TorchModule '{self.name}'"
        if not isinstance(module, nn.Module):
            raise ArgumentTypeError(f"{owner}: module must be a torch.nn.Module. Received: module of type "
                                    f"{type(module).__name__}")
        if isinstance(module, Layer):
            raise ArgumentTypeError(f"{owner}: {type(module).__name__} is already a cnnlab layer; use it directly. "
                                    f"Received: module={module!r}")
        self.data_format = _args.data_format(data_format, owner)
        if output_shape is not None:
            try:
                output_shape = tuple(int(d) for d in output_shape)
            except (TypeError, ValueError):
                raise ConfigError(f"{owner}: output_shape is the shape of one sample, e.g. (10,). "
                                  f"Received: output_shape={output_shape!r}") from None
        self.output_shape_hint = output_shape
        self.module = module
        self.module.train(False)
        self._contiguous_input = False
        for target, param in module.named_parameters():
            self._variables.append(_ModuleVariable(self, target, trainable=True))
        for target, buffer in module.named_buffers():
            if buffer.is_floating_point():
                self._variables.append(_ModuleVariable(self, target, trainable=False))

    def build(self, input_shape) -> None:
        """The module's parameters exist already; nothing to create."""

    def call(self, inputs, training=False):
        self.module.train(bool(training))
        transpose = self.data_format == "channels_first"
        if not (transpose and inputs.dim() == 4):
            y = self.module(inputs)
        else:
            y = self._forward_channels_first(inputs.permute(0, 3, 1, 2))
        return y.permute(0, 2, 3, 1) if transpose and hasattr(y, "dim") and y.dim() == 4 else y

    def _forward_channels_first(self, x):
        # The permuted batch is NCHW in shape but channels-last in memory. Convolutions keep that layout, and on
        # CPU it is the fast one (a 3-channel CNN measured 75 ms/step against 105 ms/step from a contiguous NCHW
        # copy), but `.view` on such a tensor fails, as in many PyTorch tutorials' flatten. So the module gets the
        # permuted tensor until a `.view` refuses it, then a contiguous copy for good. The first failure usually
        # happens in the no-grad, inference-mode shape probe when the model is built, so nothing is run twice.
        if self._contiguous_input:
            return self.module(_nchw_copy(x))
        try:
            return self.module(x)
        except RuntimeError as err:
            if not _is_view_stride_error(err):
                raise
        self._contiguous_input = True
        return self.module(_nchw_copy(x))

    def compute_output_shape(self, input_shape):
        if self.output_shape_hint is not None:
            return (input_shape[0], *self.output_shape_hint)
        return super().compute_output_shape(input_shape)

    def get_config(self):
        if type(self) is TorchModule:
            raise NotImplementedError(
                f"TorchModule '{self.name}' wraps a PyTorch module ({type(self.module).__name__}), whose architecture "
                "cannot be written to a file. Save the weights with model.save_weights(...), or subclass TorchModule "
                "with an __init__ that builds the module and pass that class in custom_objects when loading."
            )
        config = {**super().get_config(), "data_format": self.data_format}
        if self.output_shape_hint is not None:
            config["output_shape"] = list(self.output_shape_hint)
        return config

    def extra_repr(self) -> str:
        return f"name={self.name!r}, data_format={self.data_format!r}"
