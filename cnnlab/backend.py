"""Device choice, seeding and numeric defaults.

Device names are PyTorch's (``'cpu'``, ``'cuda:0'``, ``'mps'``); TensorFlow
spellings such as ``'/GPU:0'`` or ``'/device:CPU:0'`` are accepted too, so code
written for ``tf.device`` keeps working.

Example:
    >>> from cnnlab import backend
    >>> backend.resolve_device("cpu")
    device(type='cpu')
"""

from __future__ import annotations

import ctypes
import functools
import os
import random
import re
import sys

import numpy as np
import torch

from cnnlab.errors import ArgumentTypeError, ConfigError, did_you_mean, unknown_name

DEVICE_ENV_VAR = "CNNLAB_DEVICE"
# Keras backend default fuzz factor, keras.backend.epsilon().
KERAS_EPSILON = 1e-7
# Keras backend default float type, keras.backend.floatx().
KERAS_FLOATX = "float32"
# np.random.seed accepts seeds in [0, 2**32).
MAX_SEED = 2**32 - 1

_DEVICE_TYPES = ("cpu", "cuda", "mps")
# '/GPU:0', '/device:GPU:0', '/physical_device:GPU:0', 'GPU:1', 'gpu' -> ('GPU', '0')
_TF_DEVICE = re.compile(r"^/?(?:(?:physical_)?device:)?(cpu|gpu)(?::(\d+))?$", re.IGNORECASE)


def floatx() -> str:
    """Return the default float type name, ``'float32'`` as in Keras."""
    return KERAS_FLOATX


def epsilon() -> float:
    """Return the fuzz factor used to avoid division by zero, ``1e-7`` as in Keras."""
    return KERAS_EPSILON


# Keras dtype names and their torch dtypes; cnnlab.ops converts with these tables too.
TORCH_DTYPES: dict[str, torch.dtype] = {
    "float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32, "float64": torch.float64,
    "uint8": torch.uint8, "uint16": torch.uint16, "uint32": torch.uint32, "uint64": torch.uint64,
    "int8": torch.int8, "int16": torch.int16, "int32": torch.int32, "int64": torch.int64, "bool": torch.bool,
    "complex64": torch.complex64, "complex128": torch.complex128,
}
KERAS_DTYPES = {v: k for k, v in TORCH_DTYPES.items()}
# Python types as Keras sees them (keras/src/backend/common/dtypes.py): ints are int32, floats floatx.
PYTHON_DTYPES = {bool: "bool", int: "int32", float: "float32", complex: "complex64"}


def keras_dtype_name(dtype, op: str = "ops", arg: str = "dtype") -> str:
    """Return Keras's name for ``dtype`` (``None`` -> ``floatx()``); ``op`` and ``arg`` name the caller in errors."""
    if dtype is None:
        return floatx()
    if isinstance(dtype, torch.dtype):
        name = KERAS_DTYPES.get(dtype)
    elif dtype in PYTHON_DTYPES:
        name = PYTHON_DTYPES[dtype]
    else:
        try:
            name = np.dtype(getattr(dtype, "name", dtype)).name
        except TypeError:
            name = None
        name = {"float": "float32", "int": "int32"}.get(dtype, name) if isinstance(dtype, str) else name
    if name not in TORCH_DTYPES:
        raise unknown_name("dtype", dtype, TORCH_DTYPES, where=f"{op} argument {arg}")
    return name


@functools.lru_cache(maxsize=1)
def standardize_dtype(dtype) -> str:
    """Keras's dtype name (``"float32"``, ``"int64"``, ...) of a torch/NumPy dtype or a name, as ``keras.backend``."""
    return keras_dtype_name(dtype, op="backend.standardize_dtype")


def _mps_works() -> bool:
    """MPS can report available yet fail on first use (old macOS); try one op."""
    mps = getattr(torch.backends, "mps", None)
    if mps is None or not mps.is_available():
        return False
    try:
        return bool((torch.ones(1, device="mps") + 1).cpu().item() == 2)
    except RuntimeError:
        return False


def list_devices() -> list[str]:
    """Return the devices this machine can use, e.g. ``['cpu', 'cuda:0', 'cuda:1']``.

    ``'cpu'`` is always first, then each CUDA GPU, then ``'mps'`` on Apple silicon.
    """
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if _mps_works():
        devices.append("mps")
    return devices


