"""cnnlab.data.Dataset against real tf.data: the deterministic operations give the same elements, shapes, dtypes,
cardinality and element_spec; image_dataset_from_directory reads a generated folder as Keras on TensorFlow does."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

import cnnlab  # noqa: E402
from cnnlab.data import Dataset  # noqa: E402

X = np.arange(24, dtype=np.float32).reshape(12, 2)
Y = np.arange(12, dtype=np.int64) % 3


def _pipelines(D):
    """The same pipelines written once, run with D = tf.data.Dataset or cnnlab.data.Dataset."""
    pairs = lambda: D.from_tensor_slices((X, Y))  # noqa: E731
    return {
        "batch": pairs().batch(5),
        "batch_drop": pairs().batch(5, drop_remainder=True),
        "take_skip": pairs().skip(3).take(4),
        "repeat": pairs().repeat(2).batch(7),
        "repeat_take": D.range(3).repeat().take(8),
        "unbatch": pairs().batch(4).unbatch(),
        "filter": pairs().filter(lambda x, y: y == 1),
        "zip": D.zip((D.range(5), D.range(10, 20))),
        "zip_dict": D.zip({"a": D.range(3), "b": D.range(3, 6)}).batch(2),
        "concatenate": D.range(3).concatenate(D.range(7, 9)).batch(2),
        "enumerate": D.range(10, 13).enumerate(start=2),
        "map_tuple": pairs().map(lambda x, y: (x * 2.0, y + 1)).batch(4),
        "map_batched": pairs().batch(4).map(lambda x, y: (x / 4.0, y)),
        "dict": D.from_tensor_slices({"image": X, "label": Y}).batch(3),
        "from_tensors": D.from_tensors((X[:2], Y[:2])).repeat(3),
        "range": D.range(2, 20, 5),
        "padded_batch": D.range(1, 5).map(lambda n: D_fill(D, n)).padded_batch(3),
    }


def D_fill(D, n):
    """A length-n vector of ones (the tf and torch spelling of the same op)."""
    if D is Dataset:
        import torch
        return torch.ones(int(n), dtype=torch.int64)
    return tf.ones(tf.cast(n, tf.int32), dtype=tf.int64)


def _plain(element):
    if isinstance(element, tuple):
        return tuple(_plain(e) for e in element)
    if isinstance(element, dict):
        return {k: _plain(v) for k, v in element.items()}
    array = element.numpy()
    return array.dtype.name, array.shape, array.tolist()


def _spec(spec):
    if isinstance(spec, tuple):
        return tuple(_spec(s) for s in spec)
    if isinstance(spec, dict):
        return {k: _spec(v) for k, v in spec.items()}
    shape = spec.shape if isinstance(spec.shape, tuple) else tuple(spec.shape.as_list())
    dtype = spec.dtype if isinstance(spec.dtype, str) else spec.dtype.name
    return shape, dtype


NAMES = list(_pipelines(Dataset))
SPEC_DIFFERS = {"padded_batch"}  # TF traces map_func (shape (None,)); cnnlab reads the first element's shape


@pytest.mark.parametrize("name", NAMES)
def test_same_elements_cardinality_and_spec_as_tf_data(name):
    ours, theirs = _pipelines(Dataset)[name], _pipelines(tf.data.Dataset)[name]
    assert [_plain(e) for e in ours] == [_plain(e) for e in theirs]
    assert ours.cardinality() == int(theirs.cardinality())
    if name not in SPEC_DIFFERS:
        assert _spec(ours.element_spec) == _spec(theirs.element_spec)


def test_shuffle_is_a_permutation_with_the_same_cardinality_as_tf():
    ours = Dataset.from_tensor_slices((X, Y)).shuffle(100, seed=1).batch(5)
    theirs = tf.data.Dataset.from_tensor_slices((X, Y)).shuffle(100, seed=1).batch(5)
    assert ours.cardinality() == int(theirs.cardinality()) == 3
    assert _spec(ours.element_spec) == _spec(theirs.element_spec)
    assert sorted(y for _, ys in ours for y in ys.tolist()) == sorted(Y.tolist())


def test_len_and_repr_name_as_tf():
    for D in (Dataset, tf.data.Dataset):
        with pytest.raises(TypeError):
            len(D.range(3).repeat())
    assert repr(Dataset.range(3).batch(2)).split(" ")[0] == repr(tf.data.Dataset.range(3).batch(2)).split(" ")[0]


@pytest.fixture
def folder(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for label, name in enumerate(["cats", "dogs", "owls"]):
        (tmp_path / name).mkdir()
        for i in range(3 + label):
            Image.fromarray(rng.integers(0, 255, (10, 12, 3), dtype=np.uint8)).save(tmp_path / name / f"{i}.png")
    return tmp_path


# At the files' own size no resize happens, so the pixels must be equal (grayscale within 1: Pillow and libpng
# round the luma weights differently). Resized, only shapes are compared: Pillow's bilinear filter averages the
# whole source footprint when shrinking, tf.image.resize (antialias=False) samples 4 neighbours.
@pytest.mark.parametrize("options, atol", [
    (dict(image_size=(10, 12), batch_size=4), 0),
    (dict(image_size=(10, 12), batch_size=None, label_mode="categorical"), 0),
    (dict(image_size=(10, 12), batch_size=3, color_mode="grayscale", label_mode="binary",
          class_names=["dogs", "owls"]), 1),
    (dict(image_size=(6, 5), batch_size=5), None),
])
def test_image_dataset_from_directory_matches_keras_for_shuffle_false(folder, options, atol):
    ours = cnnlab.utils.image_dataset_from_directory(folder, shuffle=False, verbose=False, **options)
    theirs = keras.utils.image_dataset_from_directory(folder, shuffle=False, verbose=False, **options)
    assert ours.class_names == theirs.class_names
    assert list(ours.file_paths) == list(theirs.file_paths)
    assert ours.cardinality() == int(theirs.cardinality())
    assert _spec(ours.element_spec) == _spec(theirs.element_spec)
    a, b = list(ours), list(theirs)
    assert len(a) == len(b)
    for (xa, ya), (xb, yb) in zip(a, b):
        assert tuple(xa.shape) == tuple(xb.shape) and tuple(ya.shape) == tuple(yb.shape)
        assert xa.numpy().dtype == xb.numpy().dtype and ya.numpy().dtype == yb.numpy().dtype
        np.testing.assert_array_equal(ya.numpy(), yb.numpy())
        if atol is not None:
            np.testing.assert_allclose(xa.numpy(), xb.numpy(), atol=atol)


def test_image_dataset_validation_split_takes_the_same_files_as_keras(folder):
    options = dict(image_size=(10, 12), batch_size=5, validation_split=0.25, seed=3, verbose=False)
    for subset in ("training", "validation"):
        ours = cnnlab.utils.image_dataset_from_directory(folder, subset=subset, **options)
        theirs = keras.utils.image_dataset_from_directory(folder, subset=subset, **options)
        assert sorted(ours.file_paths) == sorted(theirs.file_paths)
        assert ours.cardinality() == int(theirs.cardinality())
