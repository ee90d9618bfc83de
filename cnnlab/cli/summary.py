"""``cnnlab summary``: the Keras summary of a model, optionally explained layer by layer."""

from __future__ import annotations

import argparse
import inspect

from cnnlab import zoo
from cnnlab.errors import ConfigError
from cnnlab.cli import _args, _models

HELP = "print a model's summary (--detail: kernel, stride, output-size arithmetic, receptive field, MACs, memory)"
EXAMPLES = """  cnnlab summary --list                         (the zoo models)
  cnnlab summary lenet5
  cnnlab summary lenet5 --detail --input-shape 8,8,1
  cnnlab summary small_resnet --source          (the code that builds it)
  cnnlab summary runs/lenet/model.cnnlab --detail"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", nargs="?", metavar="MODEL",
                        help="a zoo name, file.py, config.json, .cnnlab file or run folder")
    parser.add_argument("--detail", action="store_true", help="explain each layer: shapes arithmetic, MACs, memory")
    parser.add_argument("--input-shape", type=_args.shape, default=(28, 28, 1), metavar="H,W,C",
                        help="image shape for zoo names and .py files (default 28,28,1)")
    parser.add_argument("--num-classes", type=_args.positive_int, default=10, help="output classes (default 10)")
    parser.add_argument("--batch-size", type=_args.positive_int, default=1,
                        help="batch size of the memory totals of --detail (default 1)")
    parser.add_argument("--list", action="store_true", help="list the zoo models")
    parser.add_argument("--source", action="store_true", help="print the source code of a zoo model")


def run(args: argparse.Namespace) -> int:
    if args.list or args.model is None:
        names = zoo.list_models()
        width = max(16, *map(len, names))
        for name in names:
            doc = (zoo.model_entrypoint(name).__doc__ or "").strip().splitlines()[0]
            print(f"{name:<{width}} {doc}")
        return 0
    if args.source:
        print(inspect.getsource(zoo.model_entrypoint(args.model)))
        return 0
    if len(args.input_shape) != 3:
        raise ConfigError(f"--input-shape needs height,width,channels, e.g. 28,28,1. Received: {args.input_shape}")
    model = _models.build(args.model, args.input_shape, args.num_classes)
    model.summary(detail=args.detail, batch_size=args.batch_size)
    return 0
