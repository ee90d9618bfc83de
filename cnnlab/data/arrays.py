"""Array utilities with Keras and scikit-learn semantics.

``to_categorical`` behaves like ``keras.utils.to_categorical`` and
``train_test_split`` like ``sklearn.model_selection.train_test_split``
(same arguments, defaults, validation and return order), so tutorial code
runs unchanged without either library.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from cnnlab.errors import ArgumentTypeError, ConfigError, DataError
from cnnlab.io.limits import MAX_ONE_HOT_BYTES

# scikit-learn's train_test_split uses this test fraction when neither size is given.
SKLEARN_DEFAULT_TEST_SIZE = 0.25


def to_categorical(y: Any, num_classes: int | None = None, dtype: Any = "float32") -> np.ndarray:
    """Convert integer class labels to one-hot rows.

    Args:
        y: integer labels in ``[0, num_classes)``; any shape. A trailing
            axis of size 1, as in ``(n, 1)``, is dropped first (Keras does).
            Floats are accepted only when they hold whole numbers.
        num_classes: number of classes; ``None`` (or 0) infers ``max(y) + 1``.
        dtype: dtype of the result.

    Returns:
        A NumPy array of shape ``y.shape + (num_classes,)`` with a single 1
        per row.

    Shape:
        - Input: ``(n,)`` or ``(n, 1)``.
        - Output: ``(n, num_classes)``.

    Example:
        >>> to_categorical([0, 2, 1], num_classes=3)
        array([[1., 0., 0.],
               [0., 0., 1.],
               [0., 1., 0.]], dtype=float32)
    """
    labels = _integer_labels(y)
    shape = labels.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    flat = labels.reshape(-1)
    if flat.size and flat.min() < 0:
        bad = int(flat.argmin())
        raise DataError(
            f"to_categorical: labels must be >= 0; found {int(flat[bad])} at flat index {bad}. "
            f"Received: min(y)={int(flat[bad])}"
        )
    num_classes = _resolve_num_classes(num_classes, flat)
    out_dtype = _as_dtype(dtype)
    _check_one_hot_size(flat.size, num_classes, out_dtype)
    one_hot = np.zeros((flat.size, num_classes), dtype=out_dtype)
    one_hot[np.arange(flat.size), flat] = 1
    return one_hot.reshape(shape + (num_classes,))


def _integer_labels(y: Any) -> np.ndarray:
    try:
        labels = np.asarray(y)
    except (TypeError, ValueError) as err:
        raise ArgumentTypeError(f"to_categorical: y must be an array of integer labels. Received: y={y!r:.80}") from err
    if labels.dtype.kind in "uf" and labels.size and labels.max() > np.iinfo(np.int64).max:
        # astype(int64) would wrap these to negative or arbitrary numbers.
        raise DataError(f"to_categorical: label {labels.max()} ({labels.dtype}) is far beyond any class id. Check y: "
                        f"it should hold class ids 0..num_classes-1. Received: max(y)={labels.max()}")
    if labels.dtype.kind in "iub":
        return labels.astype(np.int64)
    if labels.dtype.kind == "f":
        whole = np.isfinite(labels) & (labels == np.round(labels))
        if not whole.all():
            bad = float(labels.reshape(-1)[np.argmin(whole.reshape(-1))])
            raise DataError(
                f"to_categorical: labels must be whole numbers; found {bad}. If y already holds "
                f"probabilities or one-hot rows, it needs no converting. Received: y contains {bad}"
            )
        return labels.astype(np.int64)
    raise ArgumentTypeError(
        f"to_categorical: labels must be integers; got dtype {labels.dtype}. "
        f"Map class names to integers first. Received: y.dtype={labels.dtype}"
    )


def _resolve_num_classes(num_classes: Any, flat: np.ndarray) -> int:
    if num_classes is not None and (isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral)):
        raise ConfigError(f"to_categorical: num_classes must be a positive integer or None. Received: num_classes={num_classes!r}")
    if not num_classes:  # Keras treats 0 like None
        if flat.size == 0:
            raise DataError("to_categorical: cannot infer num_classes from an empty y; pass num_classes. Received: y of size 0")
        return int(flat.max()) + 1
    if num_classes < 0:
        raise ConfigError(f"to_categorical: num_classes must be a positive integer or None. Received: num_classes={num_classes}")
    if flat.size and flat.max() >= num_classes:
        raise DataError(
            f"to_categorical: label {int(flat.max())} is out of range for num_classes={num_classes} "
            f"(labels must be 0..{num_classes - 1}). Pass a larger num_classes or fix the labels. "
            f"Received: max(y)={int(flat.max())}, num_classes={num_classes}"
        )
    return int(num_classes)


def _check_one_hot_size(samples: int, num_classes: int, dtype: np.dtype) -> None:
    """Refuse a one-hot array larger than ``MAX_ONE_HOT_BYTES`` before allocating it."""
    size = samples * num_classes * dtype.itemsize
    if size > MAX_ONE_HOT_BYTES:
        raise DataError(
            f"to_categorical: {samples:,} labels x {num_classes:,} classes x {dtype.itemsize} bytes ({dtype}) would "
            f"need {size / 2**30:,.1f} GiB, more than the limit of {MAX_ONE_HOT_BYTES / 2**30:g} GiB. Check "
            "num_classes and the largest label; for many classes keep integer labels and use "
            "loss='sparse_categorical_crossentropy' instead of one-hot rows. "
            f"Received: {samples} labels, num_classes={num_classes}, dtype={dtype}"
        )


def _as_dtype(dtype: Any) -> np.dtype:
    try:
        return np.dtype(dtype)
    except TypeError as err:
        raise ConfigError(f"to_categorical: {dtype!r} is not a NumPy dtype, e.g. 'float32'. Received: dtype={dtype!r}") from err


def train_test_split(
    *arrays: Any,
    test_size: float | int | None = None,
    train_size: float | int | None = None,
    random_state: int | np.random.RandomState | np.random.Generator | None = None,
    shuffle: bool = True,
    stratify: Any = None,
) -> list:
    """Split arrays into random train and test subsets (scikit-learn semantics).

    Args:
        *arrays: arrays, lists or tensors with the same first dimension.
        test_size: a float in (0, 1) (fraction, rounded up) or an int
            (count). ``None``: the complement of ``train_size``, or 0.25 when
            both are ``None``.
        train_size: a float in (0, 1) (fraction, rounded down) or an int.
            ``None``: the complement of ``test_size``.
        random_state: seed or generator for a reproducible split.
        shuffle: shuffle before splitting; ``False`` keeps order (train
            first) and requires ``stratify=None``.
        stratify: labels whose class proportions both subsets should keep.

    Returns:
        A list ``[a_train, a_test, b_train, b_test, ...]``, two per input.

    Example:
        >>> x_train, x_test, y_train, y_test = train_test_split(
        ...     np.arange(10), np.arange(10) % 2, test_size=0.2, random_state=0)
        >>> len(x_train), len(x_test)
        (8, 2)
    """
    if not arrays:
        raise ConfigError("train_test_split: at least one array is required as input. Received: no arrays")
    n_samples = _consistent_length(arrays)
    n_train, n_test = _split_sizes(n_samples, test_size, train_size)
    if not shuffle:
        if stratify is not None:
            raise ConfigError(
                "train_test_split: stratified splitting needs shuffle=True; pass shuffle=True or stratify=None. "
                f"Received: shuffle={shuffle!r}, stratify=<{type(stratify).__name__}>"
            )
        train, test = np.arange(n_train), np.arange(n_train, n_train + n_test)
    else:
        rng = _rng(random_state)
        if stratify is None:
            order = rng.permutation(n_samples)
            test, train = order[:n_test], order[n_test : n_test + n_train]
        else:
            train, test = _stratified_indices(stratify, n_samples, n_train, n_test, rng)
    return [part for array in arrays for part in (_take(array, train), _take(array, test))]


def _num_samples(array: Any, position: int) -> int:
    shape = getattr(array, "shape", None)
    if shape is not None and len(shape) >= 1:
        return int(shape[0])
    if hasattr(array, "__len__") and shape is None:
        return len(array)
    raise ArgumentTypeError(
        f"train_test_split: argument {position} must be array-like with a first dimension; got "
        f"{type(array).__name__}. Received: arrays[{position}]={array!r:.60}"
    )


def _consistent_length(arrays: tuple) -> int:
    lengths = [_num_samples(a, i) for i, a in enumerate(arrays)]
    if len(set(lengths)) > 1:
        raise DataError(
            f"train_test_split: all arrays must have the same number of samples; got lengths {lengths}. "
            f"Received: lengths={lengths}"
        )
    return lengths[0]


def _check_size(name: str, value: Any, n_samples: int) -> None:
    if value is None:
        return
    valid_int = isinstance(value, numbers.Integral) and not isinstance(value, bool) and 0 < value < n_samples
    valid_float = isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral) and 0 < value < 1
    if not (valid_int or valid_float):
        raise ConfigError(
            f"train_test_split: {name} must be a float in (0, 1) or an int in [1, {n_samples - 1}] "
            f"(the data has {n_samples} samples), or None. Received: {name}={value!r}"
        )


def _split_sizes(n_samples: int, test_size: Any, train_size: Any) -> tuple[int, int]:
    if test_size is None and train_size is None:
        test_size = SKLEARN_DEFAULT_TEST_SIZE
    _check_size("test_size", test_size, n_samples)
    _check_size("train_size", train_size, n_samples)
    received = f"Received: test_size={test_size!r}, train_size={train_size!r}, n_samples={n_samples}"
    both_float = isinstance(test_size, float) and isinstance(train_size, float)
    if both_float and test_size + train_size > 1:
        raise ConfigError(f"train_test_split: test_size + train_size must be at most 1. {received}")
    n_test = None if test_size is None else _count(test_size, n_samples, math.ceil)
    n_train = None if train_size is None else _count(train_size, n_samples, math.floor)
    n_train = n_samples - n_test if n_train is None else n_train
    n_test = n_samples - n_train if n_test is None else n_test
    if n_train + n_test > n_samples:
        raise ConfigError(
            f"train_test_split: the train ({n_train}) and test ({n_test}) sets need more than the "
            f"{n_samples} samples available. {received}"
        )
    if n_train == 0:
        raise ConfigError(f"train_test_split: with these sizes the train set would be empty; make test_size smaller. {received}")
    return n_train, n_test


def _count(size: float | int, n_samples: int, rounding) -> int:
    # Fractions: the test count rounds up and the train count down (scikit-learn).
    return int(rounding(size * n_samples)) if isinstance(size, numbers.Real) and not isinstance(size, numbers.Integral) else int(size)


def _rng(random_state: Any):
    if isinstance(random_state, (np.random.Generator, np.random.RandomState)):
        return random_state
    if random_state is None or (isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool)):
        return np.random.default_rng(random_state)
    raise ArgumentTypeError(
        "train_test_split: random_state must be None, an int, or a NumPy Generator/RandomState. "
        f"Received: random_state={random_state!r}"
    )


def _stratified_indices(stratify: Any, n_samples: int, n_train: int, n_test: int, rng) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(stratify)
    if labels.ndim == 0 or labels.shape[0] != n_samples:
        raise DataError(
            f"train_test_split: stratify must have one label per sample ({n_samples}); got shape {labels.shape}. "
            f"Received: stratify.shape={labels.shape}"
        )
    _, class_of = np.unique(labels.reshape(n_samples, -1), axis=0, return_inverse=True)
    class_of = class_of.reshape(-1)
    counts = np.bincount(class_of)
    _check_stratifiable(counts, n_train, n_test)
    train_per_class = _largest_remainder(counts, n_train, rng)
    test_per_class = _largest_remainder(counts - train_per_class, n_test, rng)
    train, test = [], []
    for cls, (k_train, k_test) in enumerate(zip(train_per_class, test_per_class)):
        members = rng.permutation(np.flatnonzero(class_of == cls))
        train.append(members[:k_train])
        test.append(members[k_train : k_train + k_test])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def _check_stratifiable(counts: np.ndarray, n_train: int, n_test: int) -> None:
    if counts.min() < 2:
        raise DataError(
            "train_test_split: the least populated class in stratify has only 1 member; every class needs "
            f"at least 2 to appear in both sets. Received: class counts={counts.tolist()}"
        )
    for name, n in (("train", n_train), ("test", n_test)):
        if n < len(counts):
            raise ConfigError(
                f"train_test_split: the {name} set ({n} samples) must be at least as large as the number "
                f"of classes ({len(counts)}) to stratify. Received: {name} size={n}, classes={len(counts)}"
            )


def _largest_remainder(counts: np.ndarray, n_draws: int, rng) -> np.ndarray:
    """Split ``n_draws`` over classes in proportion to ``counts`` (ties broken at random)."""
    exact = counts * n_draws / counts.sum()
    taken = np.floor(exact).astype(np.int64)
    remainder = exact - taken
    short = n_draws - int(taken.sum())
    # Sort by remainder, largest first; a random key breaks ties fairly.
    order = np.lexsort((rng.permutation(len(counts)), -remainder))
    taken[order[:short]] += 1
    return taken


def _take(array: Any, indices: np.ndarray) -> Any:
    if isinstance(array, np.ndarray):
        return array[indices]
    if isinstance(array, (list, tuple)):
        return [array[i] for i in indices]
    if hasattr(array, "iloc"):  # pandas: position-based, like scikit-learn
        return array.iloc[indices]
    return array[indices]
