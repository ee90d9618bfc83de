import numpy as np
import pytest
import sklearn.model_selection

from cnnlab.data.arrays import to_categorical, train_test_split
from cnnlab.errors import ArgumentTypeError, ConfigError, DataError

# --- to_categorical --------------------------------------------------------


def test_to_categorical_matches_identity_rows():
    y = np.array([2, 0, 1, 2])
    np.testing.assert_array_equal(to_categorical(y), np.eye(3)[y])


def test_to_categorical_defaults_to_float32():
    assert to_categorical([0, 1]).dtype == np.float32
    assert to_categorical([0, 1], dtype="int64").dtype == np.int64


def test_to_categorical_drops_a_trailing_axis_of_one():
    y = np.array([[1], [0], [3]])
    out = to_categorical(y, num_classes=5)
    assert out.shape == (3, 5)
    np.testing.assert_array_equal(out, np.eye(5)[[1, 0, 3]])


def test_to_categorical_keeps_other_leading_axes():
    y = np.array([[0, 1], [2, 1]])
    assert to_categorical(y).shape == (2, 2, 3)
    np.testing.assert_array_equal(to_categorical(y)[1, 0], [0, 0, 1])


def test_to_categorical_scalar_gives_one_row():
    np.testing.assert_array_equal(to_categorical(2, num_classes=4), [0, 0, 1, 0])


def test_to_categorical_num_classes_zero_is_inferred_like_keras():
    assert to_categorical([0, 4], num_classes=0).shape == (2, 5)


def test_to_categorical_accepts_whole_number_floats_and_uint8():
    np.testing.assert_array_equal(to_categorical([1.0, 0.0]), [[0, 1], [1, 0]])
    np.testing.assert_array_equal(to_categorical(np.array([1, 0], np.uint8)), [[0, 1], [1, 0]])


def test_to_categorical_empty_with_num_classes():
    assert to_categorical(np.array([], dtype=int), num_classes=3).shape == (0, 3)


@pytest.mark.parametrize(
    "y, num_classes, error, fragment",
    [
        ([0, -1, 2], None, DataError, "labels must be >= 0; found -1"),
        ([0, 10], 10, DataError, "label 10 is out of range for num_classes=10"),
        ([0.5, 1.0], None, DataError, "whole numbers; found 0.5"),
        ([np.nan], None, DataError, "whole numbers"),
        (["cat", "dog"], None, ArgumentTypeError, "labels must be integers"),
        ([], None, DataError, "cannot infer num_classes"),
        ([0, 1], 2.5, ConfigError, "Received: num_classes=2.5"),
        ([0, 1], -3, ConfigError, "Received: num_classes=-3"),
    ],
)
def test_to_categorical_rejects_bad_labels(y, num_classes, error, fragment):
    with pytest.raises(error, match=fragment.replace(".", r"\.")):
        to_categorical(y, num_classes=num_classes)


# --- train_test_split: sizes against scikit-learn --------------------------

SIZE_CASES = [
    dict(),
    dict(test_size=0.2),
    dict(test_size=0.33),
    dict(test_size=7),
    dict(train_size=0.5),
    dict(train_size=0.77),
    dict(train_size=13),
    dict(test_size=0.1, train_size=0.3),
    dict(test_size=5, train_size=10),
    dict(test_size=0.5, train_size=0.5),
]


@pytest.mark.parametrize("n", [10, 23, 100])
@pytest.mark.parametrize("sizes", SIZE_CASES)
def test_split_sizes_match_sklearn(n, sizes):
    x = np.arange(n)
    try:
        ref_train, ref_test = sklearn.model_selection.train_test_split(x, random_state=0, **sizes)
    except ValueError:
        with pytest.raises(ConfigError):
            train_test_split(x, random_state=0, **sizes)
        return
    x_train, x_test = train_test_split(x, random_state=0, **sizes)
    assert (len(x_train), len(x_test)) == (len(ref_train), len(ref_test))
    assert len(np.intersect1d(x_train, x_test)) == 0


@pytest.mark.parametrize(
    "sizes",
    [
        dict(test_size=0.0),
        dict(test_size=1.0),
        dict(test_size=1.5),
        dict(test_size=-1),
        dict(test_size=0),
        dict(test_size=10),
        dict(train_size=10),
        dict(test_size=0.6, train_size=0.6),
        dict(test_size=6, train_size=6),
        dict(test_size="0.2"),
        dict(test_size=True),
    ],
)
def test_bad_sizes_raise_like_sklearn(sizes):
    x = np.arange(10)
    with pytest.raises(ValueError):  # the reference raises too
        sklearn.model_selection.train_test_split(x, **sizes)
    with pytest.raises(ConfigError, match="Received:"):
        train_test_split(x, **sizes)


