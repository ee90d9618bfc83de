"""The one owner of data intake for ``fit``, ``evaluate`` and ``predict`` (Keras 3's ``EpochIterator``).

Whatever the user passes -- NumPy arrays or tensors (and lists/dicts of them),
a Python generator or iterable of batches, a torch ``DataLoader``, a
:class:`cnnlab.data.Dataset` or a ``PyDataset`` -- becomes an iterator of
``(x, y, sample_weight)`` batches of device tensors, with

- the checks on in-memory data (lengths, NaN/inf, raw 0..255 bytes, labels
  against the loss), done once;
- ``validation_split`` (arrays only, the last fraction before shuffling) and
  ``validation_data``;
- ``class_weight`` turned into sample weights, for every input kind;
- ``steps_per_epoch`` (a dataset or generator is then walked on across
  epochs, as Keras does);
- this process's shard of every batch in a multi-process run.

The trainer is then a straight loop: ``for step, batch in iterator``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from cnnlab.errors import ArgumentTypeError, ConfigError, DataError
from cnnlab.training import data_adapters as da
from cnnlab.training.checks import ClassWeights, check_labels, class_weight_table


class EpochIterator:
    """Batches of one kind of user data, epoch after epoch.

    Args:
        model: the model being trained or evaluated (its device, loss and outputs check the data).
        x, y, sample_weight: what the user passed.
        batch_size: samples per batch for in-memory arrays (datasets and iterables batch themselves).
        steps: ``steps_per_epoch`` / ``steps``: at most this many batches per epoch.
        shuffle: reshuffle arrays each epoch (datasets shuffle themselves).
        class_weight: ``{class: weight}``, or a :class:`ClassWeights` table.
        what: the calling method, for messages (``"fit"``, ``"evaluate"``, ``"predict"``...).
        sync: the collectives of a multi-process run (each process then sees its shard), or None.
        training: whether batches feed training steps (empty shards are then kept so every process steps).
        check: check in-memory data (off for ``predict``, which has no labels to check).
    """

    def __init__(self, model, x, y=None, sample_weight=None, *, batch_size: int = 32, steps: int | None = None,
                 shuffle: bool = False, class_weight: Any = None, what: str = "fit", sync: Any = None,
                 training: bool = False, check: bool = True) -> None:
        self.what = what
        has_targets = what not in ("predict", "predict_on_batch")
        if class_weight is not None and not isinstance(class_weight, ClassWeights):
            class_weight = class_weight_table(class_weight, y, model)
        if da.is_array(x):
            x, y, sample_weight = device_arrays(model, x, y, sample_weight, what, check and has_targets)
            if class_weight is not None and y is not None:
                sample_weight = class_weight.weights_for(y, sample_weight)
            adapter = da.ArrayAdapter(x, y, sample_weight, batch_size, shuffle, steps)
        elif is_dataset(x):
            _only_x(x, y, sample_weight, what)
            adapter = da.DatasetAdapter(x, model.device, steps, has_targets, class_weight, what)
        else:
            adapter = da.make_adapter(x, y, sample_weight, batch_size, shuffle, steps, model.device, has_targets,
                                      what, class_weight=class_weight)
        self.adapter = adapter if sync is None else sync.distribute_data(adapter, training=training)

    @property
    def num_batches(self) -> int | None:
        """Batches per epoch, when known (the progress bar's total)."""
        return getattr(self.adapter, "full_steps", None)

    def first_inputs(self):
        """The inputs of the first batch, to build a model that is not built yet."""
        return self.adapter.first_inputs()

    def __iter__(self) -> Iterator[tuple[int, tuple]]:
        """``(step, (x, y, sample_weight))`` for one epoch."""
        return enumerate(self.adapter)


def is_dataset(x) -> bool:
    """A :class:`cnnlab.data.Dataset`, a ``PyDataset``, or anything else that states its ``cardinality()``."""
    return callable(getattr(x, "cardinality", None)) and isinstance(x, Iterable)


def _only_x(x, y, sample_weight, what: str) -> None:
    if y is not None or sample_weight is not None:
        given = "y" if y is not None else "sample_weight"
        raise ArgumentTypeError(
            f"{what}: x is a {type(x).__name__}, which yields (x, y) batches itself; do not pass {given} "
            f"separately (as in Keras). Put the labels into the dataset, e.g. Dataset.from_tensor_slices((x, y)). "
            f"Received: {given} of type {type(y if y is not None else sample_weight).__name__}")


def device_arrays(model, x, y, sample_weight, what: str, check: bool = True):
    """In-memory arrays to device tensors, checked once (lengths, NaN, raw bytes, labels against the loss)."""
    device = model.device
    if isinstance(x, dict):
        x = _named_inputs(model, x, y, what, check)
    x_t = da.map_structure(x, lambda a: da.to_device_tensor(a, "x", device))
    if check:
        for leaf in da.leaves(x):
            da.warn_if_unscaled(leaf, "x")
        for leaf in da.leaves(x_t):
            da.check_finite(leaf, "x")
    if da.num_samples(x_t) == 0:
        raise DataError(f"{what}: x is empty (0 samples). Pass at least one sample.")
    y_t = None
    if y is not None:
        y = y if da.is_array(y) else da.as_array(y, "y")
        y_t = da.map_structure(y, lambda a: da.to_device_tensor(a, "y", device, labels=True))
        nx, ny = da.num_samples(x_t, "x"), da.num_samples(y_t, "y")
        if nx != ny:
            raise DataError(
                f"{what}: x and y must have the same number of samples; got {nx} inputs and {ny} labels. "
                f"Check that they come from the same split (e.g. x_train with y_train). "
                f"Received: len(x)={nx}, len(y)={ny}")
        if check and getattr(model, "_compiled_loss", None) is not None:
            check_labels(model, y_t, what)
    elif check and what not in ("predict", "predict_on_batch") and getattr(model, "_compiled_loss", None) is not None:
        # Without a compiled loss, the loss may come from add_loss alone and need no labels (as in Keras).
        raise DataError(f"{what}: y is missing. Pass labels: model.{what}(x, y).")
    sw_t = None if sample_weight is None else da.to_device_tensor(sample_weight, "sample_weight", device, weights=True)
    if sw_t is not None and da.num_samples(sw_t) != da.num_samples(x_t):
        raise DataError(f"{what}: sample_weight must have one weight per sample; got {da.num_samples(sw_t)} "
                        f"for {da.num_samples(x_t)} samples. Received: sample_weight of shape {tuple(sw_t.shape)}")
    return x_t, y_t, sw_t


def _named_inputs(model, x: dict, y, what: str, check: bool):
    """Keras's rule for a dict ``x``: each model input takes the entry named after it, other keys are ignored;
    a single-input model then gets the array itself. Models without symbolic inputs get the dict as it is."""
    try:
        names = [t.name for t in model.inputs]
    except Exception:  # a subclassed or unbuilt model: its call() reads the dict
        return x
    missing = [n for n in names if n not in x]
    if missing:
        raise DataError(
            f"{what}: x is a dict with keys {list(x)}, but the model's inputs are named {names}; no entry for "
            f"{missing}. Rename the keys to the input names (or name the inputs: Input(shape, name={list(x)[0]!r})), "
            f"or pass the array itself, e.g. model.{what}(x[{list(x)[0]!r}], ...).{da.labels_in_dict_hint(x)} "
            f"Received: x keys {list(x)}")
    if check and y is None and getattr(model, "_compiled_loss", None) is not None:
        raise DataError(f"{what}: y is missing.{da.labels_in_dict_hint(x)} Received: x keys {list(x)}, y=None")
    return x[names[0]] if len(names) == 1 else {name: x[name] for name in names}


def one_batch(model, x, y=None, sample_weight=None, class_weight=None, what: str = "train_on_batch") -> tuple:
    """One in-memory batch as ``(x, y, sample_weight)`` device tensors (``train_on_batch`` and friends)."""
    if class_weight is not None:
        class_weight = class_weight_table(class_weight, y, model)
    x, y, sample_weight = device_arrays(model, x, y, sample_weight, what, check=what != "predict_on_batch")
    if class_weight is not None and y is not None:
        sample_weight = class_weight.weights_for(y, sample_weight)
    return x, y, sample_weight


def fit_iterators(model, x, y, sample_weight, *, batch_size: int, shuffle: bool, steps: int | None,
                  class_weight: Any, validation_split: float, validation_data: Any, validation_batch_size: int | None,
                  validation_steps: int | None, sync: Any) -> tuple[EpochIterator, EpochIterator | None]:
    """The training iterator and the validation one (None without validation), as ``fit`` takes them."""
    if validation_split and validation_data is not None:
        validation_split = 0.0  # Keras: validation_data wins
    val = None
    val_batch = validation_batch_size or batch_size
    if validation_split:
        if not da.is_array(x):
            raise ConfigError(
                "fit: validation_split works with arrays only (as in Keras); pass validation_data=... for "
                f"datasets, generators and DataLoaders, e.g. a second Dataset. Received: validation_split="
                f"{validation_split!r} with x of type {type(x).__name__}")
        (x, y, sample_weight), (vx, vy, vsw) = da.split_validation(x, y, sample_weight, validation_split)
        val = EpochIterator(model, vx, vy, vsw, batch_size=val_batch, steps=validation_steps, what="fit",
                            sync=sync)
    elif validation_data is not None:
        vx, vy, vsw = da.unpack_validation_data(validation_data)
        val = EpochIterator(model, vx, vy, vsw, batch_size=val_batch, steps=validation_steps,
                            what="fit (validation_data)", sync=sync)
    train = EpochIterator(model, x, y, sample_weight, batch_size=batch_size, steps=steps, shuffle=shuffle,
                          class_weight=class_weight, what="fit", sync=sync, training=True)
    return train, val


__all__ = ["EpochIterator", "device_arrays", "fit_iterators", "is_dataset", "one_batch"]
