"""What keeps the lab a private, local server: token, Host/Origin checks, confined paths, safe image decoding.

A local web server is reachable by every web page the user has open: a page
can send requests to ``127.0.0.1`` (cross-site requests) or resolve its own
domain to ``127.0.0.1`` (DNS rebinding). So every request must carry the
random token printed with the URL, name a local ``Host``, and, when the
browser says where it comes from (``Origin``), come from the lab itself.
"""

from __future__ import annotations

import hmac
import io
import json
import os
import secrets
import warnings
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

from cnnlab.errors import CnnlabError

TOKEN_HEADER = "x-cnnlab-token"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
# 4096 x 4096: far above any image a CNN of the lab takes, far below what exhausts memory.
MAX_IMAGE_PIXELS = 4096 * 4096
IMAGE_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")
SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY")]


class Forbidden(CnnlabError, PermissionError):
    """A request the lab refuses: no or wrong token, foreign Host or Origin, a path outside the run folders."""


class UploadTooLarge(CnnlabError, ValueError):
    """An upload above the lab's size limit."""


class BadImage(CnnlabError, ValueError):
    """An upload that is not an image the lab decodes, or a decompression bomb."""


def new_token() -> str:
    return secrets.token_urlsafe(32)


def cookie_name(port: int | None) -> str:
    # Cookies are not kept apart by port: two labs on one machine need two names.
    return f"cnnlab_token_{port or 0}"


def token_matches(given: str | None, token: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode("utf-8", "replace"), token.encode())


def _hostname(host: str) -> str:
    """``host[:port]`` → host (``[::1]:8765`` → ``[::1]``)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class GuardMiddleware:
    """ASGI middleware refusing (403: JSON, or a short HTML page for browsers) any HTTP request without the token, a local Host and a same Origin.

    Args:
        app: the ASGI app behind the guard.
        token: the secret every request must carry (header, ``?token=`` or the cookie set on ``/``).
        allowed_hosts: host names accepted besides 127.0.0.1, localhost and [::1] (e.g. the bound host).
        port: the port of the cookie's name (the bound port; 0 when not known yet).
    """

    def __init__(self, app, token: str, allowed_hosts=(), port_getter=lambda: 0) -> None:
        self.app, self.token, self.port_getter = app, token, port_getter
        self.hosts = LOCAL_HOSTS | {h.lower() for h in allowed_hosts if h and h not in ("0.0.0.0", "::")}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            if scope["type"] == "websocket":  # the lab has none; never accept one unchecked
                await send({"type": "websocket.close", "code": 1008})
                return
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        refusal, from_query = self._refusal(scope, headers)
        if refusal:
            if "text/html" in headers.get("accept", ""):  # a browser opening a page: a page it can show
                await _send_html(send, 403, refusal)
            else:
                await _send_json(send, 403, {"error": refusal, "type": "Forbidden"})
            return
        set_cookie = from_query and scope.get("path") == "/"

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                extra = list(SECURITY_HEADERS)
                if set_cookie:
                    value = (f"{cookie_name(self.port_getter())}={self.token}; Path=/; HttpOnly; SameSite=Strict")
                    extra.append((b"set-cookie", value.encode()))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _refusal(self, scope, headers) -> tuple[str | None, bool]:
        host = headers.get("host", "")
        if _hostname(host) not in self.hosts:
            return (f"Host '{host}' is refused: the lab answers only to {', '.join(sorted(self.hosts))} "
                    "(this protects it from DNS rebinding). Open the URL cnnlab lab printed."), False
        origin = headers.get("origin")
        if origin is not None and origin != f"{scope.get('scheme', 'http')}://{host}":
            return (f"Origin '{origin}' is refused: only pages of the lab itself (http://{host}) may call it."), False
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        candidates = [(headers.get(TOKEN_HEADER), False), ((query.get("token") or [None])[0], True)]
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # noqa: BLE001  a malformed cookie header is just no cookie
            cookie = SimpleCookie()
        morsel = cookie.get(cookie_name(self.port_getter()))
        candidates.append((morsel.value if morsel else None, False))
        for given, from_query in candidates:
            if token_matches(given, self.token):
                return None, from_query
        said = "a wrong token" if any(g for g, _ in candidates) else "no token"
        return (f"This request has {said}. Open the lab with the URL cnnlab lab printed (it ends in ?token=...), "
                f"or send the token in the {TOKEN_HEADER} header."), False


async def _send_json(send, status: int, body: dict) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                            (b"cache-control", b"no-store"), *SECURITY_HEADERS]})
    await send({"type": "http.response.body", "body": data})


FORBIDDEN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>403: access refused · cnnlab lab</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1d2330}}
h1{{font-size:1.6rem}}code{{background:#eef1f5;padding:0 .25rem;border-radius:3px}}
.why{{color:#5a6372}}</style></head>
<body><h1>403: access refused</h1>
<p>This lab only answers the address <code>cnnlab lab</code> printed in its terminal when it started,
for example <code>http://127.0.0.1:8765/?token=...</code>: the token in it is the key to the lab.
Copy that whole line into the address bar (a restarted lab prints a new token).</p>
<p class="why">Why: {reason}</p></body></html>
"""