def test_returns_train_then_test_for_each_array_in_order():
    x = np.arange(20) * 10
    y = np.arange(20)
    names = list("abcdefghijklmnopqrst")
    x_train, x_test, y_train, y_test, n_train, n_test = train_test_split(x, y, names, test_size=0.25, random_state=3)
    np.testing.assert_array_equal(x_train, y_train * 10)
    np.testing.assert_array_equal(x_test, y_test * 10)
    assert isinstance(n_train, list) and n_test == [names[i] for i in y_test]
    assert sorted(np.concatenate([y_train, y_test]).tolist()) == list(range(20))


def test_same_random_state_gives_same_split_and_another_differs():
    x = np.arange(50)
    a = train_test_split(x, random_state=7)[1]
    b = train_test_split(x, random_state=7)[1]
    c = train_test_split(x, random_state=8)[1]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_generator_random_state_is_accepted():
    x_train, x_test = train_test_split(np.arange(8), random_state=np.random.default_rng(0))
    assert len(x_train) == 6 and len(x_test) == 2


def test_shuffle_false_keeps_order_with_train_first():
    x_train, x_test = train_test_split(np.arange(10), test_size=3, shuffle=False)
    np.testing.assert_array_equal(x_train, np.arange(7))
    np.testing.assert_array_equal(x_test, [7, 8, 9])


def test_two_d_arrays_split_along_the_first_axis():
    x = np.arange(30).reshape(10, 3)
    x_train, x_test = train_test_split(x, test_size=0.3, random_state=0)
    assert x_train.shape == (7, 3) and x_test.shape == (3, 3)
    assert np.all(x_train[:, 1] == x_train[:, 0] + 1)


# --- stratification --------------------------------------------------------


@pytest.mark.parametrize("test_size", [0.2, 0.25, 0.5, 17])
@pytest.mark.parametrize("seed", [0, 1])
def test_stratified_class_counts_match_sklearn_within_one(test_size, seed):
    y = np.repeat(np.arange(4), [40, 25, 10, 7])  # unbalanced classes
    x = np.arange(len(y))
    ref = sklearn.model_selection.train_test_split(x, y, test_size=test_size, stratify=y, random_state=seed)
    got = train_test_split(x, y, test_size=test_size, stratify=y, random_state=seed)
    for ref_part, got_part in zip(ref[2:], got[2:]):
        assert len(got_part) == len(ref_part)
        assert np.abs(np.bincount(got_part, minlength=4) - np.bincount(ref_part, minlength=4)).max() <= 1
    np.testing.assert_array_equal(y[got[0]], got[2])  # labels still line up with samples


def test_stratified_split_of_balanced_classes_is_exact():
    y = np.repeat(np.arange(5), 20)
    _, _, y_train, y_test = train_test_split(np.arange(100), y, test_size=0.2, stratify=y, random_state=0)
    # 20 per class * 0.2 = exactly 4 per class in test, 16 in train.
    assert np.bincount(y_test).tolist() == [4] * 5
    assert np.bincount(y_train).tolist() == [16] * 5


def test_stratify_by_string_labels():
    y = np.array(["cat", "dog"] * 10)
    _, _, _, y_test = train_test_split(np.arange(20), y, test_size=0.5, stratify=y, random_state=0)
    assert sorted(y_test.tolist()) == ["cat"] * 5 + ["dog"] * 5


@pytest.mark.parametrize(
    "kwargs, error, fragment",
    [
        (dict(stratify=np.array([0] * 9 + [1])), DataError, "only 1 member"),
        (dict(stratify=np.arange(10) % 5, test_size=3), ConfigError, "test set \\(3 samples\\)"),
        (dict(stratify=np.arange(10) % 2, shuffle=False), ConfigError, "shuffle=True"),
        (dict(stratify=np.arange(9) % 2), DataError, "one label per sample"),
    ],
)
def test_bad_stratify_is_rejected(kwargs, error, fragment):
    with pytest.raises(ValueError):  # the reference rejects it too
        sklearn.model_selection.train_test_split(np.arange(10), **kwargs)
    with pytest.raises(error, match=fragment):
        train_test_split(np.arange(10), **kwargs)


# --- argument errors ---------------------------------------------------------


def test_inconsistent_lengths_are_reported():
    with pytest.raises(DataError, match=r"got lengths \[10, 9\]"):
        train_test_split(np.arange(10), np.arange(9))


def test_no_arrays_is_an_error():
    with pytest.raises(ConfigError, match="at least one array"):
        train_test_split()


def test_scalar_argument_is_rejected():
    with pytest.raises(ArgumentTypeError, match="array-like"):
        train_test_split(np.arange(4), 3)


def test_bad_random_state_is_rejected():
    with pytest.raises(ArgumentTypeError, match="Received: random_state='seed'"):
        train_test_split(np.arange(4), random_state="seed")
