"""``cnnlab launch``: run a training script on N processes (and machines) with torchrun."""

from __future__ import annotations

import argparse

from cnnlab.distribute import launch as _launch

HELP = "run a training script data-parallel on N processes (torchrun), e.g. with MirroredStrategy"
EXAMPLES = """  cnnlab launch -n 2 train.py --epochs 5
  cnnlab launch --nnodes 2 --node-rank 0 -n 4 --rdzv-endpoint node0:29400 train.py   (on each machine,
                                                                                      --node-rank 1 on the second)"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _launch.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    _launch.run(args)
    return 0
