"""``fit``/``evaluate``/``predict`` from a :class:`cnnlab.data.Dataset`: equal to the same batches from arrays."""

import warnings

import numpy as np
import pytest
import torch

import cnnlab as keras
from cnnlab.data import Dataset
from cnnlab.errors import ArgumentTypeError, ConfigError

N, BATCH = 40, 8


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((N, 6, 6, 1)).astype("float32"), rng.integers(0, 3, N)


def _model(seed=1):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.Flatten(), keras.layers.Dropout(0.0),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _weights(model):
    return [w.copy() for w in model.get_weights()]


def _assert_same_weights(a, b):
    for wa, wb in zip(_weights(a), _weights(b)):
        np.testing.assert_allclose(wa, wb, rtol=1e-6, atol=1e-7)


def test_fit_from_a_batched_dataset_equals_fit_from_arrays_with_the_same_batches():
    x, y = _data()
    from_arrays, from_dataset = _model(), _model()
    h_arrays = from_arrays.fit(x, y, batch_size=BATCH, epochs=3, shuffle=False, verbose=0)
    ds = Dataset.from_tensor_slices((x, y)).batch(BATCH)
    h_dataset = from_dataset.fit(ds, epochs=3, verbose=0)
    _assert_same_weights(from_arrays, from_dataset)
    for key in ("loss", "accuracy"):
        np.testing.assert_allclose(h_dataset.history[key], h_arrays.history[key], rtol=1e-6)


def test_fit_from_a_shuffled_dataset_equals_fit_from_arrays_in_the_order_the_dataset_gives():
    x, y = _data()
    ds = Dataset.from_tensor_slices((x, np.arange(N))).shuffle(N, seed=7, reshuffle_each_iteration=False)
    order = np.array([int(i) for _, i in ds])
    assert sorted(order.tolist()) == list(range(N)) and order.tolist() != list(range(N))
    from_arrays, from_dataset = _model(), _model()
    from_arrays.fit(x[order], y[order], batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    shuffled = Dataset.from_tensor_slices((x, y)).shuffle(N, seed=7, reshuffle_each_iteration=False).batch(BATCH)
    from_dataset.fit(shuffled, epochs=2, verbose=0)
    _assert_same_weights(from_arrays, from_dataset)


def test_validation_data_class_weight_evaluate_and_predict_from_datasets_equal_arrays():
    x, y = _data()
    vx, vy = _data(seed=3)
    cw = {0: 1.0, 1: 2.0, 2: 0.5}
    a, d = _model(), _model()
    ha = a.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, class_weight=cw, validation_data=(vx, vy), verbose=0)
    hd = d.fit(Dataset.from_tensor_slices((x, y)).batch(BATCH), epochs=2, class_weight=cw,
               validation_data=Dataset.from_tensor_slices((vx, vy)).batch(16), verbose=0)
    _assert_same_weights(a, d)
    np.testing.assert_allclose(hd.history["val_loss"], ha.history["val_loss"], rtol=1e-6)
    np.testing.assert_allclose(d.evaluate(Dataset.from_tensor_slices((vx, vy)).batch(16), verbose=0),
                               a.evaluate(vx, vy, verbose=0), rtol=1e-6)
    np.testing.assert_allclose(d.predict(Dataset.from_tensor_slices(vx).batch(16), verbose=0),
                               a.predict(vx, verbose=0), rtol=1e-6)


def test_an_image_dataset_mapped_with_a_layer_trains_like_the_rescaled_arrays():
    x, y = _data()
    raw = (x * 255).round().astype("float32")
    a, d = _model(), _model()
    a.fit(raw / 255.0, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    rescale = keras.layers.Rescaling(1 / 255.0)
    ds = Dataset.from_tensor_slices((raw, y)).batch(BATCH).map(lambda images, labels: (rescale(images), labels))
    d.fit(ds.prefetch(-1), epochs=1, verbose=0)
    _assert_same_weights(a, d)


def test_a_repeated_dataset_needs_steps_per_epoch_and_is_walked_on_across_epochs():
    x, y = _data()
    model = _model()
    infinite = Dataset.from_tensor_slices((x, y)).batch(BATCH).repeat()
    with pytest.raises(ConfigError, match="steps_per_epoch"):
        model.fit(infinite, epochs=1, verbose=0)
    seen = []

    class Count(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(batch)

    model.fit(infinite, epochs=3, steps_per_epoch=2, verbose=0, callbacks=[Count()])
    assert seen == [0, 1] * 3


def test_a_finite_dataset_that_runs_out_before_steps_per_epoch_warns_as_keras():
    x, y = _data()
    model = _model()
    ds = Dataset.from_tensor_slices((x, y)).batch(BATCH)  # 5 batches
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(ds, epochs=1, steps_per_epoch=7, verbose=0)
    assert any("ran out of data" in str(w.message) for w in caught)
    assert len(history.history["loss"]) == 1


def test_labels_passed_beside_a_dataset_and_validation_split_are_refused_with_the_fix():
    x, y = _data()
    model = _model()
    ds = Dataset.from_tensor_slices((x, y)).batch(BATCH)
    with pytest.raises(ArgumentTypeError, match=r"from_tensor_slices\(\(x, y\)\)"):
        model.fit(Dataset.from_tensor_slices(x).batch(BATCH), y, verbose=0)
    with pytest.raises(ConfigError, match="validation_split works with arrays only"):
        model.fit(ds, validation_split=0.2, verbose=0)


def test_dict_elements_feed_named_inputs_as_keras_does():
    rng = np.random.default_rng(0)
    a_in, b_in = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    out = keras.layers.Dense(1)(keras.layers.Concatenate()([a_in, b_in]))
    model = keras.Model([a_in, b_in], out)
    model.compile("sgd", "mse")
    xa, xb = rng.random((8, 3)).astype("float32"), rng.random((8, 2)).astype("float32")
    ds = Dataset.from_tensor_slices({"a": xa, "b": xb}).batch(4)
    expected = model.predict({"a": xa, "b": xb}, verbose=0)
    np.testing.assert_allclose(model.predict(ds, verbose=0), expected, rtol=1e-6)
    labelled = Dataset.from_tensor_slices(({"a": xa, "b": xb}, rng.random((8, 1)).astype("float32"))).batch(4)
    assert np.isfinite(model.fit(labelled, verbose=0).history["loss"][0])


def test_fit_from_a_dataset_does_not_hand_eager_tensors_to_the_step():
    x, y = _data()
    model = _model()
    seen = []
    original = type(model).train_step

    def recording(self, data):
        seen.append(type(data[0]))
        return original(self, data)

    model.train_step = recording.__get__(model)
    model.fit(Dataset.from_tensor_slices((x, y)).batch(BATCH).take(1), verbose=0)
    assert seen == [torch.Tensor]
