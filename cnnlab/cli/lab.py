"""``cnnlab lab``: start the local web lab (model, training, feature maps, comparisons) and open it in the browser."""

from __future__ import annotations

import argparse
import socket
import sys
import threading

HELP = "open the local web lab: look inside a model, train it live, draw digits, compare runs (cnnlab[lab])"
EXAMPLES = """  cnnlab lab                                    (the run folders in runs/)
  cnnlab lab runs/lenet                         (one run folder)
  cnnlab lab model.cnnlab                       (a model file: .cnnlab, .keras, .h5)
  cnnlab lab --model lenet5 --data digits       (a zoo model to train)
  cnnlab lab --model mobilenet_v2 --data digits --image-size 96
                                                (Keras's architecture, the digits resized to 96x96)
  cnnlab lab --no-browser --port 8765           (on a machine without a browser: open the printed URL)"""
DEFAULT_PORT = 8765
LOCAL = ("127.0.0.1", "localhost", "::1")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", metavar="RUNS|RUN|MODEL_FILE",
                        help="a runs folder (default runs/), a run folder, or a .cnnlab/.keras/.h5 model file")
    parser.add_argument("--model", metavar="NAME", help="a zoo model to build and train (see 'cnnlab summary --list')")
    parser.add_argument("--data", metavar="NAME|DIR", help="fashion_mnist, mnist, digits or a folder of class sub-folders")
    parser.add_argument("--image-size", type=_image_size, metavar="H,W",
                        help="resize the images of --data to H,W for the zoo --model (default: the data's size, "
                             "or the smallest a Keras architecture such as mobilenet_v2 takes); an opened model "
                             "file reads every dataset at its own input size")
    parser.add_argument("--runs", metavar="DIR", help="where trainings write their run folders (default runs/)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port (default {DEFAULT_PORT}, or a free one if it is taken; 0: any free port)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser; just print the URL")


def _image_size(text: str):
    from cnnlab.cli._args import image_size

    return image_size(text)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``, or on a free port when the default one is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for candidate in dict.fromkeys([port, 0] if port == DEFAULT_PORT else [port]):
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that name it, and without it every
        # answer waits ~40 ms for the client's delayed ACK (Nagle).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, candidate))
        except OSError as err:
            sock.close()
            if candidate == 0 or port != DEFAULT_PORT:
                from cnnlab.errors import ConfigError

                raise ConfigError(f"--port: cannot listen on {host}:{candidate} ({err.strerror}). Pick another "
                                  f"--port, or --port 0 for any free one.") from None
            continue
        sock.listen(128)
        sock.set_inheritable(True)
        return sock
    raise AssertionError("unreachable")


def url_of(host: str, port: int, token: str) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else "[::1]" if host == "::" else host
    shown = f"[{shown}]" if ":" in shown and not shown.startswith("[") else shown
    return f"http://{shown}:{port}/?token={token}"


def opened(lab) -> str:
    """One line saying what the lab opened, so a wrong path or a missing --data shows before the browser does."""
    import os

    parts = []
    model = lab.model_brief()
    if model:
        parts.append(f"model {model['name']} ({model['params']:,} parameters"
                     + (f", run {model['run']})" if model["run"] else ")"))
    else:
        parts.append("no model yet (train one on the Train page)")
    data = lab.data_brief()
    if data:
        size = data["input_shape"]
        parts.append(f"data {data['name']} ({size[0]}x{size[1]}x{size[2]} images)")
    else:
        parts.append(lab.data_problem() if lab.model is not None and lab.data_spec
                     else "no dataset (add --data NAME for test images and Mistakes)")
    parts.append(f"run folders in {os.path.relpath(lab.runs_dir)}/")
    return "opened: " + "; ".join(parts)


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from cnnlab.lab.server import create_app
        from cnnlab.lab.sources import Source
        from cnnlab.lab.training import warm_up
    except ImportError as err:
        from cnnlab.errors import ConfigError

        raise ConfigError(f"cnnlab lab needs the lab extra ({err.name} is missing): pip install 'cnnlab[lab]'") from None
    if args.host not in LOCAL:
        sys.stderr.write(f"cnnlab: warning: --host {args.host} lets other machines reach the lab; the token still "
                         "guards it, but the connection is not encrypted.\n")
    source = Source.from_path(args.path, model=args.model, data=args.data, runs_dir=args.runs,
                              image_size=args.image_size)
    sock = bind(args.host, args.port)
    port = sock.getsockname()[1]
    app = create_app(source, allowed_hosts=[args.host], port_getter=lambda: port)
    warm_up()  # before the URL: the first training must not stall the page (cnnlab.lab.training.warm_up)
    url = url_of(args.host, port, app.state.token)
    print(f"cnnlab lab: {url}\n{opened(app.state.lab)}\n"
          "(Ctrl-C stops it; the token in the URL is the key to the lab: do not share it)", flush=True)
    if not args.no_browser:
        import webbrowser

        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    server.run(sockets=[sock])
    return 0
