"""``tf.config``, ``tf.test`` and ``tf.device``: the device questions tutorials ask, answered for torch.

TF names devices ``'/physical_device:GPU:0'`` and ``'/device:GPU:0'``; here a GPU is CUDA (or Apple's MPS),
and ``tf.device('/GPU:0')`` makes new tensors there. Without a GPU it runs on the CPU with a one-time
warning, as TF's default soft device placement does.

Example:
    >>> import cnnlab as tf
    >>> tf.config.list_physical_devices("CPU")
    [PhysicalDevice(name='/physical_device:CPU:0', device_type='CPU')]
"""

from __future__ import annotations

import os
import re
from collections import namedtuple
from typing import Any

import torch

from cnnlab import backend
from cnnlab._warnings import warn
from cnnlab.errors import ArgumentTypeError, ConfigError
from cnnlab.tf_names._args import Namespace, check_arguments

config_api = check_arguments("tf.config")
test_api = check_arguments("tf.test")

PhysicalDevice = namedtuple("PhysicalDevice", ["name", "device_type"])
LogicalDevice = namedtuple("LogicalDevice", ["name", "device_type"])
_DEVICE_NAME = re.compile(r"^/?(?:(?:job:\w+/)?(?:replica:\d+/)?(?:task:\d+/)?)?(?:(?:physical_)?device:)?"
                          r"(cpu|gpu)(?::(\d+))?$", re.IGNORECASE)
_warned: set[str] = set()
_settings = {"soft_placement": True, "run_eagerly": False, "intra": 0, "inter": 0}


def _gpu_devices() -> list[torch.device]:
    """The torch devices TF would call GPUs: each CUDA device, else a working Apple MPS."""
    return [torch.device(d) for d in backend.list_devices() if d != "cpu"]


def _listed(kind: type, prefix: str, device_type: Any) -> list:
    wanted = None if device_type is None else str(device_type).upper()
    if wanted not in (None, "CPU", "GPU"):
        raise ConfigError(f"tf.config: device_type must be 'CPU', 'GPU' or None. Received: device_type={device_type!r}")
    found = [kind(f"/{prefix}:CPU:0", "CPU")] if wanted in (None, "CPU") else []
    if wanted in (None, "GPU") and os.environ.get(backend.DEVICE_ENV_VAR, "").strip().lower() != "cpu":
        found += [kind(f"/{prefix}:GPU:{i}", "GPU") for i in range(len(_gpu_devices()))]
    return found


@config_api
def list_physical_devices(device_type: str | None = None) -> list[PhysicalDevice]:
    """The CPU and the GPUs (CUDA or MPS), as TF's ``PhysicalDevice(name, device_type)`` tuples."""
    return _listed(PhysicalDevice, "physical_device", device_type)


@config_api
def list_logical_devices(device_type: str | None = None) -> list[LogicalDevice]:
    """As :func:`list_physical_devices`, with TF's logical names (``'/device:GPU:0'``)."""
    return _listed(LogicalDevice, "device", device_type)


@config_api
def get_visible_devices(device_type: str | None = None) -> list[PhysicalDevice]:
    """The devices cnnlab may use (all of them unless hidden with :func:`set_visible_devices`)."""
    return list_physical_devices(device_type)


@config_api
def set_visible_devices(devices: Any, device_type: str | None = None) -> None:
    """Hide the GPUs with ``set_visible_devices([], "GPU")`` (sets ``$CNNLAB_DEVICE=cpu``); listing GPUs is accepted."""
    chosen = [devices] if isinstance(devices, PhysicalDevice) else list(devices)
    kinds = {d.device_type for d in chosen}
    if (not chosen and str(device_type).upper() == "GPU") or (chosen and kinds == {"CPU"}):
        os.environ[backend.DEVICE_ENV_VAR] = "cpu"
    elif "GPU" in kinds and os.environ.get(backend.DEVICE_ENV_VAR) == "cpu":
        del os.environ[backend.DEVICE_ENV_VAR]


