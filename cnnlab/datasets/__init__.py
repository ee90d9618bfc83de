"""Ready-to-use image datasets, with the API of ``keras.datasets``."""

from cnnlab.datasets import cifar10, cifar100, digits, fashion_mnist, mnist

__all__ = ["cifar10", "cifar100", "digits", "fashion_mnist", "mnist"]
