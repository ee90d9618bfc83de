"""TensorBoard callback and cnnlab.summary, read back with TensorBoard's own event reader."""

import os

import numpy as np
import pytest

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

import cnnlab as keras  # noqa: E402
from cnnlab import summary  # noqa: E402
from cnnlab.callbacks.tensorboard import filter_images  # noqa: E402
from cnnlab.errors import ConfigError  # noqa: E402


def _read(folder):
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0, "images": 0, "tensors": 0})
    acc.Reload()
    return acc


def _tiny_model():
    model = keras.Sequential([
        keras.layers.Input((6, 6, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
        keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax"),
    ])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _data(n=40):
    rng = np.random.default_rng(0)
    return rng.random((n, 6, 6, 1), dtype=np.float32), rng.integers(0, 3, n)


def test_epoch_scalars_follow_keras_layout_and_match_history(tmp_path):
    x, y = _data()
    model = _tiny_model()
    history = model.fit(x, y, epochs=3, batch_size=10, validation_split=0.25, verbose=0,
                        callbacks=[keras.callbacks.TensorBoard(tmp_path)])
    train, val = _read(tmp_path / "train"), _read(tmp_path / "validation")
    for name in ("loss", "accuracy"):
        got = [e.value for e in train.Scalars(f"epoch_{name}")]
        np.testing.assert_allclose(got, history.history[name], rtol=1e-6)
        got_val = [e.value for e in val.Scalars(f"epoch_{name}")]
        np.testing.assert_allclose(got_val, history.history[f"val_{name}"], rtol=1e-6)
    assert [e.step for e in train.Scalars("epoch_loss")] == [0, 1, 2]
    assert [e.value for e in train.Scalars("epoch_learning_rate")] == pytest.approx([0.01] * 3)  # SGD's Keras default
    assert "batch_loss" not in train.Tags()["scalars"]  # update_freq="epoch"
    assert train.Tags()["graph"]  # write_graph=True by default


def test_graph_of_a_conv_pool_model_is_written_without_a_warning(tmp_path, recwarn):
    """Pooling and the fused Conv2D+ReLU+MaxPooling2D order take inference kernels: the trace must stay stable."""
    model = keras.Sequential([
        keras.layers.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2), keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax"),
    ])
    model.compile("sgd", "sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    model.fit(rng.random((8, 8, 8, 1), dtype=np.float32), rng.integers(0, 3, 8), verbose=0,
              callbacks=[keras.callbacks.TensorBoard(tmp_path)])
    assert not [w for w in recwarn if "graph was not written" in str(w.message)]
    assert _read(tmp_path / "train").Tags()["graph"]


def test_int_update_freq_writes_batch_scalars_every_n_batches(tmp_path):
    x, y = _data(40)  # 4 batches of 10 per epoch, 2 epochs → global steps 1..8
    _tiny_model().fit(x, y, epochs=2, batch_size=10, verbose=0,
                      callbacks=[keras.callbacks.TensorBoard(tmp_path, update_freq=3, write_graph=False)])
    steps = [e.step for e in _read(tmp_path / "train").Scalars("batch_loss")]
    assert steps == [3, 6]


def test_histograms_and_first_layer_filter_images(tmp_path):
    x, y = _data()
    model = _tiny_model()
    model.fit(x, y, epochs=2, batch_size=20, verbose=0,
              callbacks=[keras.callbacks.TensorBoard(tmp_path, histogram_freq=2, write_images=True, write_graph=False)])
    tags = _read(tmp_path / "train").Tags()
    conv = model.layers[0].name
    assert f"{conv}/kernel/histogram" in tags["histograms"]
    assert len(_read(tmp_path / "train").Histograms(f"{conv}/kernel/histogram")) == 1  # epoch 0 only (freq 2)
    assert tags["images"] == [f"{conv}/filters"]


def test_filter_images_share_a_symmetric_scale():
    kernel = np.zeros((2, 2, 1, 2), np.float32)
    kernel[0, 0, 0, 0], kernel[1, 1, 0, 1] = 2.0, -1.0  # largest magnitude 2 → 1.0; -1 → 0.5 - 1/4 = 0.25
    import torch

    images = filter_images(torch.from_numpy(kernel), zoom=1)
    assert images.shape == (2, 2, 2, 1)
    assert images[0, 0, 0, 0] == pytest.approx(1.0)
    assert images[1, 1, 1, 0] == pytest.approx(0.25)
    assert images[0, 1, 0, 0] == pytest.approx(0.5)  # a zero weight is mid-grey


def test_non_chief_process_writes_nothing(tmp_path, monkeypatch):
    import cnnlab.callbacks.tensorboard as tensorboard_module

    monkeypatch.setattr(tensorboard_module, "is_chief", lambda: False)  # as on rank 1 of a distributed run
    x, y = _data()
    callback = keras.callbacks.TensorBoard(tmp_path / "logs")
    _tiny_model().fit(x, y, epochs=1, verbose=0, callbacks=[callback])
    assert not (tmp_path / "logs").exists()


def test_untraceable_model_skips_the_graph_with_a_warning(tmp_path, monkeypatch):
    x, y = _data()
    monkeypatch.setattr(summary.FileWriter, "graph", lambda self, m, e: (_ for _ in ()).throw(RuntimeError("no")))
    with pytest.warns(UserWarning, match="graph was not written"):
        _tiny_model().fit(x, y, epochs=1, verbose=0, callbacks=[keras.callbacks.TensorBoard(tmp_path)])
    assert _read(tmp_path / "train").Scalars("epoch_loss")


@pytest.mark.parametrize("kwargs", [{"update_freq": "step"}, {"update_freq": 0}, {"histogram_freq": -1},
                                    {"profile_batch": 5}])
def test_bad_arguments_fail_in_the_constructor(kwargs):
    with pytest.raises(ConfigError, match="Received"):
        keras.callbacks.TensorBoard(**kwargs)


def test_file_writer_scalar_image_histogram_text(tmp_path):
    with summary.create_file_writer(tmp_path) as writer:
        for step in range(3):
            assert summary.scalar("custom/value", 0.5 * step, step=step)
        writer.image("pics", np.ones((2, 4, 4, 1), np.float32), step=0)
        writer.histogram("weights", np.arange(10.0), step=0)
        writer.text("note", "hello", step=0)
    acc = _read(tmp_path)
    assert [e.value for e in acc.Scalars("custom/value")] == [0.0, 0.5, 1.0]
    assert acc.Tags()["images"] == ["pics"]
    histogram = acc.Histograms("weights")[0].histogram_value
    assert (histogram.num, histogram.min, histogram.max, histogram.sum) == (10, 0.0, 9.0, 45.0)
    assert "note/text_summary" in acc.Tags()["tensors"]


def test_module_functions_without_a_default_writer_write_nothing():
    assert summary.scalar("x", 1.0, step=0) is False


def test_scalar_needs_a_step_and_a_single_number(tmp_path):
    writer = summary.create_file_writer(tmp_path)
    with pytest.raises(ConfigError, match="step"):
        writer.scalar("x", 1.0, step=None)
    with pytest.raises(ValueError, match="single number"):
        writer.scalar("x", [1.0, 2.0], step=0)
    writer.close()


def test_missing_tensorboard_names_the_extra(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name.startswith("torch.utils.tensorboard"):
            raise ImportError("No module named 'tensorboard'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    with pytest.raises(ConfigError, match=r"pip install 'cnnlab\[tensorboard\]'"):
        summary.create_file_writer(os.devnull + "_dir")


class _SubclassedNet(keras.Model):
    def __init__(self):
        super().__init__()
        self.conv = keras.layers.Conv2D(4, 3, activation="relu")
        self.flat = keras.layers.Flatten()
        self.out = keras.layers.Dense(3)

    def call(self, x):
        return self.out(self.flat(self.conv(x)))


def test_graph_of_a_subclassed_model_is_written_without_a_warning(tmp_path, recwarn):
    x, y = _data()
    model = _SubclassedNet()
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model(x[:2])  # built, but it has no symbolic input: the graph is traced on a zero batch
    model.fit(x, y, epochs=1, verbose=0, callbacks=[keras.callbacks.TensorBoard(tmp_path)])
    assert not [w for w in recwarn if "graph was not written" in str(w.message)]
    assert _read(tmp_path / "train").Tags()["graph"]


def test_graph_warning_points_at_the_users_line_and_is_not_cut_mid_word(tmp_path, monkeypatch):
    x, y = _data()
    long_reason = "tracing hit " + "something unusual " * 40
    monkeypatch.setattr(summary.FileWriter, "graph",
                        lambda self, m, e: (_ for _ in ()).throw(RuntimeError(long_reason)))
    with pytest.warns(UserWarning, match="graph was not written") as record:
        _tiny_model().fit(x, y, epochs=1, verbose=0, callbacks=[keras.callbacks.TensorBoard(tmp_path)])
    warning = next(w for w in record if "graph was not written" in str(w.message))
    assert warning.filename == __file__
    message = str(warning.message)
    assert "unusual …)" in message and "write_graph=False" in message


def test_subclassed_model_input_is_an_attribute_error_as_in_keras():
    model = _SubclassedNet()
    assert not hasattr(model, "input")
    with pytest.raises(AttributeError, match="subclassed model"):
        model.output
