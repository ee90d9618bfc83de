"""cnnlab: build, train, look inside and compare convolutional neural networks.

Keras vocabulary, PyTorch engine. ``import cnnlab as keras`` and tutorial code
written for ``tf.keras`` runs with the same shapes, parameter counts and outputs.
"""

from cnnlab._version import __version__

from cnnlab import (  # noqa: E402
    activations,
    applications,
    backend,
    callbacks,
    constraints,
    datasets,
    distribute,
    errors,
    initializers,
    inspect,
    layers,
    losses,
    metrics,
    mixed_precision,
    models,
    ops,
    optimizers,
    preprocessing,
    random,
    regularizers,
    saving,
    utils,
)
from cnnlab.layers import Input  # noqa: E402
from cnnlab.models import Model, Sequential, load_model  # noqa: E402
from cnnlab.variables import Variable  # noqa: E402
from cnnlab.tf_names import *  # noqa: E402,F403  the eager TensorFlow names tutorials use (import cnnlab as tf)
from cnnlab.tf_names import STAR_EXPORTS as _TF_EXPORTS, __all__ as _TF_NAMES  # noqa: E402
from cnnlab._keras_alias import install_keras_alias  # noqa: E402

keras = install_keras_alias(__name__)  # `tf.keras.layers`, `from cnnlab.keras import layers`: cnnlab itself

__all__ = [
    *_TF_EXPORTS,  # the tf facade, less the names that would hide Python built-ins (tf.print, tf.range...)
    "Input", "Model", "Sequential", "Variable", "activations", "applications", "backend", "callbacks", "constraints", "datasets", "distribute", "errors",
    "initializers", "inspect", "keras", "layers", "load_model", "losses", "metrics", "mixed_precision", "models", "ops", "optimizers", "preprocessing", "random", "regularizers",
    "saving", "utils", "__version__",
]


def __getattr__(name: str):
    from cnnlab.errors import did_you_mean

    if hasattr(layers, name) and name in layers.__all__:
        raise AttributeError(f"module 'cnnlab' has no attribute '{name}'. Layers live in cnnlab.layers: "
                             f"use cnnlab.layers.{name}.")
    raise AttributeError(f"module 'cnnlab' has no attribute '{name}'.{did_you_mean(name, __all__ + layers.__all__ + _TF_NAMES)}")
