"""The eager TensorFlow names CNN tutorials use, on torch: ``import cnnlab as tf`` then ``tf.constant``, ``tf.nn``...

Each name keeps TensorFlow 2's argument names and defaults and returns plain torch tensors (``.numpy()``
works). Families: :mod:`.tensors` (making and reshaping), :mod:`.math_ops` (``tf.math``), :mod:`.nn`,
:mod:`.image` and :mod:`.image_random` (``tf.image``), :mod:`.random_ops` (``tf.random``'s TF-only names,
re-exported by :mod:`cnnlab.random`), :mod:`.runtime` (``tf.function``, ``tf.print``), :mod:`.devices`
(``tf.config``, ``tf.test``, ``tf.device``), :mod:`.tape` (``GradientTape``) and :mod:`.tf1` (TF1 graph mode,
refused with the fix).

Example:
    >>> import cnnlab as tf
    >>> tf.reduce_mean(tf.constant([[1.0, 2.0], [3.0, 4.0]]), axis=0).tolist()
    [2.0, 3.0]
"""

from cnnlab.tf_names import dtypes as _dtypes_module
from cnnlab.tf_names import image as _image_module
from cnnlab.tf_names import image_random as _image_random_module
from cnnlab.tf_names import io_ops as _io_module
from cnnlab.tf_names import math_ops as _math_module
from cnnlab.tf_names import nn as _nn_module
from cnnlab.tf_names import strings as _strings_module
from cnnlab.tf_names._args import Namespace, namespace
from cnnlab.tf_names.devices import config, device, test
from cnnlab.tf_names.dtypes import (
    as_dtype, bfloat16, bool, complex64, complex128, double, float16, float32, float64, half, int8, int16,
    int32, int64, string, uint8, uint16, uint32, uint64,
)
from cnnlab.tf_names.math_ops import (
    abs, add, argmax, argmin, clip_by_value, divide, equal, exp, floor, greater, greater_equal, less, less_equal,
    logical_and, logical_not, logical_or, matmul, maximum, minimum, multiply, negative, not_equal, pow,
    reduce_all, reduce_any, reduce_logsumexp, reduce_max, reduce_mean, reduce_min, reduce_prod, reduce_sum, round, sigmoid, sign, sqrt, square, subtract, tanh, truediv,
)
from cnnlab.tf_names.runtime import TensorSpec, executing_eagerly, function, print
from cnnlab.tf_names.tape import GradientTape
from cnnlab.tf_names.tensors import (
    Tensor, TensorShape, boolean_mask, broadcast_to, cast, concat, constant, convert_to_tensor, expand_dims, eye,
    fill, gather, identity, newaxis, one_hot, ones, ones_like, pad, range, rank, reshape, shape, size, split,
    squeeze, stack, stop_gradient, tile, transpose, unstack, where, zeros, zeros_like,
)
from cnnlab.tf_names.tf1 import (
    ConfigProto, InteractiveSession, Session, compat, get_default_graph, get_variable, global_variables_initializer,
    install_examples_refusal, local_variables_initializer, placeholder, reset_default_graph,
    variable_scope,
)

install_examples_refusal()

math = namespace("tf.math", _math_module, names=_math_module.TF_MATH)
nn = namespace("tf.nn", _nn_module)
image = namespace("tf.image", _image_module, {name: getattr(_image_random_module, name)
                                              for name in _image_random_module.__all__})
image = Namespace("tf.image", {**{name: getattr(image, name) for name in dir(image)},  # plus tf.image.decode_*
                               **{name: getattr(_io_module, name) for name in _io_module.IMAGE_CODECS}})
strings = namespace("tf.strings", _strings_module)
io = _io_module.IoNamespace("tf.io", {name: getattr(_io_module, name) for name in _io_module.__all__})  # cnnlab.io too
dtypes = namespace("tf.dtypes", _dtypes_module, {"cast": cast, "DType": type(float32)})
linalg = Namespace("tf.linalg", {"matmul": matmul, "eye": eye})

# Python built-ins the facade shadows (tf.print, tf.range, ...): attributes of cnnlab, left out of
# `from cnnlab import *` so a star import cannot replace the user's print or range.
SHADOWS_BUILTINS = ("abs", "bool", "pow", "print", "range", "round")

__all__ = [
    "ConfigProto", "GradientTape", "InteractiveSession", "Session", "Tensor", "TensorShape", "TensorSpec",
    "add", "argmax", "argmin", "as_dtype", "bfloat16", "boolean_mask", "broadcast_to", "cast",
    "clip_by_value", "compat", "complex128", "complex64", "concat", "config", "constant", "convert_to_tensor",
    "device", "divide", "double", "dtypes", "equal", "executing_eagerly", "exp", "expand_dims", "eye", "fill",
    "float16", "float32", "float64", "floor", "function", "gather", "get_default_graph", "get_variable",
    "global_variables_initializer", "greater", "greater_equal", "half", "identity", "image", "int16", "io", "int32",
    "int64", "int8", "less", "less_equal", "linalg", "local_variables_initializer", "logical_and",
    "logical_not", "logical_or", "math", "matmul", "maximum", "minimum", "multiply", "negative", "newaxis", "nn",
    "not_equal", "one_hot", "ones", "ones_like", "pad", "placeholder", "rank", "reduce_all", "reduce_any",
    "reduce_logsumexp", "reduce_max", "reduce_mean", "reduce_min", "reduce_prod", "reduce_sum",
    "reset_default_graph", "reshape", "shape", "sigmoid", "sign", "size", "split", "sqrt",
    "square", "squeeze", "stack", "stop_gradient", "string", "strings", "subtract", "tanh", "test",
    "tile", "transpose", "truediv", "uint16", "uint32", "uint64", "uint8", "unstack", "variable_scope", "where",
    "zeros", "zeros_like", *SHADOWS_BUILTINS,
]
# What `from cnnlab import *` brings: the facade without the names that would hide Python built-ins.
STAR_EXPORTS = [name for name in __all__ if name not in SHADOWS_BUILTINS]
