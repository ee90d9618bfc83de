"""image_dataset_from_directory: Keras semantics on a folder of PNG files written here with Pillow."""

import numpy as np
import pytest
import torch
from PIL import Image

import cnnlab as keras
from cnnlab.data import image_folder
from cnnlab.errors import ConfigError, DataError, DatasetNotFoundError, FileFormatError
from cnnlab.utils import image_dataset_from_directory


def _folder(root, counts={"cat": 3, "dog": 2}, size=(6, 4)):
    """Class sub-folders of solid images; pixel value = 100 * class id + 10 * image index."""
    for label, (name, n) in enumerate(counts.items()):
        (root / name).mkdir(parents=True)
        for i in range(n):
            value = 100 * label + 10 * i
            Image.fromarray(np.full((size[1], size[0], 3), value, np.uint8)).save(root / name / f"{i}.png")
    return root


def _collect(dataset):
    xs, ys = zip(*dataset)
    return np.concatenate(xs), np.concatenate(ys)


def test_inferred_labels_class_names_and_float_pixels(tmp_path):
    ds = image_dataset_from_directory(_folder(tmp_path), image_size=(4, 6), batch_size=2, shuffle=False, verbose=False)
    assert ds.class_names == ["cat", "dog"] and len(ds) == 3  # 5 images in batches of 2
    x, y = _collect(ds)
    assert x.dtype == np.float32 and x.shape == (5, 4, 6, 3) and y.dtype == np.int32
    assert y.tolist() == [0, 0, 0, 1, 1]
    # solid images keep their value through the resize: 100*label + 10*index
    assert x[:, 0, 0, 0].tolist() == [0.0, 10.0, 20.0, 100.0, 110.0]


def test_label_modes_and_grayscale(tmp_path):
    root = _folder(tmp_path)
    options = dict(image_size=(3, 3), shuffle=False, verbose=False)
    x, y = _collect(image_dataset_from_directory(root, label_mode="categorical", color_mode="grayscale", **options))
    assert x.shape == (5, 3, 3, 1) and y.tolist() == [[1, 0]] * 3 + [[0, 1]] * 2
    _, y = _collect(image_dataset_from_directory(root, label_mode="binary", **options))
    assert y.shape == (5, 1) and y.dtype == np.float32
    images = next(iter(image_dataset_from_directory(root, labels=None, **options)))
    # a tensor, as TF's dataset yields (the old class yielded NumPy arrays); .numpy() gives the array
    assert isinstance(images, torch.Tensor) and images.numpy().shape == (5, 3, 3, 3)


def test_class_names_choose_and_order_the_classes(tmp_path):
    ds = image_dataset_from_directory(_folder(tmp_path), class_names=["dog", "cat"], image_size=(2, 2),
                                      shuffle=False, verbose=False)
    assert _collect(ds)[1].tolist() == [0, 0, 1, 1, 1]


def test_validation_split_is_disjoint_and_covers_every_file(tmp_path):
    _folder(tmp_path, {"a": 6, "b": 4})
    train, val = image_dataset_from_directory(tmp_path, image_size=(2, 2), validation_split=0.3, subset="both",
                                              seed=3, verbose=False)
    assert len(val.file_paths) == 3 and len(train.file_paths) == 7  # int(0.3 * 10) for validation
    assert not set(train.file_paths) & set(val.file_paths)
    again = image_dataset_from_directory(tmp_path, image_size=(2, 2), validation_split=0.3, subset="validation",
                                         seed=3, verbose=False)
    assert again.file_paths == val.file_paths  # the same seed gives the same split


def test_shuffle_reorders_each_epoch_but_keeps_pairs(tmp_path):
    ds = image_dataset_from_directory(_folder(tmp_path, {"a": 10, "b": 10}), image_size=(2, 2), seed=1, verbose=False)
    first, second = _collect(ds), _collect(ds)
    assert not np.array_equal(first[1], second[1])
    for x, y in (first, second):  # each image's pixel value says its class: < 100 → a (0), else b (1)
        assert ((x[:, 0, 0, 0] >= 100).astype(int) == y).all()


def test_fit_evaluate_predict_accept_the_dataset(tmp_path):
    ds = image_dataset_from_directory(_folder(tmp_path), image_size=(4, 4), batch_size=2, verbose=False)
    model = keras.Sequential([keras.layers.Input((4, 4, 3)), keras.layers.Rescaling(1 / 255), keras.layers.Flatten(),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(ds, epochs=1, verbose=0)
    assert len(model.evaluate(ds, verbose=0)) == 2
    assert model.predict(ds, verbose=0).shape == (5, 2)


def test_missing_folder_file_and_empty_folder(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        image_dataset_from_directory(tmp_path / "nope")
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(DataError, match="is a file"):
        image_dataset_from_directory(tmp_path / "f.txt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no sub-folders"):
        image_dataset_from_directory(tmp_path / "empty")
    (tmp_path / "noimg" / "a").mkdir(parents=True)
    (tmp_path / "noimg" / "a" / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="holds no images"):
        image_dataset_from_directory(tmp_path / "noimg")


def test_unreadable_image_is_named(tmp_path):
    root = _folder(tmp_path)
    (root / "cat" / "broken.png").write_bytes(b"not a png")
    ds = image_dataset_from_directory(root, image_size=(2, 2), shuffle=False, verbose=False)
    with pytest.raises(FileFormatError, match="broken.png"):
        _collect(ds)


def test_images_over_the_pixel_bound_are_refused(tmp_path, monkeypatch):
    root = _folder(tmp_path, size=(6, 4))  # 24 pixels
    monkeypatch.setattr(image_folder, "MAX_IMAGE_PIXELS", 23)
    ds = image_dataset_from_directory(root, image_size=(2, 2), shuffle=False, verbose=False)
    with pytest.raises(FileFormatError, match=r"0\.png' is 6x4 = 24 pixels"):
        _collect(ds)


@pytest.mark.parametrize("kwargs, match", [
    ({"label_mode": "sparse"}, "label_mode"),
    ({"color_mode": "RGB"}, "Did you mean 'rgb'"),
    ({"image_size": 28}, "image_size"),
    ({"validation_split": 0.2}, "go together"),
    ({"validation_split": 0.2, "subset": "training"}, "seed"),
    ({"labels": None, "class_names": ["a"]}, "only valid"),
    ({"label_mode": "binary", "class_names": ["cat"]}, "exactly 2"),
])
def test_bad_arguments_are_named(tmp_path, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        image_dataset_from_directory(_folder(tmp_path), verbose=False, **kwargs)
