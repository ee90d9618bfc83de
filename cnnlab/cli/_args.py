"""Argument types and flags shared by several verbs."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a fraction like 0.2, got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text!r}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number like 0.001, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def shape(text: str) -> tuple[int, ...]:
    """``28,28,1`` or ``28x28x1``."""
    try:
        values = tuple(int(part) for part in text.replace("x", ",").split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 28,28,1, got {text!r}") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive sizes like 28,28,1, got {text!r}")
    return values


def image_size(text: str) -> tuple[int, int]:
    """``96`` (square) or ``96,128`` / ``96x128`` (height, width)."""
    values = shape(text)
    if len(values) == 1:
        return (values[0], values[0])
    if len(values) != 2:
        raise argparse.ArgumentTypeError(f"expected a size like 96 or 96,128 (height,width), got {text!r}")
    return values


def name_list(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected comma-separated names, got {text!r}")
    return names


def add_data(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument("--data", required=required, metavar="NAME|DIR",
                        help="fashion_mnist, mnist, digits, or a folder with one sub-folder of images per class")


def add_limit(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", type=positive_int, metavar="N",
                        help="use only the first N training and N test images (quick trials)")


def add_folder_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--image-size", type=image_size, metavar="H,W",
                        help="resize images to H,W (folders: train default 32,32, other verbs the model's size; "
                             "built-in datasets: their own size unless given), e.g. 96,96 for mobilenet_v2")
    parser.add_argument("--color-mode", choices=("grayscale", "rgb", "rgba"),
                        help="read folder images as grayscale, rgb or rgba (train default rgb); rgb on a built-in "
                             "grey dataset repeats its channel three times")