def gpu_device_name() -> str:
    """Return the first GPU's device name (``'cuda:0'`` or ``'mps'``), or ``''`` without one.

    Like ``tf.test.gpu_device_name()``, the result is falsy when there is no GPU,
    so ``if gpu_device_name():`` works as in TF tutorials.
    """
    gpus = [d for d in list_devices() if d != "cpu"]
    return gpus[0] if gpus else ""


def default_device() -> torch.device:
    """Return the device models use unless told otherwise.

    ``$CNNLAB_DEVICE`` wins when set; otherwise CUDA if available, else a
    working MPS, else the CPU.
    """
    requested = os.environ.get(DEVICE_ENV_VAR, "").strip()
    if requested:
        try:
            return resolve_device(requested)
        except ConfigError as err:
            raise ConfigError(f"environment variable {DEVICE_ENV_VAR}={requested!r} is not usable: {err}") from err
    if torch.cuda.is_available():
        return torch.device("cuda", 0)
    if _mps_works():
        return torch.device("mps")
    return torch.device("cpu")


def _parse_device(device: str) -> torch.device:
    tf_style = _TF_DEVICE.match(device.strip())
    if tf_style:
        kind = "cuda" if tf_style.group(1).lower() == "gpu" else "cpu"
        index = tf_style.group(2)
        return torch.device(kind if kind == "cpu" or index is None else f"{kind}:{index}")
    try:
        return torch.device(device.strip().lower())
    except RuntimeError as err:
        raise ConfigError(
            f"unknown device {device!r}.{did_you_mean(device.split(':')[0], _DEVICE_TYPES)} "
            f"Use one of {list_devices()} (or 'cuda', 'gpu', '/GPU:0'). Received: device={device!r}"
        ) from err


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """Turn a device name into a ``torch.device`` this machine has.

    Args:
        device: None (the :func:`default_device`), a ``torch.device``, or a
            name: ``'cpu'``, ``'cuda'``, ``'cuda:1'``, ``'mps'``, ``'gpu'``,
            ``'/GPU:0'``, ``'/device:CPU:0'``.

    Raises:
        ConfigError: an unknown name, or a device this machine does not have
            (the message lists :func:`list_devices`).
        ArgumentTypeError: not a string, ``torch.device`` or None.
    """
    if device is None:
        return default_device()
    received = str(device)
    if isinstance(device, str):
        device = _parse_device(device)
    elif not isinstance(device, torch.device):
        raise ArgumentTypeError(
            f"device must be a name such as 'cpu' or 'cuda', a torch.device, or None. Received: device={device!r}"
        )
    _check_available(device, received)
    return device


def _check_available(device: torch.device, received: str) -> None:
    if device.type not in _DEVICE_TYPES:
        raise ConfigError(f"cnnlab runs on {', '.join(_DEVICE_TYPES)} devices only. Received: device={received!r}")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(
                f"CUDA was requested but is not available on this machine (this PyTorch build: "
                f"{torch.__version__}, CUDA {torch.version.cuda or 'not compiled in'}). Available devices: "
                f"{list_devices()}. Use device='cpu', or install a CUDA build of PyTorch on a machine with an "
                f"NVIDIA GPU. Received: device={received!r}"
            )
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise ConfigError(
                f"GPU {device.index} was requested but this machine has {count} CUDA device(s). "
                f"Available devices: {list_devices()}. Received: device={received!r}"
            )
    if device.type == "mps" and not _mps_works():
        raise ConfigError(
            f"MPS (Apple GPU) was requested but is not available or not working here. "
            f"Available devices: {list_devices()}. Received: device={received!r}"
        )


