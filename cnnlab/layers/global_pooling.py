"""Global pooling layers: the mean or maximum over all spatial axes of 1-D, 2-D and 3-D inputs."""

from __future__ import annotations

from cnnlab.layers import _args, _spatial
from cnnlab.layers.base import InputSpec, Layer


class _GlobalPooling(Layer):
    """Reduces the ``_rank`` spatial axes; subclasses set ``_rank`` and ``_reduce``."""

    _rank = 2

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _args.data_format(data_format, f"{type(self).__name__} '{self.name}'")
        self.keepdims = bool(keepdims)
        self.input_spec = InputSpec(ndim=self._rank + 2, layout=_spatial.layout(self._rank, self.data_format))

    def _axes(self):
        return _spatial.spatial_axes(self._rank, self.data_format)

    def call(self, inputs):
        return self._reduce(inputs, dim=self._axes(), keepdim=self.keepdims)

    def compute_output_shape(self, input_shape):
        axes = self._axes()
        if self.keepdims:
            return tuple(1 if i in axes else d for i, d in enumerate(input_shape))
        return tuple(d for i, d in enumerate(input_shape) if i not in axes)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class _GlobalAverage(_GlobalPooling):
    @staticmethod
    def _reduce(x, dim, keepdim):
        return x.mean(dim=dim, keepdim=keepdim)


class _GlobalMax(_GlobalPooling):
    @staticmethod
    def _reduce(x, dim, keepdim):
        return x.amax(dim=dim, keepdim=keepdim)


class GlobalAveragePooling1D(_GlobalAverage):
    """Mean over the steps (Keras's ``GlobalAveragePooling1D``).

    Args:
        data_format: ``"channels_last"`` ``(N, steps, features)`` (default) or ``"channels_first"``.
        keepdims: keep the reduced axis with size 1.

    Shape:
        Input ``(N, L, C)``; output ``(N, C)``, or ``(N, 1, C)`` with ``keepdims=True``.

    Example:
        >>> GlobalAveragePooling1D()(np.zeros((2, 10, 4))).shape
        torch.Size([2, 4])
    """

    _rank = 1


class GlobalAveragePooling2D(_GlobalAverage):
    """Mean over height and width: ``(N, H, W, C)`` -> ``(N, C)`` (``(N, 1, 1, C)`` with keepdims)."""

    _rank = 2


class GlobalAveragePooling3D(_GlobalAverage):
    """Mean over depth, height and width: ``(N, D, H, W, C)`` -> ``(N, C)`` (``(N, 1, 1, 1, C)`` with keepdims).

    Arguments as :class:`GlobalAveragePooling1D`.
    """

    _rank = 3


class GlobalMaxPooling1D(_GlobalMax):
    """Maximum over the steps: ``(N, L, C)`` -> ``(N, C)``; arguments as :class:`GlobalAveragePooling1D`."""

    _rank = 1


class GlobalMaxPooling2D(_GlobalMax):
    """Maximum over height and width: ``(N, H, W, C)`` -> ``(N, C)``."""

    _rank = 2


class GlobalMaxPooling3D(_GlobalMax):
    """Maximum over depth, height and width: ``(N, D, H, W, C)`` -> ``(N, C)``."""

    _rank = 3


GlobalAvgPool1D = GlobalAveragePooling1D
GlobalAvgPool2D = GlobalAveragePooling2D
GlobalAvgPool3D = GlobalAveragePooling3D
GlobalMaxPool1D = GlobalMaxPooling1D
GlobalMaxPool2D = GlobalMaxPooling2D
GlobalMaxPool3D = GlobalMaxPooling3D
