"""``cnnlab inspect``: a self-contained HTML report of a trained model."""

from __future__ import annotations

import argparse

from cnnlab.cli import _args, _data, _models, _records

HELP = "write an HTML report: summary, diagram, curves, test metrics, confusion matrix, filters, Grad-CAM"
EXAMPLES = """  cnnlab inspect runs/lenet --out lenet-report.html
  cnnlab inspect model.cnnlab --data fashion_mnist --limit 2000 --out report.html"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", help="a run folder from 'cnnlab train' or a .cnnlab file")
    _args.add_data(parser, required=False)
    parser.add_argument("--out", default="report.html", metavar="FILE", help="the HTML file (default report.html)")
    _args.add_limit(parser)


def run(args: argparse.Namespace) -> int:
    from cnnlab.inspect import report

    model = _models.load_trained(args.model)
    image_size, color_mode = _data.folder_options_for(model)
    data = _data.load(_records.data_spec(args.data, args.model), limit=args.limit, image_size=image_size,
                      color_mode=color_mode)
    _data.check_fits(data, model)
    x_test, y_test = _data.as_arrays(data.test, limit=args.limit)
    report(model, x_test, y_test, history=_records.history_path(args.model), path=args.out,
           class_names=_records.class_names(args.model) or data.class_names)
    print(f"Report written to {args.out}")
    return 0
