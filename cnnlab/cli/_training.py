"""Optimizer and variant names of the command, and one training run shared by ``train`` and ``compare``."""

from __future__ import annotations

import time
from typing import Any

from cnnlab.errors import unknown_name

LOSS = "sparse_categorical_crossentropy"
# The classic momentum value of SGD-with-momentum studies (and of Keras examples).
CLASSIC_MOMENTUM = 0.9
# Regularisation strengths of the variants: common values in regularisation
# studies on (Fashion-)MNIST-sized networks.
L2_FACTOR = 1e-4
L1_FACTOR = 1e-5
DROPOUT_RATE = 0.5


def optimizer_names() -> list[str]:
    from cnnlab import optimizers

    return sorted({"momentum", "nag", *optimizers.names()})


def make_optimizer(name: str, learning_rate: float | None = None):
    """An optimizer from a command-line name: Keras names plus ``momentum`` and ``nag`` (SGD variants)."""
    from cnnlab import optimizers

    key = name.strip().lower()
    kwargs: dict[str, Any] = {} if learning_rate is None else {"learning_rate": learning_rate}
    if key == "momentum":
        return optimizers.SGD(momentum=CLASSIC_MOMENTUM, **kwargs)
    if key == "nag":
        return optimizers.SGD(momentum=CLASSIC_MOMENTUM, nesterov=True, **kwargs)
    if key not in optimizers.names():
        raise unknown_name("optimizer", name, optimizer_names(), where="--optimizer")
    return type(optimizers.get(key))(**kwargs)


def variant_options(name: str) -> dict[str, Any]:
    """The zoo-model options of a regularisation variant (``none``, ``l2``, ``dropout``, ``batchnorm``, ``l1l2``)."""
    from cnnlab import regularizers

    variants = {
        "none": {},
        "l2": {"kernel_regularizer": regularizers.L2(L2_FACTOR)},
        "l1l2": {"kernel_regularizer": regularizers.L1L2(l1=L1_FACTOR, l2=L2_FACTOR)},
        "dropout": {"dropout": DROPOUT_RATE},
        "batchnorm": {"batch_norm": True},
    }
    key = name.strip().lower()
    if key not in variants:
        raise unknown_name("variant", name, variants, where="--variants")
    return variants[key]


VARIANTS = ("none", "l2", "dropout", "batchnorm", "l1l2")


def fit(model: Any, data: Any, epochs: int, batch_size: int, val_split: float, callbacks: list, verbose: int):
    """Train on ``data`` (arrays use ``validation_split``, folders their held-out part); returns (History, seconds)."""
    start = time.perf_counter()
    if isinstance(data.train, tuple):
        x, y = data.train
        history = model.fit(x, y, epochs=epochs, batch_size=batch_size, validation_split=val_split or 0.0,
                            callbacks=callbacks, verbose=verbose)
    else:
        history = model.fit(data.train, epochs=epochs, validation_data=data.val, callbacks=callbacks, verbose=verbose)
    return history, time.perf_counter() - start


def evaluate(model: Any, part: Any, batch_size: int = 256) -> dict[str, float]:
    """Loss and metrics on a test part (arrays or a folder dataset), as a dict."""
    if isinstance(part, tuple):
        return model.evaluate(part[0], part[1], batch_size=batch_size, verbose=0, return_dict=True)
    return model.evaluate(part, verbose=0, return_dict=True)
