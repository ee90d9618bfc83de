"""``cnnlab train``: train a model on a dataset and write a complete run folder."""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import tempfile
import warnings

from cnnlab.cli import _args, _data, _models, _training
from cnnlab.cli._runs import EVENTS_DIR, HISTORY_FILE, MODEL_FILE, REPORT_FILE, RunFolder

HELP = "train a model and write a run folder (model, history, report, TensorBoard events, run.json)"
EXAMPLES = """  cnnlab train --model lenet5 --data digits --epochs 5 --out runs/lenet
  cnnlab train --model fashion_cnn --data fashion_mnist --epochs 10 --early-stopping 2
  cnnlab train --model my_model.py --data photos/ --image-size 64,64 --optimizer sgd --lr 0.01
  cnnlab train --model config.json --data mnist --limit 2000 --epochs 1   (a quick trial)
  cnnlab train --model lenet5 --data fashion_mnist --distributed 2         (data-parallel on 2 processes)
  tensorboard --logdir runs/lenet/events                                   (then watch the curves)"""
# The report's confusion matrix and examples use at most this many test images.
REPORT_MAX_IMAGES = 10_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, metavar="NAME|FILE",
                        help="a zoo name (see 'cnnlab summary --list'), file.py defining build_model(), "
                             "config.json, or model.cnnlab to train further")
    _args.add_data(parser)
    parser.add_argument("--epochs", type=_args.positive_int, default=5, help="training epochs (default 5)")
    parser.add_argument("--batch-size", type=_args.positive_int, default=32, help="images per batch (default 32)")
    parser.add_argument("--optimizer", default="adam",
                        help="sgd, momentum, nag, adagrad, adadelta, rmsprop, adam, adamw, nadam (default adam)")
    parser.add_argument("--lr", type=_args.positive_float, help="learning rate (default: the optimizer's Keras default)")
    parser.add_argument("--val-split", type=_args.fraction, default=0.1,
                        help="fraction of the training images held out for validation (default 0.1)")
    parser.add_argument("--early-stopping", type=_args.positive_int, metavar="N",
                        help="stop after N epochs without a better val_loss, keeping the best weights")
    parser.add_argument("--out", metavar="DIR", help="run folder (default runs/MODEL-DATE-TIME)")
    parser.add_argument("--overwrite", action="store_true", help="write into an --out folder that is not empty")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--no-report", action="store_true", help="skip report.html")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--distributed", type=_args.positive_int, default=1, metavar="N",
                        help="train data-parallel on N processes of this machine (torchrun; --batch-size is global)")
    _args.add_limit(parser)
    _args.add_folder_options(parser)


def run(args: argparse.Namespace) -> int:
    from cnnlab import callbacks, utils

    if args.distributed > 1 and "RANK" not in os.environ:
        return _launch_workers(args.argv, args.distributed)
    chief, args.distributed = _join_replicas()
    utils.set_random_seed(args.seed)
    data = _data.load(args.data, limit=args.limit, val_split=args.val_split, seed=args.seed,
                      image_size=args.image_size, color_mode=args.color_mode, batch_size=args.batch_size)
    model = _models.build(args.model, data.input_shape, data.num_classes)
    _data.check_fits(data, model)
    model.compile(optimizer=_training.make_optimizer(args.optimizer, args.lr), loss=_training.LOSS,
                  metrics=["accuracy"])
    out = args.out or os.path.join("runs", f"{_models.describe(args.model)}-{datetime.datetime.now():%Y%m%d-%H%M%S}")
    if not chief:  # every replica trains, only the first one writes the run folder
        out = tempfile.mkdtemp(prefix="cnnlab-replica-")
    config = {k: v for k, v in vars(args).items() if k not in ("run", "debug", "argv")}
    run_folder = RunFolder(out, config, overwrite=args.overwrite)
    cbs = [callbacks.CSVLogger(run_folder.file(HISTORY_FILE))]
    tensorboard = _tensorboard(run_folder.file(EVENTS_DIR))
    cbs += [tensorboard] if tensorboard else []
    if args.early_stopping:
        cbs.append(callbacks.EarlyStopping(patience=args.early_stopping, restore_best_weights=True))
    with run_folder.recording():
        run_folder.update(data={"name": data.name, "input_shape": list(data.input_shape), "sizes": data.sizes,
                                "class_names": data.class_names},
                          model={"name": model.name, "params": model.count_params()},
                          files={"tensorboard_events": tensorboard is not None})
        try:
            history, seconds = _training.fit(model, data, args.epochs, args.batch_size, args.val_split, cbs,
                                             verbose=0 if args.quiet else 1)
        finally:  # also on Ctrl-C: keep the weights reached so far
            model.save(run_folder.file(MODEL_FILE))
        results = _training.evaluate(model, data.test)
        run_folder.update(results={"test": results, "epochs_run": len(history.epoch), "train_seconds": round(seconds, 3),
                                   **_best(history.history)})
        if not args.no_report:  # on every replica: the report's evaluate() is a collective call
            _write_report_or_warn(model, data, history, run_folder)
    if chief:
        _print_done(run_folder, results, data, tensorboard is not None)
    else:
        shutil.rmtree(run_folder.path, ignore_errors=True)
    return 0


