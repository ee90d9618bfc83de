"""Turn what users pass to ``fit``/``evaluate``/``predict`` into batches of device tensors.

- NumPy arrays and tensors become one tensor on the device, once; batches are
  index slices of a per-epoch permutation drawn from torch's global RNG (so
  seeding repeats a run and ``BackupAndRestore`` can restore it).
- Python iterables/generators of ``(x, y[, sample_weight])``,
  ``torch.utils.data.DataLoader`` objects and :class:`cnnlab.data.Dataset`
  pipelines are converted batch by batch.

:mod:`cnnlab.training.epoch_iterator` chooses among them; the trainer sees only it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Iterator

import numpy as np
import torch

from cnnlab.errors import ArgumentTypeError, ConfigError, DataError

_WARNED_UNSCALED: set[int] = set()


def is_array(value) -> bool:
    return isinstance(value, (np.ndarray, torch.Tensor)) or (
        isinstance(value, (list, tuple)) and value and all(isinstance(v, (np.ndarray, torch.Tensor)) for v in value)
    ) or (isinstance(value, dict) and value and all(isinstance(v, (np.ndarray, torch.Tensor)) for v in value.values()))


def leaves(value) -> list:
    """The arrays of a single value or of a list/tuple/dict of them."""
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, dict):
        return list(value.values())
    return [value]


def map_structure(value, fn):
    """Apply ``fn`` to each array of a single value or a list/tuple/dict of them."""
    if isinstance(value, (list, tuple)):
        return type(value)(fn(v) for v in value)
    if isinstance(value, dict):
        return {k: fn(v) for k, v in value.items()}
    return fn(value)


def to_device_tensor(array, name: str, device: torch.device, labels: bool = False,
                     weights: bool = False, per_batch: bool = False) -> torch.Tensor:
    """One array to a tensor on ``device``: inputs as float32, labels keep integer dtypes (as int64); ``weights``
    (sample weights) are checked for NaN, inf and negative values before they move to the device. ``per_batch``:
    a batch from a generator or DataLoader, copied asynchronously to a GPU (see :func:`copy_to_device`)."""
    if isinstance(array, torch.Tensor) and array.device.type == "meta":
        raise DataError(f"{name} is a tensor on the 'meta' device: it has a shape {tuple(array.shape)} but no values "
                        "to train on (a meta tensor records only shape and dtype). Create it with data on the CPU or "
                        "the model's device, e.g. torch.as_tensor(array) or torch.zeros(shape). Received: "
                        f"{name} on device 'meta'")
    if isinstance(array, torch.Tensor):
        # A handed-out EagerTensor (a dataset element, a tf-facade value) goes in as a plain tensor: the model's
        # forward would otherwise dispatch every op through the subclass.
        tensor = (array if type(array) is torch.Tensor else array.as_subclass(torch.Tensor)).detach()
    else:
        arr = np.asarray(array)
        if arr.dtype.kind not in "biuf":
            raise DataError(
                f"{name} must hold numbers; got dtype {arr.dtype} (shape {arr.shape}). Convert it first, e.g. "
                f"{name}.astype('float32'){' or map class names to integers' if labels else ''}."
            )
        tensor = torch.from_numpy(np.ascontiguousarray(arr))
    if tensor.ndim == 0:
        raise DataError(f"{name} must have a batch axis; got a scalar. Wrap single samples as a batch: x[None].")
    if labels and not tensor.dtype.is_floating_point:
        if tensor.dtype == torch.uint64:
            _check_unsigned_labels(tensor, name)
        tensor = tensor.to(torch.int64)
    elif tensor.dtype != torch.float32:
        tensor = tensor.to(torch.float32)
    if weights:
        check_weights(tensor, name)
    return copy_to_device(tensor, device, pin=per_batch)


def copy_to_device(tensor: torch.Tensor, device: torch.device, pin: bool = False) -> torch.Tensor:
    """``tensor`` on ``device``; with ``pin``, a CPU tensor bound for CUDA goes through page-locked memory.

    A copy from ordinary (pageable) memory makes the host wait for the GPU to finish its queued work, once per
    batch; from pinned memory the copy is queued with ``non_blocking=True`` and overlaps the previous step.
    In-memory arrays are copied once per fit, unpinned (pinning the whole set would double its host memory).
    """
    if pin and device.type == "cuda" and tensor.device.type == "cpu" and not tensor.is_pinned():
        tensor = tensor.pin_memory()
    return tensor.to(device, non_blocking=True)


def _check_unsigned_labels(tensor: torch.Tensor, name: str) -> None:
    """uint64 labels above int64's range would wrap to negative class ids (2**64 - 1 becomes -1)."""
    top = int(tensor.cpu().numpy().max()) if tensor.numel() else 0  # torch has no max() for uint64
    if top > torch.iinfo(torch.int64).max:
        raise DataError(f"{name} holds {str(tensor.dtype).replace('torch.', '')} values up to {top}, beyond any class "
                        f"id (int64 ends at {torch.iinfo(torch.int64).max}). Check the labels: they should be class "
                        f"ids 0..classes-1, e.g. np.unique({name.split()[0]}, return_inverse=True)[1]. "
                        f"Received: max({name.split()[0]})={top}")


