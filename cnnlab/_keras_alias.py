"""``cnnlab.keras`` is cnnlab itself, as ``tf.keras`` is Keras: aliases, never a second copy of a module.

``import cnnlab as tf; tf.keras.layers.Conv2D`` goes through the ``keras``
attribute; ``import cnnlab.keras.layers`` and ``from cnnlab.keras.layers
import Conv2D`` go through :data:`sys.modules`. The public namespaces are
registered up front; anything deeper (``cnnlab.keras.optimizers.schedules``)
is resolved on first import by a finder placed ahead of the path finder,
which would otherwise load the file a second time under the alias name.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types

ALIAS = "keras"


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, module: types.ModuleType) -> None:
        self._module = module
        self._spec = module.__spec__

    def create_module(self, spec):
        return self._module

    def exec_module(self, module) -> None:
        # The import system stamps the alias spec on the module; the real module keeps its own.
        module.__spec__ = self._spec


class _AliasFinder(importlib.abc.MetaPathFinder):
    def __init__(self, package: str) -> None:
        self._prefix = f"{package}.{ALIAS}."
        self._package = package

    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith(self._prefix):
            return None
        real = importlib.import_module(f"{self._package}.{fullname[len(self._prefix):]}")
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(real), is_package=hasattr(real, "__path__"))


def install_keras_alias(package: str) -> types.ModuleType:
    """Register ``<package>.keras`` and ``<package>.keras.<name>`` for each public namespace; return the package."""
    root = sys.modules[package]
    sys.modules[f"{package}.{ALIAS}"] = root
    for name, module in list(sys.modules.items()):
        parts = name.split(".")
        if len(parts) == 2 and parts[0] == package and not parts[1].startswith("_") and module is not None:
            sys.modules.setdefault(f"{package}.{ALIAS}.{parts[1]}", module)
    if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _AliasFinder(package))
    return root
