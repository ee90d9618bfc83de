"""Figures and arrays of cnnlab.inspect: content checks against NumPy references, not pixels."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

import cnnlab
from cnnlab import inspect, layers
from cnnlab.errors import ConfigError


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def tiny_cnn(activation="softmax"):
    return cnnlab.Sequential([layers.Input(shape=(6, 6, 2)), layers.Conv2D(4, 3, activation="relu", name="c1"),
                              layers.Conv2D(3, 3, padding="same", name="c2"), layers.Flatten(),
                              layers.Dense(3, activation=activation, name="out")])


def images(n=5, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 6, 6, 2)).astype("float32")


# ----------------------------------------------------------------------------- curves
def test_plot_history_has_one_axes_per_metric_and_marks_best_validation_epoch():
    hist = {"loss": [1.0, 0.5, 0.4], "val_loss": [1.1, 0.6, 0.7], "accuracy": [0.5, 0.7, 0.8],
            "val_accuracy": [0.4, 0.9, 0.8]}
    fig = inspect.plot_history(hist)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    stars = [line for ax in fig.axes for line in ax.lines if line.get_marker() == "*"]
    # best val_loss is 0.6 at epoch 2 (minimum); best val_accuracy is 0.9 at epoch 2 (maximum)
    assert [(s.get_xdata()[0], s.get_ydata()[0]) for s in stars] == [(2, 0.6), (2, 0.9)]
    assert fig.axes[0].get_xlabel() == "epoch"


def test_plot_history_reads_a_csv_logger_file_and_saves_png(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("epoch,loss,val_loss\n0,2.0,2.5\n1,1.0,1.5\n")
    fig = inspect.plot_history(str(path), save_path=tmp_path / "h.png")
    assert [line.get_label() for line in fig.axes[0].lines][:2] == ["training", "validation"]
    assert (tmp_path / "h.png").read_bytes()[:4] == b"\x89PNG"


def test_plot_history_unknown_metric_suggests_the_closest():
    with pytest.raises(ConfigError, match="accuracy"):
        inspect.plot_history({"loss": [1.0], "accuracy": [0.5]}, metrics=["acuracy"])


# ---------------------------------------------------------------------------- weights
def test_plot_weights_histogram_has_one_axes_per_weight():
    model = tiny_cnn()
    fig = inspect.plot_weights_histogram(model)
    assert [ax.get_title().split()[0] for ax in fig.axes] == [v.path for v in model.weights]


def test_plot_filters_shares_a_symmetric_diverging_scale():
    model = tiny_cnn()
    conv = model.get_layer("c1")
    fig = inspect.plot_filters(conv, input_channel=1)
    shown = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(shown) == 4
    limit = np.abs(conv.get_weights()[0][:, :, 1, :]).max()
    for i, image in enumerate(shown):
        assert image.get_clim() == pytest.approx((-limit, limit))
        assert image.get_cmap().name == "RdBu_r"
        np.testing.assert_allclose(image.get_array(), conv.get_weights()[0][:, :, 1, i])
    assert any(ax.get_ylabel() == "weight" for ax in fig.axes)  # the colorbar


def test_plot_filters_rejects_bad_channel_and_non_conv_layer():
    model = tiny_cnn()
    with pytest.raises(ConfigError, match="Received: input_channel=2"):
        inspect.plot_filters(model.get_layer("c1"), input_channel=2)
    with pytest.raises(ConfigError, match="no 4-D convolution kernel"):
        inspect.plot_filters(model.get_layer("out"))


# ------------------------------------------------------------------------ feature maps
def test_feature_maps_equal_a_submodel_output_for_sequential_and_functional():
    model = tiny_cnn()
    x = images()
    expected = cnnlab.Model(model.input, model.get_layer("c2").output).predict(x, verbose=0)
    np.testing.assert_allclose(inspect.feature_maps(model, x, "c2"), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(inspect.feature_maps(model, x, 1), expected, rtol=1e-5, atol=1e-6)
    functional = cnnlab.Model(model.input, model.output)
    np.testing.assert_allclose(inspect.feature_maps(functional, x, model.get_layer("c2")), expected, rtol=1e-5,
                               atol=1e-6)


class TwoConv(cnnlab.Model):
    def __init__(self):
        super().__init__()
        self.a = layers.Conv2D(3, 3, activation="relu", name="a")
        self.b = layers.Conv2D(2, 3, name="b")
        self.flat = layers.Flatten()
        self.out = layers.Dense(2, activation="softmax", name="sub_out")

    def call(self, x):
        return self.out(self.flat(self.b(self.a(x))))


def test_feature_maps_of_a_subclassed_model_equal_running_its_layers():
    model = TwoConv()
    x = images(3)
    model(x)
    expected = model.b(model.a(torch.as_tensor(x))).detach().numpy()
    np.testing.assert_allclose(inspect.feature_maps(model, x, "b"), expected, rtol=1e-5, atol=1e-6)


def test_feature_maps_of_one_image_drop_the_batch_axis():
    model = tiny_cnn()
    x = images(2)
    np.testing.assert_allclose(inspect.feature_maps(model, x[0], "c1"), inspect.feature_maps(model, x, "c1")[0],
                               rtol=1e-5, atol=1e-6)


def test_plot_feature_maps_shows_input_then_each_channel():
    fig = inspect.plot_feature_maps(tiny_cnn(), images(1)[0], "c1", max_maps=3)
    titles = [ax.get_title() for ax in fig.axes if ax.images]
    assert titles == ["input", "#0", "#1", "#2"]


# ---------------------------------------------------------------------- grad-cam, saliency
def bright_corner_model():
    """Conv 1x1 (weight 1, relu) -> global average -> Dense [1, -1]: class 0's score is the mean brightness."""
    model = cnnlab.Sequential([layers.Input(shape=(8, 8, 1)), layers.Conv2D(1, 1, activation="relu", name="conv"),
                               layers.GlobalAveragePooling2D(), layers.Dense(2, activation="softmax")])
    model.layers[0].set_weights([np.ones((1, 1, 1, 1), "float32"), np.zeros(1, "float32")])
    model.layers[2].set_weights([np.array([[1.0, -1.0]], "float32"), np.zeros(2, "float32")])
    x = np.zeros((8, 8, 1), "float32")
    x[:3, :3] = 1.0  # the informative region: top-left
    return model, x


