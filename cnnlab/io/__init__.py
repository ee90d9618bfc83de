"""Saving and loading models and weights."""

from cnnlab.io.native import load_model, load_weights, save_model, save_weights

__all__ = ["load_model", "load_weights", "save_model", "save_weights"]
