"""``cnnlab compare``: the classic optimizer and regularisation study in one command."""

from __future__ import annotations

import argparse
import datetime
import os

from cnnlab.cli import _args, _compare, _data, _models, _training
from cnnlab.errors import ConfigError

HELP = "train one model with several optimizers / regularisers and compare them (figure + table)"
EXAMPLES = """  cnnlab compare --model lenet5 --data fashion_mnist --optimizers sgd,momentum,nag,adagrad,adadelta,rmsprop,adam
  cnnlab compare --model fashion_cnn --data fashion_mnist --variants none,l2,dropout,batchnorm,l1l2 --jobs 2
  cnnlab compare --model lenet5 --data digits --optimizers sgd,adam --epochs 3 --out runs/cmp
Optimizers: sgd, momentum (SGD, momentum 0.9), nag (Nesterov), adagrad, adadelta, rmsprop, adam, adamw, nadam.
Variants (zoo models): none, l2 (L2 1e-4), dropout (0.5), batchnorm, l1l2 (L1 1e-5 + L2 1e-4).
Every optimizer is run with every variant."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, metavar="NAME|FILE", help="a zoo name (variants need one), or a file")
    _args.add_data(parser)
    parser.add_argument("--optimizers", type=_args.name_list, default=["adam"], metavar="A,B,...",
                        help="optimizers to compare (default adam)")
    parser.add_argument("--variants", type=_args.name_list, default=["none"], metavar="A,B,...",
                        help="regularisation variants to compare (default none)")
    parser.add_argument("--epochs", type=_args.positive_int, default=5, help="epochs per configuration (default 5)")
    parser.add_argument("--batch-size", type=_args.positive_int, default=32, help="images per batch (default 32)")
    parser.add_argument("--lr", type=_args.positive_float, help="one learning rate for all (default: each one's own)")
    parser.add_argument("--val-split", type=_args.fraction, default=0.2, help="validation fraction (default 0.2)")
    parser.add_argument("--jobs", type=_args.positive_int, default=1, help="configurations trained at once (default 1)")
    parser.add_argument("--out", metavar="DIR", help="output folder (default runs/compare-DATE-TIME)")
    parser.add_argument("--seed", type=int, default=0, help="random seed, the same for every run (default 0)")
    _args.add_limit(parser)


def run(args: argparse.Namespace) -> int:
    if not args.val_split:
        raise ConfigError("compare ranks configurations by validation accuracy: --val-split must be above 0.")
    for name in args.optimizers:
        _training.make_optimizer(name)  # fail on a misspelt name before any training
    for name in args.variants:
        _training.variant_options(name)
    if _data.is_folder_spec(args.data) or os.path.isdir(args.data):
        raise ConfigError("compare works on fashion_mnist, mnist or digits; train on an image folder with "
                          "'cnnlab train'.")
    _data.load(args.data, limit=1)  # the dataset exists (else: where to get it), before starting workers
    _models.build(args.model, (28, 28, 1), 10, **_training.variant_options(args.variants[-1]))
    threads = max(1, (os.cpu_count() or 1) // args.jobs) if args.jobs > 1 else 0
    jobs = [dict(model=args.model, data=args.data, optimizer=o, variant=v, epochs=args.epochs, lr=args.lr,
                 batch_size=args.batch_size, val_split=args.val_split, limit=args.limit, seed=args.seed,
                 threads=threads) for o in args.optimizers for v in args.variants]
    out = args.out or os.path.join("runs", f"compare-{datetime.datetime.now():%Y%m%d-%H%M%S}")
    print(f"Training {len(jobs)} configuration(s) of {args.model} on {args.data}, {args.jobs} at a time")
    results = _compare.run_all(jobs, args.jobs, on_done=lambda r: print(
        f"  {r['name']:<20} best val accuracy {r['best_val_accuracy']:.4f} (epoch {r['best_epoch']}) "
        f"in {r['seconds']:.1f} s", flush=True))
    title = f"{args.model} on {args.data}: {args.epochs} epoch{'s' if args.epochs > 1 else ''}"
    paths = _compare.write_outputs(out, results, title)
    print()
    print(_compare.table(results))
    print(f"Figure: {paths[_compare.FIGURE_FILE]}\nTable: {paths[_compare.TABLE_FILE]}")
    return 0