@config_api
def set_memory_growth(device: Any, enable: bool) -> None:
    """Accepted and does nothing: torch's CUDA allocator already takes GPU memory as it is needed.

    TF reserves nearly all GPU memory at start-up unless memory growth is on; PyTorch never does, so
    every cnnlab run already behaves like ``set_memory_growth(gpu, True)``. Like TF, a CPU device is refused.
    """
    if not isinstance(device, (PhysicalDevice, LogicalDevice)):
        raise ArgumentTypeError("tf.config.experimental.set_memory_growth: device must be one of "
                                f"tf.config.list_physical_devices('GPU'). Received: device={device!r}")
    if device.device_type != "GPU":
        raise ConfigError(f"tf.config.experimental.set_memory_growth: memory growth applies to GPUs only, as in "
                          f"TF. Received: device={device!r}")


@config_api
def get_memory_growth(device: Any) -> bool:
    """True: torch always grows GPU memory on demand (see :func:`set_memory_growth`)."""
    return True


@config_api
def enable_op_determinism() -> None:
    """Make torch pick deterministic kernels (``torch.use_deterministic_algorithms``), with cuDNN's autotuner off."""
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True


@config_api
def run_functions_eagerly(run_eagerly: bool) -> None:
    """Accepted: ``tf.function`` bodies always run eagerly in cnnlab."""
    _settings["run_eagerly"] = bool(run_eagerly)


@config_api
def functions_run_eagerly() -> bool:
    """True: every ``tf.function`` here runs eagerly (see :func:`cnnlab.tf_names.runtime.function`)."""
    return True


@config_api
def set_soft_device_placement(enabled: bool) -> None:
    """With soft placement off, ``tf.device('/GPU:0')`` without a GPU raises instead of falling back to the CPU."""
    _settings["soft_placement"] = bool(enabled)


@config_api
def get_soft_device_placement() -> bool:
    return _settings["soft_placement"]


@config_api
def set_intra_op_parallelism_threads(num_threads: int) -> None:
    """Threads inside one op (``torch.set_num_threads``); 0 keeps the system's choice, as in TF."""
    if int(num_threads) > 0:
        torch.set_num_threads(int(num_threads))
    _settings["intra"] = int(num_threads)


@config_api
def get_intra_op_parallelism_threads() -> int:
    """The value set with :func:`set_intra_op_parallelism_threads` (0 means the system's choice, as in TF)."""
    return _settings["intra"]


@config_api
def set_inter_op_parallelism_threads(num_threads: int) -> None:
    """Threads running independent ops (``torch.set_num_interop_threads``); 0 keeps the system's choice.

    torch accepts this only before its first parallel work; later, as TF after start-up, it cannot change,
    and a warning says so.
    """
    if int(num_threads) > 0:
        try:
            torch.set_num_interop_threads(int(num_threads))
        except RuntimeError:
            warn("tf.config.threading.set_inter_op_parallelism_threads: torch's inter-op thread count is fixed "
                 "once parallel work has started; call this first thing in the program. The setting is ignored.")
            return
    _settings["inter"] = int(num_threads)


@config_api
def get_inter_op_parallelism_threads() -> int:
    return _settings["inter"]


# --------------------------------------------------------------------------- tf.test


@test_api
def gpu_device_name() -> str:
    """``'/device:GPU:0'`` when a GPU (CUDA or MPS) is usable, else ``''`` (so ``if tf.test.gpu_device_name():``)."""
    return "/device:GPU:0" if _gpu_devices() else ""


@test_api
def is_built_with_cuda() -> bool:
    """Whether this PyTorch build includes CUDA."""
    return torch.backends.cuda.is_built() and torch.version.cuda is not None


@test_api
def is_built_with_gpu_support() -> bool:
    return is_built_with_cuda() or getattr(torch.version, "hip", None) is not None or backend._mps_works()


