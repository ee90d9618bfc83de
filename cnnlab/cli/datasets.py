"""``cnnlab datasets``: which datasets are on this machine, where, and how to get the others."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "list the built-in datasets: which are available here, where, and how to get the rest"
EXAMPLES = """  cnnlab datasets
  CNNLAB_DATA=/data/cnnlab cnnlab datasets      (look in another data folder)"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser  # no options


def _local_folder(spec) -> Path | None:
    """The folder holding every file of ``spec`` (gzipped or not), or None."""
    from cnnlab.data.sources import dataset_dir

    for folder in (dataset_dir(spec), *spec.system_dirs):
        names = [f.name for f in spec.files]
        if all((folder / n).is_file() or (folder / n.removesuffix(".gz")).is_file() for n in names):
            return folder
    return None


def _idx_status(spec) -> tuple[str, str]:
    from cnnlab.data.sources import dataset_dir, is_offline

    folder = _local_folder(spec)
    if folder is not None:
        return "available", str(folder)
    how = f"downloads on first use into {dataset_dir(spec)}"
    if is_offline():
        how = f"CNNLAB_OFFLINE is set: put {', '.join(f.name for f in spec.files)} in {dataset_dir(spec)}"
    if spec.apt_package:
        how += f" (or: apt install {spec.apt_package})"
    return "not here", how


def _cifar_status(layout) -> tuple[str, str]:
    """Where ``cifarNN.load_data()`` would read from: an extracted folder or the archive, in its lookup order."""
    from cnnlab.data.sources import dataset_dir, is_offline, keras_datasets_dir

    archive = layout.spec.files[0].name
    for folder in (dataset_dir(layout.spec), *layout.spec.system_dirs, keras_datasets_dir()):
        if all((folder / layout.folder / name).is_file() for name in layout.data_files):
            return "available", str(folder / layout.folder)
        for candidate in (folder / archive, folder / archive.removesuffix(".gz")):
            if candidate.is_file():
                return "available", str(candidate)
    if is_offline():
        return "not here", f"CNNLAB_OFFLINE is set: put {archive} in {dataset_dir(layout.spec)}"
    return "not here", f"downloads on first use into {dataset_dir(layout.spec)}"


def _digits_status() -> tuple[str, str]:
    try:
        import sklearn
    except ImportError:
        return "not here", "pip install scikit-learn (it bundles the 8x8 digits)"
    return "available", f"bundled with scikit-learn {sklearn.__version__}"


def run(args: argparse.Namespace) -> int:
    from cnnlab.data.sources import data_home
    from cnnlab.datasets import cifar10, cifar100, fashion_mnist, mnist

    rows = [
        ("fashion_mnist", "60000+10000 28x28 grey, 10 clothing classes", *_idx_status(fashion_mnist.SPEC)),
        ("mnist", "60000+10000 28x28 grey, 10 digits", *_idx_status(mnist.SPEC)),
        ("cifar10", "50000+10000 32x32 colour, 10 classes", *_cifar_status(cifar10.LAYOUT)),
        ("cifar100", "50000+10000 32x32 colour, 100 (or 20) classes", *_cifar_status(cifar100.LAYOUT)),
        ("digits", "1437+360 8x8 grey, 10 digits (offline)", *_digits_status()),
    ]
    print(f"{'name':<14} {'contents':<46} {'status':<10} where / how to get it")
    for name, contents, status, where in rows:
        print(f"{name:<14} {contents:<46} {status:<10} {where}")
    print(f"\nData folder: {data_home()} (set CNNLAB_DATA to change it)")
    print("Any folder with one sub-folder of images per class works too: --data path/to/folder")
    return 0