async def _send_html(send, status: int, reason: str) -> None:
    import html

    data = FORBIDDEN_PAGE.format(reason=html.escape(reason)).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/html; charset=utf-8"),
                            (b"content-length", str(len(data)).encode()), (b"cache-control", b"no-store"),
                            (b"content-security-policy", b"default-src 'none'; style-src 'unsafe-inline'"),
                            *SECURITY_HEADERS]})
    await send({"type": "http.response.body", "body": data})


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# ----------------------------------------------------------------- paths
def confine(root: str, relative: str) -> str:
    """The real path of ``relative`` inside ``root``; :class:`Forbidden` if it leaves it (``..``, absolute, symlink).

    Example:
        >>> confine("runs", "lenet-1")  # doctest: +SKIP
        '/home/me/runs/lenet-1'
    """
    if not isinstance(relative, str) or not relative or "\0" in relative:
        raise Forbidden(f"A run is named by its id from GET /api/runs. Received: run={relative!r}")
    if os.path.isabs(relative) or relative.startswith(("/", "\\", "~")) or ".." in relative.replace("\\", "/").split("/"):
        raise Forbidden(f"Run ids are paths inside the runs folder: absolute paths and '..' are refused. "
                        f"Received: run={relative!r}")
    base = os.path.realpath(root)
    path = os.path.realpath(os.path.join(base, relative))
    if path != base and not path.startswith(base + os.sep):
        raise Forbidden(f"'{relative}' leads outside the runs folder {root} (a symbolic link?); the lab opens only "
                        f"folders inside it. Received: run={relative!r}")
    return path


# ----------------------------------------------------------------- uploads
async def read_body(request, limit: int = MAX_UPLOAD_BYTES) -> bytes:
    """The request body, refused (413) once it passes ``limit`` bytes: by Content-Length first, then as it streams."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise BadImage(f"Content-Length must be a number. Received: content-length={declared!r}") from None
        if size > limit:
            raise UploadTooLarge(f"The upload is {size} bytes; the lab takes at most {limit} bytes "
                                 f"({limit // (1024 * 1024)} MB). Send a smaller image. Received: size={size}")
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise UploadTooLarge(f"The upload passed {limit} bytes ({limit // (1024 * 1024)} MB), the lab's "
                                 f"limit. Send a smaller image. Received: more than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def decode_image(data: bytes, max_pixels: int = MAX_IMAGE_PIXELS):
    """A Pillow image from upload bytes: only common image formats, refused above ``max_pixels`` (bombs).

    The size is read from the header and checked before a pixel is decoded;
    Pillow's own bomb warning is turned into a refusal as well.
    """
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise BadImage("The upload is empty: send the image bytes as the request body.")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=IMAGE_FORMATS)
            width, height = image.size
            if width * height > max_pixels:
                raise BadImage(f"The image is {width}x{height} pixels; the lab decodes at most {max_pixels} pixels "
                               f"(a decompression bomb guard). Send a smaller image. Received: size={width}x{height}")
            image.load()
        except BadImage:
            raise
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as err:
            raise BadImage(f"The image was refused as a decompression bomb ({err}).") from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
            raise BadImage(f"The upload is not an image the lab reads ({', '.join(IMAGE_FORMATS)}): {err}") from None
    return image