def _launch_workers(argv: list[str], processes: int) -> int:
    """Re-run this same command on ``processes`` workers through torchrun."""
    from cnnlab.distribute.launch import launch

    launch("cnnlab.cli.main", _without_option(argv, "--distributed"), nproc_per_node=processes, module=True)
    return 0


def _without_option(argv: list[str], option: str) -> list[str]:
    result, skip = [], False
    for item in argv:
        if skip:
            skip = False
        elif item == option:
            skip = True
        elif not item.startswith(option + "="):
            result.append(item)
    return result


def _join_replicas() -> tuple[bool, int]:
    """Join the torchrun group when launched by it; (is this the process that writes files, replicas)."""
    if "RANK" not in os.environ:
        return True, 1
    from cnnlab.distribute import MirroredStrategy

    strategy = MirroredStrategy()
    return strategy.is_chief, strategy.num_replicas_in_sync


def _tensorboard(log_dir: str):
    from cnnlab import callbacks

    try:
        import tensorboard  # noqa: F401
    except ImportError:
        warnings.warn("TensorBoard events are not written: install them with pip install 'cnnlab[tensorboard]'.",
                      stacklevel=2)
        return None
    return callbacks.TensorBoard(log_dir, histogram_freq=1, write_images=True)


def _best(history: dict) -> dict:
    val = history.get("val_accuracy")
    if not val:
        return {}
    best = max(range(len(val)), key=val.__getitem__)
    return {"best_val_accuracy": val[best], "best_epoch": best + 1}


def _write_report_or_warn(model, data, history, run_folder: RunFolder) -> None:
    """Write report.html; a report that cannot be drawn costs the report only, never the trained, saved run."""
    try:
        _write_report(model, data, history, run_folder)
    except Exception as err:  # noqa: BLE001  the model is saved already; the failure is recorded and shown
        reason = f"{type(err).__name__}: {err}"
        run_folder.update(report={"written": False, "error": reason})
        warnings.warn(f"report.html was not written ({reason}). The model and history are saved in "
                      f"'{run_folder.path}'; make the report later with: cnnlab inspect {run_folder.path}",
                      stacklevel=2)


def _write_report(model, data, history, run_folder: RunFolder) -> None:
    try:
        from cnnlab.inspect import report
    except ImportError as err:
        warnings.warn(f"report.html was not written: this cnnlab has no HTML report ({err}).", stacklevel=2)
        return
    x_test, y_test = _data.as_arrays(data.test, limit=REPORT_MAX_IMAGES)
    report(model, x_test, y_test, history=history, path=run_folder.file(REPORT_FILE), class_names=data.class_names)


def _print_done(run_folder: RunFolder, results: dict, data, events: bool) -> None:
    test = ", ".join(f"{k} {v:.4f}" for k, v in results.items())
    print(f"\nTest ({data.sizes.get('test')} images): {test}")
    print(f"Run folder: {run_folder.path}  ({', '.join(sorted(os.listdir(run_folder.path)))})")
    if events:
        print(f"Watch the curves: tensorboard --logdir {os.path.join(run_folder.path, EVENTS_DIR)}")
