"""A fake model with exactly the interface callbacks may use, and a scripted fit loop.

The fake model's weights identify the epoch that produced them: after epoch
``e`` every weight array is filled with ``e``, so a restored model shows which
epoch it came from.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from cnnlab.callbacks import CallbackList
from cnnlab.errors import FileFormatError
from cnnlab.io.atomic import atomic_write

WEIGHT_SHAPES = ((2, 3), (3,))


class FakeOptimizer:
    """``learning_rate`` plus a flat tensor state dict, like the real optimizers."""

    def __init__(self, learning_rate: float = 0.01) -> None:
        self.learning_rate = learning_rate
        self.state = {"iterations": torch.tensor(0), "momentum/0": torch.zeros(2, 3), "momentum/1": torch.zeros(3)}

    def state_dict(self) -> dict[str, torch.Tensor]:
        return dict(self.state)

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        if set(state) != set(self.state):
            raise ValueError(f"optimizer state keys differ: {sorted(state)}")
        self.state = {k: v.clone() for k, v in state.items()}


class FakeWeight:
    def __init__(self, model: FakeModel, index: int) -> None:
        self._model, self._index = model, index
        self.path = f"dense/{'kernel' if index == 0 else 'bias'}"

    def numpy(self) -> np.ndarray:
        return self._model._weights[self._index].copy()

    def assign(self, value) -> None:
        self._model._weights[self._index] = np.array(value, dtype=np.float32)


class FakeModel:
    """Holds weights as NumPy arrays; saves them as .npz files through atomic_write."""

    def __init__(self, shapes=WEIGHT_SHAPES) -> None:
        self._weights = [np.full(shape, -1.0, dtype=np.float32) for shape in shapes]
        self.stop_training = False
        self.optimizer = FakeOptimizer()
        self.saved: list[str] = []

    @property
    def weights(self) -> list[FakeWeight]:
        return [FakeWeight(self, i) for i in range(len(self._weights))]

    def get_weights(self) -> list[np.ndarray]:
        return [w.copy() for w in self._weights]

    def set_weights(self, weights) -> None:
        if [np.shape(w) for w in weights] != [w.shape for w in self._weights]:
            raise ValueError("weight shapes do not match the model")
        self._weights = [np.array(w, dtype=np.float32) for w in weights]

    def save(self, path: str) -> None:
        if path.endswith((".keras", ".h5")):
            raise FileFormatError(f"Saving to {path!r} is not supported yet; use a .cnnlab path.")
        self.save_weights(path)

    def save_weights(self, path: str) -> None:
        buffer = io.BytesIO()
        np.savez(buffer, *self._weights)
        with atomic_write(path) as f:
            f.write(buffer.getvalue())
        self.saved.append(path)

    def load_weights(self, path: str) -> None:
        with np.load(path, allow_pickle=False) as data:
            self.set_weights([data[f"arr_{i}"] for i in range(len(self._weights))])

    def train_one_epoch(self, epoch: int) -> None:
        """What the fake trainer 'learns' in an epoch: every weight becomes ``epoch``."""
        self._weights = [np.full(w.shape, float(epoch), dtype=np.float32) for w in self._weights]


def scripted_fit(model, callbacks, epoch_logs, steps=2, batch_loss=None, verbose=0, progbar=False):
    """Drive callbacks the way the trainer does, with scripted epoch-end logs.

    Args:
        epoch_logs: one dict of floats per epoch (its length is ``epochs``).
        batch_loss: optional function ``(epoch, batch) -> float`` for batch-end losses.

    Returns:
        The History.
    """
    epochs = len(epoch_logs)
    cbs = CallbackList(callbacks, add_history=True, add_progbar=progbar, model=model, epochs=epochs, steps=steps, verbose=verbose)
    model.stop_training = False
    cbs.on_train_begin()
    start = getattr(model, "_resume_epoch", 0)
    logs = None
    for epoch in range(start, epochs):
        cbs.on_epoch_begin(epoch)
        for batch in range(steps):
            cbs.on_train_batch_begin(batch)
            loss = batch_loss(epoch, batch) if batch_loss else 1.0 / (batch + 1)
            cbs.on_train_batch_end(batch, {"loss": torch.tensor(loss)})
            if model.stop_training:
                break
        model.train_one_epoch(epoch)
        logs = dict(epoch_logs[epoch])
        cbs.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    cbs.on_train_end(logs)
    return cbs.history


@pytest.fixture
def model() -> FakeModel:
    return FakeModel()


@pytest.fixture
def fit():
    return scripted_fit


@pytest.fixture
def make_model():
    return FakeModel
