"""Saving and loading models and weights; Keras files by extension; ONNX export."""

from cnnlab.io.native import load_model, load_weights, save_model, save_weights
from cnnlab.io.onnx_export import export_onnx

__all__ = ["export_onnx", "load_model", "load_weights", "save_model", "save_weights"]
