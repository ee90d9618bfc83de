"""``cnnlab predict``: the most likely classes of image files."""

from __future__ import annotations

import argparse

import numpy as np

from cnnlab.cli import _args, _data, _models, _records

HELP = "classify image files with a trained model: top-k classes with probabilities"
EXAMPLES = """  cnnlab predict runs/lenet digit.png
  cnnlab predict runs/fashion/model.cnnlab shoe.jpg shirt.png --top-k 5
  cnnlab predict model.cnnlab cat.jpg --class-names cat,dog
Images are converted to the model's channels (grayscale or RGB), resized to its input size and scaled to 0..1."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", help="a run folder from 'cnnlab train' or a .cnnlab file")
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files (png, jpg, bmp, gif)")
    parser.add_argument("--top-k", type=_args.positive_int, default=3, help="classes shown per image (default 3)")
    parser.add_argument("--class-names", type=_args.name_list, metavar="A,B,...",
                        help="names of the classes, in label order (default: from the run folder, else numbers)")


def run(args: argparse.Namespace) -> int:
    from cnnlab.data.image_folder import load_image

    model = _models.load_trained(args.model)
    image_size, color_mode = _data.folder_options_for(model)
    x = np.stack([load_image(path, image_size, color_mode) for path in args.images]) / _data.PIXEL_MAX
    probabilities = model.predict(x, verbose=0)
    names = args.class_names or _records.class_names(args.model) or [str(i) for i in range(probabilities.shape[1])]
    k = min(args.top_k, probabilities.shape[1])
    for path, row in zip(args.images, probabilities):
        top = np.argsort(-row, kind="stable")[:k]
        print(path)
        for rank, index in enumerate(top, start=1):
            name = names[index] if index < len(names) else str(index)
            print(f"  {rank}. {name:<20} {row[index]:7.2%}")
    return 0