def test_grad_cam_is_in_unit_range_at_input_size_and_peaks_on_the_informative_region():
    model, x = bright_corner_model()
    heat = inspect.grad_cam(model, x, class_index=0)
    assert heat.shape == (8, 8)
    assert heat.min() >= 0 and heat.max() == pytest.approx(1.0)
    assert heat[:3, :3].mean() > 0.9 and heat[5:, 5:].max() < 0.1


def test_grad_cam_uses_the_score_before_softmax():
    model = tiny_cnn("softmax")
    linear = tiny_cnn(None)
    linear.set_weights(model.get_weights())
    x = images(3)
    np.testing.assert_allclose(inspect.grad_cam(model, x, class_index=1), inspect.grad_cam(linear, x, class_index=1),
                               atol=1e-5)


def test_grad_cam_works_on_subclassed_models_and_named_layers():
    model = TwoConv()
    x = images(2)
    model(x)
    assert inspect.grad_cam(model, x).shape == (2, 6, 6)
    assert inspect.grad_cam(model, x, layer="a").shape == (2, 6, 6)
    assert not model.out._emit_logits  # restored


def test_saliency_of_a_linear_model_is_the_absolute_weight_max_over_channels():
    model = cnnlab.Sequential([layers.Input(shape=(3, 3, 2)), layers.Flatten(), layers.Dense(4)])
    kernel = model.layers[1].get_weights()[0]  # (18, 4), flattened channels-last
    x = np.random.default_rng(1).normal(size=(3, 3, 2)).astype("float32")
    expected = np.abs(kernel[:, 2].reshape(3, 3, 2)).max(axis=-1)  # d(x . w_c)/dx = w_c
    np.testing.assert_allclose(inspect.saliency(model, x, class_index=2), expected, rtol=1e-6)


