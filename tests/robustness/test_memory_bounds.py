"""Under load: ``predict`` streams batches without copying float32 input; ``fit`` on a generated dataset stays flat."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import torch
from robust_record import record

import cnnlab
from cnnlab import callbacks, layers

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * PAGE


def _small_cnn():
    model = cnnlab.Sequential([layers.Input((28, 28, 1)), layers.Conv2D(4, 3, strides=2), layers.Flatten(),
                               layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", device="cpu")
    return model


def test_predict_on_100k_images_does_not_copy_float32_input():
    x = np.random.default_rng(0).random((100_000, 28, 28, 1), dtype=np.float32)  # 314 MB
    model = _small_cnn()
    model.predict(x[:2048], batch_size=1024, verbose=0)  # warm up kernels and the allocator at full batch size
    before = rss_bytes()
    out = model.predict(x, batch_size=1024, verbose=0)
    growth = rss_bytes() - before
    budget = x.nbytes // 4  # a copy would add x.nbytes; outputs are 100000 x 10 float32 = 4 MB
    assert out.shape == (100_000, 10)
    assert growth < budget, f"predict grew RSS by {growth / 2**20:.0f} MiB (input is {x.nbytes / 2**20:.0f} MiB)"
    record("memory_bound", what="predict on 100k 28x28x1 float32 images", input_mib=round(x.nbytes / 2**20),
           budget_mib=round(budget / 2**20), measured_mib=round(growth / 2**20, 1), held=True)


class Generated(torch.utils.data.IterableDataset):
    """Batches made on the fly from a seed: a dataset that never sits in memory as a whole."""

    def __init__(self, batches: int, batch_size: int):
        self.batches, self.batch_size = batches, batch_size

    def __iter__(self):
        rng = np.random.default_rng(0)
        for _ in range(self.batches):
            x = rng.random((self.batch_size, 28, 28, 1), dtype=np.float32)
            yield torch.from_numpy(x), torch.from_numpy(rng.integers(0, 10, self.batch_size))


def test_fit_on_a_generated_dataset_keeps_memory_flat_over_5_epochs():
    loader = torch.utils.data.DataLoader(Generated(batches=60, batch_size=128), batch_size=None)
    samples = []
    model = _small_cnn()
    model.fit(loader, epochs=5, verbose=0,
              callbacks=[callbacks.LambdaCallback(on_epoch_end=lambda e, logs: samples.append(rss_bytes()))])
    growth = max(samples[1:]) - samples[0]  # epoch 0 pays for one-off allocations
    budget = 16 << 20  # one epoch of data is 60 * 128 * 3136 B = 24 MiB
    assert growth < budget, [s // 2**20 for s in samples]
    record("memory_bound", what="fit through a DataLoader over a generated dataset, 5 epochs",
           input_mib=round(60 * 128 * 28 * 28 * 4 * 5 / 2**20), budget_mib=round(budget / 2**20),
           measured_mib=round(growth / 2**20, 1), held=True)


PEAK_SCRIPT = textwrap.dedent("""
    import resource, numpy as np, cnnlab
    from cnnlab import layers
    x = np.random.default_rng(0).random((100_000, 28, 28, 1), dtype=np.float32)
    y = np.zeros(100_000, dtype=np.int64)
    model = cnnlab.Sequential([layers.Input((28, 28, 1)), layers.Conv2D(4, 3, strides=2), layers.Flatten(),
                               layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", device="cpu")
    model.fit(x[:256], y[:256], batch_size=128, verbose=0)  # one-off allocations
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    model.fit(x, y, batch_size=128, epochs=1, steps_per_epoch=2, verbose=0)
    print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024, x.nbytes)
""")


def test_fit_checks_a_large_input_without_a_peak_copy():
    """The NaN/inf check reads the data in chunks: the process's peak memory must not grow by a copy of x."""
    run = subprocess.run([sys.executable, "-c", PEAK_SCRIPT], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert run.returncode == 0, run.stderr
    growth, nbytes = (int(v) for v in run.stdout.split())
    budget = nbytes // 4  # a full-size temporary (torch.isfinite's abs copy) would add nbytes
    assert growth < budget, f"fit raised the peak RSS by {growth / 2**20:.0f} MiB (x is {nbytes / 2**20:.0f} MiB)"
    record("memory_bound", what="fit's input checks on 100k 28x28x1 float32 images (peak RSS)",
           input_mib=round(nbytes / 2**20), budget_mib=round(budget / 2**20), measured_mib=round(growth / 2**20, 1),
           held=True)
