"""Entry point of the ``cnnlab`` command: parse arguments, run a verb, turn errors into one line.

Each verb lives in its own module with ``HELP``, ``EXAMPLES``,
``add_arguments(parser)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import sys
import traceback
import warnings
from collections.abc import Sequence

from cnnlab.cli import compare, datasets, evaluate, inspect_cmd, lab, launch, predict, summary, train

VERBS = {"train": train, "evaluate": evaluate, "predict": predict, "summary": summary, "inspect": inspect_cmd,
         "datasets": datasets, "compare": compare, "launch": launch, "lab": lab}
USAGE_ERROR = 2  # argparse's exit status for a bad command line
FAILURE = 1
INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C

DESCRIPTION = """Build, train, look inside and compare convolutional neural networks.

examples:
  cnnlab train --model lenet5 --data digits --epochs 5 --out runs/lenet
  cnnlab summary lenet5 --detail
  cnnlab predict runs/lenet digit.png --top-k 3
  cnnlab compare --model lenet5 --data digits --optimizers sgd,momentum,adam
  cnnlab datasets

Run 'cnnlab VERB --help' for the options and examples of each verb."""


class UsageError(Exception):
    """A bad command line (unknown flag, missing argument)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage block
        raise UsageError(message)


def _version() -> str:
    import platform

    import torch

    import cnnlab

    return f"cnnlab {cnnlab.__version__} (torch {torch.__version__}, Python {platform.python_version()})"


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, one sub-command per verb."""
    parser = _Parser(prog="cnnlab", allow_abbrev=False, description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=_version())
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    for name, module in VERBS.items():
        sub = verbs.add_parser(name, allow_abbrev=False, help=module.HELP, description=f"{module.HELP}\n\nexamples:\n{module.EXAMPLES}",
                               formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(sub)
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                         help="show the full traceback of an error")
        sub.set_defaults(run=module.run)
    return parser


def _one_line(err: BaseException) -> str:
    from cnnlab.errors import CnnlabError

    text = " ".join(str(err).split())
    if isinstance(err, CnnlabError) or isinstance(err, (FileNotFoundError, PermissionError)):
        return text
    return f"{type(err).__name__}: {text} (run again with --debug for the traceback)"


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    sys.stderr.write(f"cnnlab: warning: {' '.join(str(message).split())}\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``cnnlab`` command with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as err:
        argv = sys.argv[1:] if argv is None else list(argv)
        verb = next((a for a in argv if a in VERBS), None)
        sys.stderr.write(f"cnnlab: error: {err} (see 'cnnlab {verb + ' ' if verb else ''}--help')\n")
        return USAGE_ERROR
    args.argv = list(sys.argv[1:] if argv is None else argv)  # verbs that re-launch themselves need it
    if args.verb is None:
        parser.print_help()
        return USAGE_ERROR
    if not args.debug:
        warnings.showwarning = _show_warning
    try:
        return args.run(args) or 0
    except KeyboardInterrupt:
        sys.stderr.write("cnnlab: interrupted\n")
        return INTERRUPTED
    except Exception as err:  # every error becomes one line; --debug shows where it came from
        if args.debug:
            traceback.print_exc()
        sys.stderr.write(f"cnnlab: error: {_one_line(err)}\n")
        return FAILURE


if __name__ == "__main__":
    sys.exit(main())
