"""Ready-to-use image datasets, with the API of ``keras.datasets``."""

from cnnlab.datasets import digits, fashion_mnist, mnist

__all__ = ["digits", "fashion_mnist", "mnist"]
