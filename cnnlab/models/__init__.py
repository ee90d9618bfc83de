"""Models: Sequential, functional (Model(inputs, outputs)) and subclassed."""

from cnnlab.io.native import load_model
from cnnlab.models.cloning import clone_model, model_from_json
from cnnlab.models.functional import Functional
from cnnlab.models.model import Model
from cnnlab.models.sequential import Sequential

__all__ = ["Functional", "Model", "Sequential", "clone_model", "load_model", "model_from_json"]
