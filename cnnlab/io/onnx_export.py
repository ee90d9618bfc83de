"""Export a model to ONNX, channels-last as the user sees it, for onnxruntime and other runtimes.

The graph is traced with ``torch.onnx.export`` (the TorchScript exporter,
``dynamo=False``: it needs no extra packages and works offline). The input
keeps the model's own layout (``(batch, height, width, channels)``) and the
name of its ``Input`` layer; the batch axis is dynamic; a final softmax is
kept, so the outputs equal ``model.predict``.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch

from cnnlab.errors import ArgumentTypeError, ConfigError, NotBuiltError
from cnnlab.io.atomic import atomic_write

DEFAULT_OPSET = 17  # supported by onnxruntime >= 1.14 and by torch's TorchScript exporter
_BATCH_AXIS = {0: "batch"}


def export_onnx(model, path, opset: int = DEFAULT_OPSET, check: bool = True) -> Path:
    """Write ``model`` as an ONNX file.

    Args:
        model: a built cnnlab model (Sequential, functional or subclassed).
        path: the ``.onnx`` file to write (atomically).
        opset: the ONNX opset version.
        check: run ``onnx.checker.check_model`` on the result (needs the ``onnx`` package).

    Returns:
        The path written.

    Example:
        >>> export_onnx(model, "model.onnx")  # doctest: +SKIP
        >>> import onnxruntime as ort  # doctest: +SKIP
        >>> ort.InferenceSession("model.onnx").run(None, {"input_layer": x})  # doctest: +SKIP
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ArgumentTypeError(f"export_onnx: path must be a string or path. Received: path={path!r}")
    path = Path(path)
    if path.suffix != ".onnx":
        raise ConfigError(f"export_onnx: the file name must end with .onnx. Received: path={str(path)!r}")
    if isinstance(opset, bool) or not isinstance(opset, int) or opset < 9:
        raise ConfigError(f"export_onnx: opset must be an int >= 9 (17 is a good default). Received: opset={opset!r}")
    input_names, shapes = _inputs_of(model)
    output_count = len(_outputs_of(model))
    output_names = ["output"] if output_count == 1 else [f"output_{i}" for i in range(output_count)]
    dummies = tuple(torch.zeros((2,) + tuple(1 if d is None else d for d in shape[1:]), device=model._device())
                    for shape in shapes)
    was_training = model.training
    model.train(False)
    buffer = _BytesSink()
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about Python-side shape checks are expected
            torch.onnx.export(
                _Wrapper(model, len(dummies)), dummies, buffer, input_names=input_names, output_names=output_names,
                opset_version=opset, dynamic_axes={name: _BATCH_AXIS for name in input_names + output_names},
                dynamo=False,
            )
    finally:
        model.train(was_training)
    data = buffer.getvalue()
    if check:
        _check(data)
    with atomic_write(path) as fh:
        fh.write(data)
    return path


class _BytesSink:
    """The file-like object torch.onnx.export writes into (kept in memory, then written atomically)."""

    def __init__(self):
        import io

        self._buffer = io.BytesIO()

    def write(self, data) -> int:
        return self._buffer.write(data)

    def flush(self) -> None:
        pass

    def getvalue(self) -> bytes:
        return self._buffer.getvalue()


class _Wrapper(torch.nn.Module):
    """Calls the model with one tensor or a list of tensors, as its Input layers expect."""

    def __init__(self, model, n_inputs: int):
        super().__init__()
        self.model = model
        self.n_inputs = n_inputs

    def forward(self, *inputs):
        out = self.model(inputs[0] if self.n_inputs == 1 else list(inputs), training=False)
        return tuple(out) if isinstance(out, (list, tuple)) else out


def _inputs_of(model) -> tuple[list[str], list[tuple]]:
    try:
        tensors = model.inputs
    except NotBuiltError:
        shape = getattr(model, "_build_shape", None)
        if not model.built or not isinstance(shape, tuple):
            raise NotBuiltError(f"export_onnx: model '{model.name}' is not built, so its input shape is unknown. "
                                "Call it once on data or call model.build((None, 28, 28, 1)) first.") from None
        return ["input"], [shape]
    names = [t.node.layer.name for t in tensors]
    return names, [t.shape for t in tensors]


def _outputs_of(model) -> list:
    try:
        return list(model.outputs)
    except NotBuiltError:
        return [None]


def _check(data: bytes) -> None:
    try:
        import onnx
    except ImportError as err:
        raise ConfigError("export_onnx(check=True) needs the onnx package: pip install 'cnnlab[onnx]', or pass "
                          "check=False.") from err
    onnx.checker.check_model(onnx.load_from_string(data), full_check=True)
