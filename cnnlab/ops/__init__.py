"""``cnnlab.ops``: Keras 3's backend-neutral ops on torch, plus the TF-semantics helpers the notes use.

The Keras names (``ops.matmul``, ``ops.conv``, ``ops.softmax``, ``ops.shape``,
``ops.top_k``, ``ops.norm``, and ``ops.image.resize``) take Keras's argument
names and defaults and return torch tensors. The namespaces ``ops.numpy``,
``ops.nn``, ``ops.core``, ``ops.math``, ``ops.linalg`` and ``ops.image``
mirror Keras's.

The TF-style helpers keep their own spelling: ``conv2d(x, w, strides,
padding)`` on NHWC/HWIO like ``tf.nn.conv2d``, ``max_pool2d``/``avg_pool``,
and the shape arithmetic ``conv_output_size``, ``same_padding``,
``same_output_size``, ``normalize_tuple``, ``normalize_padding``.
``ops.max_pool`` is Keras's op and also accepts ``tf.nn.max_pool``'s
arguments (``ksize``, ``[1, h, w, 1]``, ``'SAME'``).

Example:
    >>> from cnnlab import ops
    >>> ops.matmul([[1.0, 2.0]], [[3.0], [4.0]]).tolist()
    [[11.0]]
"""

from cnnlab.ops import _tf, core, image, linalg, math, nn, numpy
from cnnlab.ops._tf import *  # noqa: F403
from cnnlab.ops.core import *  # noqa: F403
from cnnlab.ops.linalg import *  # noqa: F403
from cnnlab.ops.math import *  # noqa: F403
from cnnlab.ops.nn import *  # noqa: F403
from cnnlab.ops.numpy import *  # noqa: F403

__all__ = sorted(
    set(_tf.__all__) | set(core.__all__) | set(linalg.__all__) | set(math.__all__) | set(nn.__all__)
    | set(numpy.__all__) | {"core", "image", "linalg", "math", "nn", "numpy"}
)