def test_grad_cam_rejects_out_of_range_class():
    with pytest.raises(ConfigError, match="Received: class_index=3"):
        inspect.grad_cam(tiny_cnn(), images(1), class_index=3)


def test_plot_grad_cam_has_two_rows_per_image_and_a_colorbar():
    fig = inspect.plot_grad_cam(tiny_cnn(), images(3), class_names=["a", "b", "c"])
    image_axes = [ax for ax in fig.axes if ax.images]
    assert len(image_axes) == 6
    assert image_axes[0].get_title().startswith("pred ")
    assert len(inspect.plot_saliency(tiny_cnn(), images(2)).axes) == 5  # 4 panels + colorbar


# ------------------------------------------------------------------------- confusion
def numpy_confusion(true, pred, n):
    cm = np.zeros((n, n), int)
    for t, p in zip(true, pred):
        cm[t, p] += 1
    return cm


def test_confusion_matrix_from_a_model_matches_a_numpy_count():
    model = tiny_cnn()
    x = images(20)
    y = np.random.default_rng(2).integers(0, 3, 20)
    predicted = model.predict(x, verbose=0).argmax(axis=1)
    np.testing.assert_array_equal(inspect.confusion_matrix(model, x, y), numpy_confusion(y, predicted, 3))


def test_confusion_matrix_from_predictions_and_one_hot_labels():
    scores = np.array([[0.9, 0.1, 0], [0.2, 0.8, 0], [0.1, 0.2, 0.7], [0.6, 0.3, 0.1]])
    one_hot = np.eye(3)[[0, 1, 1, 2]]
    np.testing.assert_array_equal(inspect.confusion_matrix(scores, y=one_hot),
                                  numpy_confusion([0, 1, 1, 2], [0, 1, 2, 0], 3))


def test_per_class_metrics_match_hand_computed_values():
    cm = np.array([[3, 1], [2, 4]])
    rows = inspect.per_class_metrics(cm, class_names=["cat", "dog"])
    # class 0: precision 3/(3+2) = 0.6, recall 3/(3+1) = 0.75, f1 = 2*0.6*0.75/1.35 = 0.6667, support 4
    assert rows[0] == pytest.approx({"class": "cat", "precision": 0.6, "recall": 0.75, "f1": 2 / 3, "support": 4})
    assert rows[1]["support"] == 6 and rows[1]["recall"] == pytest.approx(4 / 6)


def test_plot_confusion_matrix_writes_counts_names_and_rotated_ticks():
    cm = np.array([[5, 1], [0, 4]])
    fig = inspect.plot_confusion_matrix(cm, class_names=["cat", "dog"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == ["5", "1", "0", "4"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog"]
    assert ax.get_xticklabels()[0].get_rotation() == 45
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted", "true")
    normalised = inspect.plot_confusion_matrix(cm, normalize=True).axes[0]
    assert [t.get_text() for t in normalised.texts] == ["0.83", "0.17", "0.00", "1.00"]


def test_plot_misclassified_shows_each_mistake_with_true_and_predicted():
    model = tiny_cnn()
    x = images(12)
    predicted = model.predict(x, verbose=0).argmax(axis=1)
    y = predicted.copy()
    y[[1, 4, 7]] = (predicted[[1, 4, 7]] + 1) % 3
    fig = inspect.plot_misclassified(model, x, y, n=16, class_names=["a", "b", "c"])
    titles = [ax.get_title() for ax in fig.axes if ax.images]
    assert len(titles) == 3 and all(t.startswith("true ") and "\npred " in t for t in titles)
    assert len([ax for ax in inspect.plot_misclassified(model, x, y, n=2).axes if ax.images]) == 2
