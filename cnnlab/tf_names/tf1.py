"""TensorFlow 1 graph mode, refused with the eager line to write instead.

``tf.Session``, ``tf.placeholder``, ``tf.compat.v1.*``, ``tf.get_variable`` and the old
``tensorflow.examples.tutorials.mnist.input_data`` belong to TF1's build-a-graph-then-run-it style. cnnlab
runs eagerly, as TF2 does, so each raises :class:`~cnnlab.errors.GraphModeError` naming what was called
and the TF2 way to write it.

Example:
    >>> import cnnlab as tf
    >>> tf.placeholder(tf.float32, [None, 784])  # doctest: +SKIP
    GraphModeError: tf.placeholder is TensorFlow 1 graph-mode code ...
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import logging
import sys
from typing import Any

from cnnlab.errors import GraphModeError

_EXAMPLES = "cnnlab.examples"

# What each TF1 name did, and the eager (TF2) line that replaces it.
EAGER_INSTEAD: dict[str, str] = {
    "Session": "drop the session: ops run as they are called, so `sess.run(fetch)` becomes `fetch.numpy()` "
               "(or just `fetch`)",
    "InteractiveSession": "drop the session: ops run as they are called; read a value with `tensor.numpy()`",
    "placeholder": "pass NumPy arrays or tensors directly to the model or function (`model(x_batch)`, "
                   "`loss_fn(y_true, y_pred)`) instead of feeding them through feed_dict",
    "placeholder_with_default": "use a Python default argument: `def f(x=default): ...`",
    "get_variable": "create the variable once: `w = tf.Variable(initial_value, name='w')`, or use a layer's "
                    "`self.add_weight(...)`",
    "variable_scope": "use layers or a `tf.keras.Model` subclass to group variables; names come from the layers",
    "global_variables_initializer": "delete the line: variables hold their initial values as soon as they exist",
    "local_variables_initializer": "delete the line: variables hold their initial values as soon as they exist",
    "initialize_all_variables": "delete the line: variables hold their initial values as soon as they exist",
    "reset_default_graph": "delete the line (there is no graph); to restart layer names use "
                           "`cnnlab.layers.base.reset_names()`",
    "get_default_graph": "there is no graph: inspect a model with `model.summary()`",
    "disable_eager_execution": "delete the line and write the code eagerly (TF2 style)",
    "disable_v2_behavior": "delete the line and write the code eagerly (TF2 style)",
    "ConfigProto": "set threads with `tf.config.threading.set_intra_op_parallelism_threads(n)`; GPU memory needs "
                   "no setting (torch allocates it as needed)",
    "GPUOptions": "delete it: torch allocates GPU memory as needed, like TF's memory growth",
    "train": "use `tf.keras.optimizers` (e.g. `tf.keras.optimizers.Adam(1e-3)`) with `model.fit` or "
             "`optimizer.apply_gradients(zip(grads, model.trainable_variables))`",
    "layers": "use `tf.keras.layers` (e.g. `tf.keras.layers.Dense(10)`)",
    "losses": "use `tf.keras.losses` (e.g. `tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)`)",
    "read_data_sets": "load MNIST with `(x_train, y_train), (x_test, y_test) = cnnlab.datasets.mnist.load_data()`",
}


def graph_mode_error(what: str, key: str | None = None) -> GraphModeError:
    """The standard refusal for the TF1 name ``what`` (``key`` picks the advice, default the last part)."""
    advice = EAGER_INSTEAD.get(key or what.rsplit(".", 1)[-1],
                               "write the TF2 (eager) form: call ops directly and read values with `.numpy()`")
    return GraphModeError(
        f"{what} is TensorFlow 1 graph-mode code, which cnnlab does not support: cnnlab runs eagerly, as TF2 "
        f"does. Instead: {advice}. See docs/porting.md (TF1 graph code). Received: {what}")


class _Refused:
    """A TF1 callable (function or class) that raises :class:`GraphModeError` when called."""

    def __init__(self, what: str) -> None:
        self._what = what
        self.__name__ = what.rsplit(".", 1)[-1]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise graph_mode_error(self._what)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise graph_mode_error(f"{self._what}.{name}", self.__name__)

    def __repr__(self) -> str:
        return f"<TF1 graph-mode name {self._what}: not supported in cnnlab>"


class _V1Logging:
    """``tf.compat.v1.logging``: the verbosity calls notebooks start with, on Python's logging (harmless, kept)."""

    DEBUG, INFO, WARN, ERROR, FATAL = logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL
    WARNING = WARN

    @staticmethod
    def set_verbosity(v: int) -> None:
        logging.getLogger("cnnlab").setLevel(v)

    @staticmethod
    def get_verbosity() -> int:
        return logging.getLogger("cnnlab").getEffectiveLevel()


class _CompatV1:
    """``tf.compat.v1``: eager-safe calls pass (``enable_eager_execution``, ``logging``); graph names refuse."""

    logging = _V1Logging()

    @staticmethod
    def enable_eager_execution(*args: Any, **kwargs: Any) -> None:
        """Already eager: nothing to do."""

    @staticmethod
    def executing_eagerly() -> bool:
        return True

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _Refused(f"tf.compat.v1.{name}")

    def __repr__(self) -> str:
        return "<cnnlab facade namespace tf.compat.v1 (TF1 graph mode: refused)>"


class _Compat:
    v1 = _CompatV1()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(f"'tf.compat' has no attribute '{name}'. cnnlab provides tf.compat.v1 only, to "
                             "refuse TF1 graph code with the eager line to write instead.")


compat = _Compat()
_TOP_LEVEL = ("Session", "InteractiveSession", "placeholder", "get_variable", "variable_scope",
              "global_variables_initializer", "local_variables_initializer", "reset_default_graph",
              "get_default_graph", "ConfigProto")
for _name in _TOP_LEVEL:
    globals()[_name] = _Refused(f"tf.{_name}")


# --------------------------------------------------------------------------- tensorflow.examples.tutorials


class _RefusingLoader(importlib.abc.Loader):
    """Loads the empty packages above ``input_data``; ``input_data`` itself raises on import."""

    def create_module(self, spec):
        return None

    def exec_module(self, module) -> None:
        if module.__name__.endswith(".input_data"):
            raise graph_mode_error("from tensorflow.examples.tutorials.mnist import input_data "
                                   "(input_data.read_data_sets)", "read_data_sets")


class _ExamplesFinder(importlib.abc.MetaPathFinder):
    """Serves ``cnnlab.examples.tutorials.mnist.input_data`` (TF1's MNIST reader) to refuse it with the fix."""

    _PACKAGES = (f"{_EXAMPLES}.tutorials", f"{_EXAMPLES}.tutorials.mnist")

    def find_spec(self, fullname, path=None, target=None):
        # Appended after the path finder, so a real module of the same name always wins.
        if fullname not in (_EXAMPLES, *self._PACKAGES, f"{_EXAMPLES}.tutorials.mnist.input_data"):
            return None
        is_package = not fullname.endswith(".input_data")
        spec = importlib.machinery.ModuleSpec(fullname, _RefusingLoader(), is_package=is_package)
        if is_package:
            spec.submodule_search_locations = []
        return spec


def install_examples_refusal() -> None:
    """Put the finder for ``cnnlab.examples.tutorials...`` on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _ExamplesFinder) for f in sys.meta_path):
        sys.meta_path.append(_ExamplesFinder())


__all__ = ["compat", "graph_mode_error", *_TOP_LEVEL]
