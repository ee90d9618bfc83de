"""Named CNN architectures: ``create_model("lenet5")``, ``list_models("*vgg*")``."""

from cnnlab.zoo import models as _models  # noqa: F401  (registers the architectures)
from cnnlab.zoo import applications as _applications  # noqa: F401  (registers Keras's architectures)
from cnnlab.zoo.applications import is_application
from cnnlab.zoo.registry import create_model, is_model, list_models, model_entrypoint, register_model

__all__ = ["create_model", "is_application", "is_model", "list_models", "model_entrypoint", "register_model"]
