"""``cnnlab.keras`` is cnnlab itself: every spelling of a namespace gives the very same module and classes."""

import importlib
import subprocess
import sys

import pytest

import cnnlab
import cnnlab as tf


def test_keras_attribute_is_the_package():
    assert tf.keras is cnnlab
    assert tf.keras.layers is cnnlab.layers
    assert tf.keras.layers.Conv2D is cnnlab.layers.Conv2D


def test_from_imports_give_the_same_objects():
    from cnnlab import keras
    from cnnlab.keras import layers, models
    from cnnlab.keras.layers import Conv2D, Dense

    assert keras is cnnlab
    assert layers is cnnlab.layers and models is cnnlab.models
    assert Conv2D is cnnlab.layers.Conv2D and Dense is cnnlab.layers.Dense


@pytest.mark.parametrize("name", [n for n in cnnlab.__all__ if n != "keras" and isinstance(getattr(cnnlab, n), type(cnnlab))])
def test_every_public_namespace_has_an_alias(name):
    alias = importlib.import_module(f"cnnlab.keras.{name}")
    assert alias is getattr(cnnlab, name)
    assert sys.modules[f"cnnlab.keras.{name}"] is sys.modules[f"cnnlab.{name}"]


def test_deeper_modules_are_aliases_not_second_copies():
    import cnnlab.keras.optimizers.schedules as schedules

    assert schedules is cnnlab.optimizers.schedules
    # The real module keeps its own identity: pickling and relative imports use it.
    assert schedules.__name__ == schedules.__spec__.name == "cnnlab.optimizers.schedules"


def test_unknown_alias_raises_module_not_found():
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("cnnlab.keras.no_such_namespace")


def test_no_module_is_loaded_twice_in_a_fresh_interpreter():
    code = (
        "import sys\n"
        "import cnnlab.keras.layers\n"
        "from cnnlab.keras.layers import Conv2D\n"
        "import cnnlab.keras.optimizers.schedules\n"
        "import cnnlab\n"
        "assert Conv2D is cnnlab.layers.Conv2D\n"
        "files = {}\n"
        "for name, mod in list(sys.modules.items()):\n"
        "    f = getattr(mod, '__file__', None)\n"
        "    if name.startswith('cnnlab') and f:\n"
        "        files.setdefault(f, set()).add(id(mod))\n"
        "twice = [f for f, ids in files.items() if len(ids) > 1]\n"
        "assert not twice, twice\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