@test_api
def is_gpu_available(cuda_only: bool = False, min_cuda_compute_capability: Any = None) -> bool:
    """Whether a GPU is usable (deprecated in TF in favour of ``tf.config.list_physical_devices('GPU')``)."""
    if not torch.cuda.is_available():
        return False if cuda_only else bool(_gpu_devices())
    if min_cuda_compute_capability is None:
        return True
    wanted = tuple(min_cuda_compute_capability)
    return any(torch.cuda.get_device_capability(i) >= wanted for i in range(torch.cuda.device_count()))


# --------------------------------------------------------------------------- tf.device


def _resolve(device_name: str) -> torch.device | None:
    """The torch device for a TF device name; None for ``''`` (no placement), as TF."""
    if not device_name:
        return None
    match = _DEVICE_NAME.match(device_name.strip())
    if match is None:
        return backend.resolve_device(device_name)  # torch spellings ('cuda:0', 'mps'), with its own errors
    kind, index = match.group(1).upper(), int(match.group(2) or 0)
    if kind == "CPU":
        return torch.device("cpu")
    gpus = _gpu_devices()
    if index < len(gpus):
        return gpus[index]
    if not _settings["soft_placement"]:
        raise ConfigError(f"tf.device: {device_name!r} was requested but this machine has {len(gpus)} GPU(s) "
                          f"(devices: {backend.list_devices()}) and soft device placement is off. Use '/CPU:0', or "
                          f"tf.config.set_soft_device_placement(True). Received: device_name={device_name!r}")
    if device_name not in _warned:
        _warned.add(device_name)
        warn(f"tf.device({device_name!r}): this machine has {len(gpus)} GPU(s), so the work runs on the CPU "
             "(TF's soft device placement does the same).")
    return torch.device("cpu")


class device:  # noqa: N801 - TF's spelling
    """Place new tensors on a device inside a ``with`` block, as ``tf.device``.

    Args:
        device_name: ``'/CPU:0'``, ``'/GPU:0'``, ``'/device:GPU:1'``, ``'GPU'``, or a torch name (``'cuda:0'``).

    Example:
        >>> with device("/CPU:0"):
        ...     x = torch.ones(2)
        >>> x.device.type
        'cpu'
    """

    def __init__(self, device_name: str | None) -> None:
        if device_name is not None and not isinstance(device_name, str):
            raise ArgumentTypeError(f"tf.device: device_name must be a string such as '/GPU:0'. "
                                    f"Received: device_name={device_name!r}")
        self.device_name = device_name or ""
        self.torch_device = _resolve(self.device_name)
        self._context = None

    def __enter__(self) -> device:
        if self.torch_device is not None:
            self._context = torch.device(self.torch_device)
            self._context.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._context is not None:
            self._context.__exit__(*exc)
            self._context = None


_experimental = Namespace("tf.config.experimental", {
    "set_memory_growth": set_memory_growth, "get_memory_growth": get_memory_growth,
    "list_physical_devices": list_physical_devices, "list_logical_devices": list_logical_devices,
    "get_visible_devices": get_visible_devices, "set_visible_devices": set_visible_devices,
    "enable_op_determinism": enable_op_determinism})
_threading = Namespace("tf.config.threading", {
    name: globals()[name] for name in ("set_intra_op_parallelism_threads", "get_intra_op_parallelism_threads",
                                       "set_inter_op_parallelism_threads", "get_inter_op_parallelism_threads")})
config = Namespace("tf.config", {
    "list_physical_devices": list_physical_devices, "list_logical_devices": list_logical_devices,
    "get_visible_devices": get_visible_devices, "set_visible_devices": set_visible_devices,
    "run_functions_eagerly": run_functions_eagerly, "functions_run_eagerly": functions_run_eagerly,
    "set_soft_device_placement": set_soft_device_placement, "get_soft_device_placement": get_soft_device_placement,
    "experimental": _experimental, "threading": _threading, "PhysicalDevice": PhysicalDevice,
    "LogicalDevice": LogicalDevice})
test = Namespace("tf.test", {
    "gpu_device_name": gpu_device_name, "is_built_with_cuda": is_built_with_cuda, "is_gpu_available": is_gpu_available,
    "is_built_with_gpu_support": is_built_with_gpu_support})

__all__ = ["config", "device", "test"]