def check_weights(tensor: torch.Tensor, name: str) -> None:
    """Refuse NaN, inf or negative sample weights, which would poison the loss.

    One min/max pass; called on the CPU tensor before a batch moves to the device, so it adds no device sync.
    (Keras does not check; a NaN weight there turns the loss and then every weight into NaN.)
    """
    if tensor.numel() == 0 or not tensor.dtype.is_floating_point:
        return
    low, high = torch.aminmax(tensor)
    if bool((low >= 0) & (high < math.inf)):  # NaN fails both comparisons
        return
    flat = tensor.reshape(-1)
    bad = ~torch.isfinite(flat) | (flat < 0)
    first = int(torch.nonzero(bad)[0, 0])
    counts = {"NaN": int(torch.isnan(flat).sum()), "inf": int(torch.isinf(flat).sum()), "negative": int((flat < 0).sum())}
    found = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
    raise DataError(f"{name} holds {found} value(s) (first at index {first}: {float(flat[first])}); weights must be "
                    "finite numbers >= 0, or the loss becomes NaN or is driven the wrong way. Fix them, e.g. "
                    f"np.nan_to_num({name.split()[0]}, nan=0.0, posinf=0.0).clip(0, None). "
                    f"Received: {name}[{first}]={float(flat[first])}")


_FINITE_CHUNK = 1 << 22  # elements checked at a time: torch.isfinite makes a full-size abs() copy


