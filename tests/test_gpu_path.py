"""The CUDA branches (pinned copies, cuDNN autotuning, channels-last convolutions), reached without a GPU."""

import numpy as np
import torch

import cnnlab as keras
from cnnlab import backend
from cnnlab.layers import _conv_base
from cnnlab.training import data_adapters as da

CUDA = torch.device("cuda")


class FakeCpuTensor:
    """Stands for a CPU tensor: records whether it was pinned and where it was sent."""

    device = torch.device("cpu")

    def __init__(self, pinned=False):
        self.pinned, self.calls = pinned, []

    def is_pinned(self):
        return self.pinned

    def pin_memory(self):
        self.calls.append("pin_memory")
        return self

    def to(self, device, non_blocking=False):
        self.calls.append(("to", device.type, non_blocking))
        return self


def test_a_batch_bound_for_cuda_is_pinned_then_copied_without_blocking():
    tensor = FakeCpuTensor()
    da.copy_to_device(tensor, CUDA, pin=True)
    assert tensor.calls == ["pin_memory", ("to", "cuda", True)]


def test_nothing_is_pinned_for_the_cpu_for_arrays_or_twice():
    for device, pin, pinned in ((torch.device("cpu"), True, False), (CUDA, False, False), (CUDA, True, True)):
        tensor = FakeCpuTensor(pinned)
        da.copy_to_device(tensor, device, pin=pin)
        assert tensor.calls == [("to", device.type, True)]


def test_generator_batches_ask_for_pinning_and_in_memory_arrays_do_not(monkeypatch):
    asked = []
    real = da.copy_to_device
    monkeypatch.setattr(da, "copy_to_device", lambda t, device, pin=False: asked.append(pin) or real(t, device, pin))
    x, y = np.zeros((4, 3), np.float32), np.zeros(4, np.int64)
    adapter = da.IterableAdapter([(x, y)], torch.device("cpu"))
    list(adapter)
    assert asked == [True, True]
    asked.clear()
    da.to_device_tensor(x, "x", torch.device("cpu"))
    assert asked == [False]


def test_cuda_turns_the_cudnn_autotuner_on_unless_told_not_to(monkeypatch):
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    monkeypatch.delenv(backend.CUDNN_BENCHMARK_ENV_VAR, raising=False)
    assert backend.tune_for_device(CUDA) == "cudnn_benchmark" and torch.backends.cudnn.benchmark is True
    torch.backends.cudnn.benchmark = False
    monkeypatch.setenv(backend.CUDNN_BENCHMARK_ENV_VAR, "0")
    assert backend.tune_for_device(CUDA) is None and torch.backends.cudnn.benchmark is False
    assert backend.tune_for_device(torch.device("cpu")) in ("cpu_allocator", None)
    assert torch.backends.cudnn.benchmark is False


def test_compile_tunes_for_the_chosen_device(monkeypatch):
    seen = []
    monkeypatch.setattr(backend, "tune_for_device", seen.append)
    keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]).compile("sgd", "mse", device="cpu")
    assert seen == [torch.device("cpu")]


def test_convolutions_get_channels_last_activations_without_a_copy(monkeypatch):
    seen = []
    real = _conv_base.CONV_FNS[2]
    monkeypatch.setitem(_conv_base.CONV_FNS, 2, lambda x, *a, **k: seen.append(x) or real(x, *a, **k))
    model = keras.Sequential([keras.Input((6, 6, 3)), keras.layers.Conv2D(4, 3), keras.layers.Conv2D(2, 3)])
    model(torch.zeros(2, 6, 6, 3))
    assert len(seen) == 2
    assert all(x.is_contiguous(memory_format=backend.CONV_MEMORY_FORMAT) for x in seen)
