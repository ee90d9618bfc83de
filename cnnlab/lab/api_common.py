"""Helpers every route module shares: JSON and PNG answers, query parsing, pictures from arrays."""

from __future__ import annotations

import io
import math

import numpy as np
from starlette.responses import JSONResponse, Response

from cnnlab.errors import ConfigError

NO_STORE = {"Cache-Control": "no-store"}


def _finite(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, np.generic):
        return _finite(value.item())
    if isinstance(value, np.ndarray):
        return _finite(value.tolist())
    return value


def json_response(body, status: int = 200) -> JSONResponse:
    return JSONResponse(_finite(body), status_code=status, headers=NO_STORE)


def png_response(data: bytes) -> Response:
    return Response(data, media_type="image/png", headers=NO_STORE)


def query_int(request, name: str, default: int | None = None, low: int | None = None, high: int | None = None):
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"Query parameter '{name}' must be a whole number. Received: {name}={raw!r}") from None
    if (low is not None and value < low) or (high is not None and value > high):
        raise ConfigError(f"Query parameter '{name}' must be from {low} to {high}. Received: {name}={value}")
    return value


def figure_bytes(fig) -> bytes:
    """PNG bytes of a Matplotlib figure, which is then closed (a server must not keep figures)."""
    from cnnlab.inspect.figures import _pyplot, figure_png

    try:
        return figure_png(fig)
    finally:
        _pyplot().close(fig)


def image_png(values: np.ndarray, scale: int = 1, low: float | None = None, high: float | None = None) -> bytes:
    """PNG of a ``(h, w)`` or ``(h, w, c)`` array (c = 1, 3, 4), scaled to 0..255 over [low, high], enlarged
    ``scale`` times with nearest pixels (so a pixel of the PNG block maps back to one value)."""
    from PIL import Image

    values = np.asarray(values, dtype=np.float32)
    if values.ndim == 3 and values.shape[-1] == 1:
        values = values[..., 0]
    low = float(np.nanmin(values)) if low is None else low
    high = float(np.nanmax(values)) if high is None else high
    span = high - low if high > low else 1.0
    pixels = np.clip((np.nan_to_num(values) - low) / span * 255.0, 0, 255).round().astype(np.uint8)
    if pixels.ndim == 3 and pixels.shape[-1] not in (3, 4):
        pixels = pixels[..., 0]
    image = Image.fromarray(pixels)
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def overlay_png(image: np.ndarray, heat: np.ndarray, scale: int = 1, alpha: float = 0.5,
                colormap: str = "jet") -> bytes:
    """The input image in grey with ``heat`` (0..1, same h, w) blended over it in ``colormap``'s colours,
    both enlarged ``scale`` times smoothly (bicubic): a heat map is a coarse estimate, and blocks would
    suggest a precision it does not have (the page shows the exact pixels beside it)."""
    import matplotlib
    from PIL import Image

    base = np.asarray(image, dtype=np.float32)
    grey = base.mean(axis=-1) if base.ndim == 3 else base
    grey = (grey - grey.min()) / (grey.max() - grey.min() or 1.0)
    heat = np.nan_to_num(np.asarray(heat, dtype=np.float32))
    heat = (heat - heat.min()) / (heat.max() - heat.min() or 1.0)
    size = (grey.shape[1] * scale, grey.shape[0] * scale)
    grey = np.clip(np.asarray(Image.fromarray(grey, mode="F").resize(size, Image.Resampling.BICUBIC)), 0.0, 1.0)
    heat = np.clip(np.asarray(Image.fromarray(heat, mode="F").resize(size, Image.Resampling.BICUBIC)), 0.0, 1.0)
    colours = matplotlib.colormaps[colormap](heat)[..., :3]
    mixed = (1 - alpha) * grey[..., None] + alpha * colours
    return image_png(mixed, scale=1, low=0.0, high=1.0)
