"""Device choice and seeding; GPU paths are simulated by patching torch's queries."""

import random

import numpy as np
import pytest
import torch

from cnnlab import backend
from cnnlab.errors import ArgumentTypeError, ConfigError


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(backend, "_mps_works", lambda: False)
    monkeypatch.delenv(backend.DEVICE_ENV_VAR, raising=False)


@pytest.fixture
def two_gpus(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(backend, "_mps_works", lambda: False)
    monkeypatch.delenv(backend.DEVICE_ENV_VAR, raising=False)


def test_cpu_only_machine(no_gpu):
    assert backend.list_devices() == ["cpu"]
    assert backend.gpu_device_name() == ""
    assert backend.default_device() == torch.device("cpu")


def test_cuda_machine_prefers_first_gpu(two_gpus):
    assert backend.list_devices() == ["cpu", "cuda:0", "cuda:1"]
    assert backend.gpu_device_name() == "cuda:0"
    assert backend.default_device() == torch.device("cuda", 0)
    assert backend.resolve_device("/GPU:1") == torch.device("cuda", 1)
    assert backend.resolve_device("gpu") == torch.device("cuda")


def test_mps_used_when_no_cuda(monkeypatch, no_gpu):
    monkeypatch.setattr(backend, "_mps_works", lambda: True)
    assert backend.list_devices() == ["cpu", "mps"]
    assert backend.default_device() == torch.device("mps")
    assert backend.gpu_device_name() == "mps"


def test_env_var_overrides_default(monkeypatch, two_gpus):
    monkeypatch.setenv(backend.DEVICE_ENV_VAR, "cpu")
    assert backend.default_device() == torch.device("cpu")


def test_bad_env_var_names_the_variable(monkeypatch, no_gpu):
    monkeypatch.setenv(backend.DEVICE_ENV_VAR, "cuda")
    with pytest.raises(ConfigError, match="CNNLAB_DEVICE='cuda' is not usable.*CUDA was requested"):
        backend.default_device()


@pytest.mark.parametrize("name", ["cpu", "CPU", "/CPU:0", "/device:CPU:0", "/physical_device:CPU:0", torch.device("cpu")])
def test_resolve_device_accepts_torch_and_tf_spellings_of_cpu(no_gpu, name):
    assert backend.resolve_device(name) == torch.device("cpu")


def test_resolve_none_is_default(no_gpu):
    assert backend.resolve_device(None) == torch.device("cpu")


def test_cuda_requested_without_cuda_lists_devices(no_gpu):
    with pytest.raises(ConfigError, match=r"CUDA was requested but is not available.*\['cpu'\].*Received: device='gpu'"):
        backend.resolve_device("gpu")


def test_gpu_index_out_of_range(two_gpus):
    with pytest.raises(ConfigError, match="GPU 5 was requested but this machine has 2 CUDA device"):
        backend.resolve_device("cuda:5")


def test_mps_requested_when_missing(no_gpu):
    with pytest.raises(ConfigError, match="MPS"):
        backend.resolve_device("mps")


def test_unknown_device_string_suggests_closest(no_gpu):
    with pytest.raises(ConfigError, match=r"unknown device 'cdua'. Did you mean 'cuda'\?"):
        backend.resolve_device("cdua")


def test_unsupported_device_type_rejected(no_gpu):
    with pytest.raises(ConfigError, match="cpu, cuda, mps devices only"):
        backend.resolve_device("meta")


def test_device_of_wrong_type(no_gpu):
    with pytest.raises(ArgumentTypeError, match="Received: device=0"):
        backend.resolve_device(0)


def test_set_random_seed_repeats_python_numpy_and_torch():
    def draw():
        return random.random(), np.random.rand(), torch.rand(1).item()

    backend.set_random_seed(7)
    first = draw()
    backend.set_random_seed(7)
    assert draw() == first
    backend.set_random_seed(8)
    assert draw() != first


@pytest.mark.parametrize("seed, error", [("1", ArgumentTypeError), (1.0, ArgumentTypeError), (True, ArgumentTypeError),
                                         (-1, ConfigError), (2**32, ConfigError)])
def test_set_random_seed_validates(seed, error):
    with pytest.raises(error, match="seed"):
        backend.set_random_seed(seed)


def test_keras_numeric_defaults():
    assert backend.floatx() == "float32"
    assert backend.epsilon() == 1e-7


def test_cpu_allocator_tuning_applies_once_and_can_be_switched_off(monkeypatch):
    import sys

    from cnnlab import backend

    backend.tune_cpu_allocator.cache_clear()
    monkeypatch.setenv(backend.MALLOC_TUNING_ENV_VAR, "0")
    assert backend.tune_cpu_allocator() is False
    backend.tune_cpu_allocator.cache_clear()
    monkeypatch.delenv(backend.MALLOC_TUNING_ENV_VAR)
    applied = backend.tune_cpu_allocator()
    assert applied is (sys.platform.startswith("linux"))  # glibc's mallopt accepts both settings
    assert backend.tune_cpu_allocator() is applied  # cached: once per process


def test_standardize_dtype_names_torch_numpy_and_string_dtypes_as_keras():
    import numpy as np
    import torch

    from cnnlab import backend

    assert [backend.standardize_dtype(d) for d in (torch.float32, np.int64, "float32", torch.bool)] == \
        ["float32", "int64", "float32", "bool"]