def check_finite(tensor: torch.Tensor, name: str) -> None:
    """Refuse NaN/inf in ``tensor``, reading it in chunks so the check never doubles the data's memory."""
    if not tensor.dtype.is_floating_point or tensor.numel() == 0:
        return
    if bool(torch.isfinite(tensor.sum())):  # NaN/inf propagate through a sum: one cheap pass in the common case
        return
    rows = tensor.reshape(tensor.shape[0], -1)
    step = max(1, _FINITE_CHUNK // max(1, rows.shape[1]))
    for start in range(0, rows.shape[0], step):
        chunk = rows[start:start + step]
        if not bool(torch.isfinite(chunk).all()):
            bad = start + torch.nonzero(~torch.isfinite(chunk).all(dim=1))[0, 0].item()
            raise DataError(
                f"{name} contains NaN or inf (first at sample {bad}). Clean the data first, e.g. "
                f"np.nan_to_num({name}) or drop those samples."
            )


def warn_if_unscaled(array, name: str) -> None:
    """Warn once when images look like raw 0..255 bytes."""
    dtype = array.dtype
    if str(dtype) not in ("uint8", "torch.uint8"):
        return
    key = id(type(array))
    if key in _WARNED_UNSCALED:
        return
    if int(array.max()) > 1:
        _WARNED_UNSCALED.add(key)
        warnings.warn(
            f"{name} holds uint8 values up to 255. Networks train much better on inputs scaled to 0..1: "
            f"pass {name} / 255.0 (or put layers.Rescaling(1/255) first in the model).",
            stacklevel=4,
        )


# Dict keys that usually hold labels, for the hint when a dict x carries them.
_LABEL_KEYS = ("label", "labels", "y", "target", "targets", "class", "classes")


def labels_in_dict_hint(x) -> str:
    """When ``x`` is a dict that seems to hold the labels, a sentence saying how to pass them as y; else ''."""
    if not isinstance(x, dict):
        return ""
    keys = [k for k in x if str(k).lower() in _LABEL_KEYS]
    if not keys:
        return f" x is a dict with keys {list(x)}: a dict is read as the model's named inputs, never as labels."
    inputs = next((k for k in x if k not in keys), "image")
    return (f" x is a dict with keys {list(x)}: a dict holds the model's named inputs, so its {keys[0]!r} entry is "
            f"not used as labels. Give them as y, e.g. model.fit(x[{inputs!r}], x[{keys[0]!r}]), or for a dataset "
            f"ds.map(lambda d: (d[{inputs!r}], d[{keys[0]!r}])).")


def num_samples(x, name: str = "x") -> int:
    sizes = {int(leaf.shape[0]) for leaf in leaves(x)}
    if len(sizes) != 1:
        raise DataError(f"All arrays in {name} must have the same number of samples; got sizes {sorted(sizes)}.")
    return sizes.pop()


class ArrayAdapter:
    """Batches from in-memory arrays held as device tensors.

    Args:
        x, y, sample_weight: tensors already on the device (or nested lists/dicts of them).
        batch_size: samples per batch.
        shuffle: draw a new permutation each epoch (torch's global RNG).
        steps: optional cap on batches per epoch.
    """

    def __init__(self, x, y=None, sample_weight=None, batch_size: int = 32, shuffle: bool = False,
                 steps: int | None = None):
        self.x, self.y, self.sample_weight = x, y, sample_weight
        self.n = num_samples(x)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.full_steps = math.ceil(self.n / batch_size)
        self.steps = self.full_steps if steps is None else min(steps, self.full_steps)

    def first_inputs(self):
        """The inputs of the first batch, to build a model that is not built yet (Keras's graph keeps its size)."""
        return map_structure(self.x, lambda t: t[:self.batch_size])

    def __iter__(self) -> Iterator[tuple]:
        bs = self.batch_size
        if self.shuffle:
            perm = torch.randperm(self.n)
            device = leaves(self.x)[0].device
            perm = perm.to(device) if device.type != "cpu" else perm
            for step in range(self.steps):
                idx = perm[step * bs:(step + 1) * bs]
                yield tuple(None if part is None else map_structure(part, lambda t: t.index_select(0, idx))
                            for part in (self.x, self.y, self.sample_weight))
        else:
            for step in range(self.steps):
                sl = slice(step * bs, (step + 1) * bs)
                yield tuple(None if part is None else map_structure(part, lambda t: t[sl])
                            for part in (self.x, self.y, self.sample_weight))


class IterableAdapter:
    """Batches from a Python iterable, generator or DataLoader of ``(x, y[, sample_weight])``."""

    def __init__(self, data: Iterable, device: torch.device, steps: int | None = None, has_targets: bool = True,
                 class_weight=None):
        self.data = data
        self.class_weight = class_weight
        self.device = device
        self.steps = steps
        self.has_targets = has_targets
        self._iterator = None
        self._peeked = None
        try:
            self.full_steps = len(data)  # DataLoaders and lists know their length
        except TypeError:
            self.full_steps = None
        if steps is not None:
            self.full_steps = steps if self.full_steps is None else min(steps, self.full_steps)

    def first_inputs(self):
        """The inputs of the first batch (kept, and yielded again by the next pass)."""
        if self._peeked is None:
            self._iterator = iter(self.data)
            try:
                self._peeked = self._convert(next(self._iterator))
            except StopIteration:
                raise DataError("The data iterator yielded no batches.") from None
        return self._peeked[0]

    def __iter__(self) -> Iterator[tuple]:
        count = 0
        if self._peeked is not None:  # first_inputs() already drew the first batch
            first, self._peeked = self._peeked, None
            yield first
            count = 1
        elif self._iterator is None or self._fresh_each_epoch():
            self._iterator = iter(self.data)
        while self.steps is None or count < self.steps:
            try:
                batch = next(self._iterator)
            except StopIteration:
                self._iterator = None
                if count == 0:
                    raise DataError(
                        "The data iterator yielded no batches. A generator is used up after one pass: pass a "
                        "list, a DataLoader, or an infinite generator with steps_per_epoch=..."
                    ) from None
                self._ran_out(count)
                return
            yield self._convert(batch)
            count += 1

    def _fresh_each_epoch(self) -> bool:
        # A generator can only be walked once: keep consuming it across epochs, as Keras does.
        return hasattr(self.data, "__len__") or isinstance(self.data, torch.utils.data.DataLoader)

    def _ran_out(self, count: int) -> None:
        """The data ended after ``count`` batches of this epoch (a list or DataLoader simply ends)."""

    def _convert(self, batch) -> tuple:
        if isinstance(batch, dict) and set(batch) & {"x", "y", "sample_weight"}:
            batch = (batch.get("x"), batch.get("y"), batch.get("sample_weight"))
        if not isinstance(batch, (list, tuple)):
            batch = (batch,)  # a dict of named inputs is x, as in Keras
        if self.has_targets and len(batch) < 2:
            raise DataError(
                f"Each batch from the data iterator must be (x, y) or (x, y, sample_weight); got a "
                f"{type(batch).__name__} of length {len(batch)}.{labels_in_dict_hint(batch[0] if batch else None)}"
            )
        if len(batch) > 3:
            raise DataError(f"Each batch must be (x, y) or (x, y, sample_weight); got {len(batch)} items.")
        x = map_structure(batch[0], lambda a: to_device_tensor(a, "x (batch)", self.device, per_batch=True))
        y = None if len(batch) < 2 or batch[1] is None else map_structure(
            batch[1], lambda a: to_device_tensor(a, "y (batch)", self.device, labels=True, per_batch=True))
        sw = None if len(batch) < 3 or batch[2] is None else to_device_tensor(
            batch[2], "sample_weight (batch)", self.device, weights=True, per_batch=True)
        if self.class_weight is not None and y is not None:
            sw = self.class_weight.weights_for(y, sw)
        return x, y, sw


class DatasetAdapter(IterableAdapter):
    """Batches from a :class:`cnnlab.data.Dataset` or ``PyDataset``: sized by ``cardinality()``.

    Each element is unpacked as Keras does: a tuple is ``(x, y[, sample_weight])``, anything else (a tensor,
    a dict of named inputs) is ``x``. Without ``steps`` every epoch starts the dataset afresh (so it
    reshuffles); with ``steps`` the dataset is walked on across epochs, as Keras walks a ``tf.data`` dataset.
    """

    def __init__(self, data, device: torch.device, steps: int | None, has_targets: bool, class_weight, what: str):
        self.what = what
        cardinality = int(data.cardinality())
        if cardinality == INFINITE and steps is None:
            raise ConfigError(
                f"{what}: the dataset is infinite (it repeats forever), so an epoch never ends. Pass the number "
                f"of batches per epoch: {'steps_per_epoch' if what == 'fit' else 'steps'}=... (as in Keras), or "
                "repeat it a finite number of times, e.g. dataset.repeat(3). Received: cardinality=INFINITE")
        super().__init__(data, device, steps, has_targets, class_weight)
        known = cardinality if cardinality >= 0 else None
        self.full_steps = steps if known is None else known if steps is None else min(steps, known)

    def _fresh_each_epoch(self) -> bool:
        return self.steps is None

    def _ran_out(self, count: int) -> None:
        if self.steps is not None and count < self.steps:  # Keras's warning
            warnings.warn(f"{self.what}: the input ran out of data; the epoch ends early. Make sure the dataset or "
                          "generator yields at least steps_per_epoch * epochs batches, e.g. with dataset.repeat().",
                          stacklevel=4)

    def _convert(self, batch) -> tuple:
        if isinstance(batch, list):
            batch = tuple(batch)
        if not isinstance(batch, tuple):
            batch = (batch,)
        if not 1 <= len(batch) <= 3:
            raise DataError(f"{self.what}: each dataset element must be x, (x,), (x, y) or (x, y, sample_weight); "
                            f"got a tuple of {len(batch)} items. Received: element of length {len(batch)}")
        return super()._convert(batch)


INFINITE = -1  # tf.data's cardinality of a dataset that repeats forever


def split_validation(x, y, sample_weight, fraction: float):
    """Keras's ``validation_split``: the last ``fraction`` of the samples, taken before shuffling."""
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
        raise ConfigError(f"validation_split must be a fraction in (0, 1). Received: validation_split={fraction!r}")
    n = num_samples(x)
    cut = int(n * (1 - fraction))
    if cut == 0 or cut == n:
        raise DataError(f"validation_split={fraction} of {n} samples leaves an empty training or validation set.")
    head = lambda part: None if part is None else map_structure(part, lambda t: t[:cut])  # noqa: E731
    tail = lambda part: None if part is None else map_structure(part, lambda t: t[cut:])  # noqa: E731
    return (head(x), head(y), head(sample_weight)), (tail(x), tail(y), tail(sample_weight))


def make_adapter(x, y, sample_weight, batch_size, shuffle, steps, device, has_targets=True, what="fit",
                 class_weight=None):
    """Choose the adapter for the user's data."""
    if x is None:
        raise DataError(f"{what}: x is None. Pass the input data, e.g. {what}(x_train, y_train).")
    if is_array(x):
        return ArrayAdapter(x, y, sample_weight, batch_size, shuffle, steps)
    if isinstance(x, (str, bytes)) or not isinstance(x, Iterable):
        raise ArgumentTypeError(
            f"{what}: x must be a NumPy array, a torch tensor, a list/dict of them, a generator or iterable of "
            f"(x, y) batches, or a DataLoader. Received: x of type {type(x).__name__}"
        )
    if y is not None:
        raise ArgumentTypeError(
            f"{what}: when x is a generator, iterable or DataLoader it must yield (x, y) pairs itself; do not pass "
            "y separately."
        )
    return IterableAdapter(x, device, steps, has_targets, class_weight)



def as_array(value, name: str):
    """A label list or scalar sequence as a NumPy array."""
    try:
        return np.asarray(value)
    except (ValueError, TypeError) as err:
        raise DataError(f"{name} must be an array of numbers. Received: {name} of type {type(value).__name__}") from err


def unpack_validation_data(validation_data) -> tuple:
    """``validation_data`` as ``(x, y, sample_weight)``; an iterable of batches is ``(data, None, None)``."""
    if isinstance(validation_data, tuple) and len(validation_data) in (2, 3):
        return tuple(validation_data) + (None,) * (3 - len(validation_data))
    if isinstance(validation_data, (list, tuple, np.ndarray, torch.Tensor)):
        size = len(validation_data)
        raise ArgumentTypeError(
            "fit: validation_data must be a tuple (x_val, y_val) or (x_val, y_val, sample_weight), or an iterable "
            f"of batches. Received: validation_data of type {type(validation_data).__name__} and length {size}"
        )
    return validation_data, None, None


def concat_outputs(outputs: list):
    """Join per-batch model outputs into NumPy arrays (a list or dict for several outputs)."""
    first = outputs[0]
    if isinstance(first, dict):
        return {k: torch.cat([o[k] for o in outputs]).cpu().numpy() for k in first}
    if isinstance(first, (list, tuple)):
        return [torch.cat([o[i] for o in outputs]).cpu().numpy() for i in range(len(first))]
    return torch.cat(outputs).cpu().numpy()