def set_random_seed(seed: int) -> None:
    """Seed Python's ``random``, NumPy and PyTorch (CPU and every GPU) at once.

    After this, weight initialisation, shuffling and dropout repeat from run
    to run (bit-exact on CPU with the same thread count; GPU kernels may
    still vary unless PyTorch's deterministic mode is on). ``fit`` trains on
    fewer threads while other processes use the cores, which changes the
    rounding of some kernels: for bit-exact repeats on a busy machine, set
    ``CNNLAB_ADAPTIVE_THREADS=0`` or ``torch.use_deterministic_algorithms(True)``.

    Args:
        seed: an int in ``[0, 2**32 - 1]``.

    Example:
        >>> set_random_seed(42)
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ArgumentTypeError(f"seed must be an int, e.g. set_random_seed(42). Received: seed={seed!r}")
    if not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"seed must be between 0 and 2**32 - 1 = {MAX_SEED}. Received: seed={seed}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


__all__ = [
    "DEVICE_ENV_VAR", "KERAS_EPSILON", "KERAS_FLOATX", "default_device", "epsilon", "floatx",
    "gpu_device_name", "list_devices", "resolve_device", "set_random_seed",
]


# glibc's malloc adapts its mmap threshold upwards as large blocks are freed and then returns the top of the
# heap to the OS on almost every free. A training step frees and reallocates several activation buffers of
# 1-30 MB, so each step paid page faults for them again: on the two-conv CNN at batch 128 this made steps
# 1.7x slower (33 vs 18 ms on this machine's 2 cores) once the training data was larger than ~10 MB. Keeping
# buffers below 32 MB in the heap and trimming only beyond 256 MB removes that cost; peak RSS is unchanged.
MALLOC_MMAP_THRESHOLD = 32 << 20  # glibc's own maximum for the dynamic threshold on 64-bit
MALLOC_TRIM_THRESHOLD = 256 << 20
MALLOC_TUNING_ENV_VAR = "CNNLAB_MALLOC_TUNING"  # "0" leaves glibc's defaults alone
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameter numbers from glibc's malloc.h


@functools.lru_cache(maxsize=None)
def tune_cpu_allocator() -> bool:
    """Keep training-sized CPU buffers in the heap (glibc only; once per process).

    Called by ``Model.compile`` for models on the CPU. Returns True when the
    settings were applied; False on other C libraries, other systems, or with
    ``CNNLAB_MALLOC_TUNING=0``.
    """
    if os.environ.get(MALLOC_TUNING_ENV_VAR, "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, MALLOC_MMAP_THRESHOLD)) and \
            bool(libc.mallopt(_M_TRIM_THRESHOLD, MALLOC_TRIM_THRESHOLD))
    except (OSError, AttributeError):  # musl or another libc without mallopt
        return False


# ------------------------------------------------------------------------------------------------ the GPU path
CUDNN_BENCHMARK_ENV_VAR = "CNNLAB_CUDNN_BENCHMARK"  # "0" keeps torch's default (no autotuning)
# The activation layout cnnlab hands to convolutions on every device. Keras's (batch, height, width, channels)
# API tensors are permuted to torch's (N, C, H, W) view without a copy, so torch sees channels-last strides:
# cuDNN then picks its NHWC kernels (tensor cores prefer them) with no conversion per layer, which is what
# ``model.to(memory_format=torch.channels_last)`` buys a plain PyTorch model. cnnlab must not call that: its conv
# kernels are stored in Keras's (kh, kw, in, out) layout, which torch would misread as NCHW. Unmeasured on a
# GPU here (no GPU on the build machines); tests/test_gpu_path.py checks the strides on the CPU.
CONV_MEMORY_FORMAT = torch.channels_last


def tune_for_device(device: torch.device) -> str | None:
    """Settings for training on ``device``, applied by ``Model.compile``; returns what was set, or None.

    - CPU: keep training-sized buffers in glibc's heap (:func:`tune_cpu_allocator`).
    - CUDA: ``torch.backends.cudnn.benchmark = True``: cuDNN times its algorithms once per input shape and keeps
      the fastest, which pays off because fit's batches have one shape (plus the last, shorter one). Set
      ``CNNLAB_CUDNN_BENCHMARK=0`` for inputs whose shape changes at every batch. Unmeasured on a GPU here.
    """
    if device.type == "cpu":
        return "cpu_allocator" if tune_cpu_allocator() else None
    if device.type == "cuda" and os.environ.get(CUDNN_BENCHMARK_ENV_VAR, "1") != "0":
        torch.backends.cudnn.benchmark = True
        return "cudnn_benchmark"
    return None
