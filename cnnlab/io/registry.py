"""Former home of the class table and layer (de)serialisation, now in :mod:`cnnlab.layers.serialization`.

Kept so that existing imports (``from cnnlab.io.registry import layer_from_config``) keep working.
"""

from cnnlab.layers.serialization import (
    builtin_classes,
    layer_from_config,
    layer_to_config,
    registered_name_of,
    unknown_class_hint,
    user_class,
)

__all__ = ["builtin_classes", "layer_from_config", "layer_to_config", "registered_name_of", "unknown_class_hint",
           "user_class"]
