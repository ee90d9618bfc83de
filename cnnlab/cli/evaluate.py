"""``cnnlab evaluate``: test a trained model on a dataset."""

from __future__ import annotations

import argparse

from cnnlab.cli import _args, _data, _models, _records, _training

HELP = "test a trained model (a run folder or .cnnlab file) on a dataset"
EXAMPLES = """  cnnlab evaluate runs/lenet                       (on the test split of the data it was trained on)
  cnnlab evaluate runs/lenet/model.cnnlab --data digits
  cnnlab evaluate model.cnnlab --data photos/      (a folder: every image in it)"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="RUN_OR_MODEL", help="a run folder from 'cnnlab train' or a .cnnlab file")
    _args.add_data(parser, required=False)
    parser.add_argument("--batch-size", type=_args.positive_int, default=256, help="images per batch (default 256)")
    _args.add_limit(parser)


def run(args: argparse.Namespace) -> int:
    model = _models.load_trained(args.model)
    image_size, color_mode = _data.folder_options_for(model)
    data = _data.load(_records.data_spec(args.data, args.model), limit=args.limit, image_size=image_size,
                      color_mode=color_mode, batch_size=args.batch_size)
    _data.check_fits(data, model)
    results = _training.evaluate(model, data.test, args.batch_size)
    shown = "  ".join(f"{name} {value:.4f}" for name, value in results.items())
    print(f"{shown}  ({data.sizes['test']} test images of {data.name})")
    return 0
