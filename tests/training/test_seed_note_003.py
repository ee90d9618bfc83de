"""Study note 003 (tf.keras, LeNet-5, callbacks, optimizers, regularisation), every code cell run with ``import cnnlab as keras``.

The note trains on MNIST for up to 80 epochs; here scikit-learn's 8x8 digits,
upsampled to 28x28 (each pixel a 4x4 block of a 32x32 image, cropped by 2 on
every side), stand in for it, and every fit runs a few steps. What the note
prints that does not depend on the random draw is asserted exactly: output
shapes, parameter counts, the hand-computed losses and accuracy of its small
examples; the training cells are checked for what they promise (the loss
goes down, the callbacks act, files are written and read back).
"""

import csv
import math

import numpy as np
import pytest
import torch

import cnnlab as keras
from cnnlab import callbacks, layers, optimizers, regularizers
from cnnlab.datasets import digits
from cnnlab.layers import Conv2D, Dense, Flatten, MaxPooling2D
from cnnlab.models import Model, Sequential

num_classes = 10
img_rows, img_cols, img_ch = 28, 28, 1
input_shape = (img_rows, img_cols, img_ch)

# LeNet-5 with 'same' first convolution on 28x28x1 (the note's variant):
# conv 5*5*1*6+6 = 156, conv 5*5*6*16+16 = 2416, dense 400*120+120 = 48120,
# dense 120*84+84 = 10164, dense 84*10+10 = 850; total 61,706.
LENET_ROWS = [
    ((None, 28, 28, 6), 156), ((None, 14, 14, 6), 0), ((None, 10, 10, 16), 2416), ((None, 5, 5, 16), 0),
    ((None, 400), 0), ((None, 120), 48120), ((None, 84), 10164), ((None, 10), 850),
]
LENET_PARAMS = 61_706
# The chapter-2 MLP: Flatten 784 -> Dense 128 (784*128+128 = 100,480) -> Dense 10 (128*10+10 = 1,290).
MLP_PARAMS = [0, 100_480, 1_290]


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Small models train fastest on one thread; two threads spin against each other on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def mnist_like():
    """The note's preprocessing cell on digits: scale to [0, 1], reshape to (n, 28, 28, 1); a small subset."""
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    x_train, x_test = x_train / 255.0, x_test / 255.0
    upsample = lambda x: np.kron(x, np.ones((1, 4, 4)))[:, 2:30, 2:30].astype(np.float32)
    x_train, x_test = upsample(x_train[:256]), upsample(x_test[:64])
    x_train = x_train.reshape(x_train.shape[0], *input_shape)
    x_test = x_test.reshape(x_test.shape[0], *input_shape)
    assert x_train.shape == (256, 28, 28, 1) and x_test.shape == (64, 28, 28, 1)
    assert x_train.min() == 0.0 and x_train.max() == 1.0
    return (x_train, y_train[:256].astype(np.int64)), (x_test, y_test[:64].astype(np.int64))


def _numpy(tensor):
    return tensor.detach().cpu().numpy()


def _rows(model):
    return [(layer.output.shape, layer.count_params()) for layer in model.layers]


def _cross_entropy(model, x, y) -> float:
    """Mean sparse cross-entropy of the model's softmax outputs, computed in float64 with NumPy."""
    probs = model.predict(x, verbose=0).astype(np.float64)
    return float(-np.mean(np.log(probs[np.arange(len(y)), y])))


def lenet(name="lenet"):
    model = Sequential(name=name)
    # 1st block:
    model.add(Conv2D(6, kernel_size=(5, 5), padding="same", activation="relu", input_shape=input_shape))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    # 2nd block:
    model.add(Conv2D(16, kernel_size=(5, 5), activation="relu"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    # Dense layers:
    model.add(Flatten())
    model.add(Dense(120, activation="relu"))
    model.add(Dense(84, activation="relu"))
    model.add(Dense(num_classes, activation="softmax"))
    return model


class LeNet5(Model):
    def __init__(self, num_classes):
        super().__init__()
        self.conv1 = Conv2D(6, kernel_size=(5, 5), padding="same", activation="relu")
        self.conv2 = Conv2D(16, kernel_size=(5, 5), activation="relu")
        self.max_pool = MaxPooling2D(pool_size=(2, 2))
        self.flatten = Flatten()
        self.dense1 = Dense(120, activation="relu")
        self.dense2 = Dense(84, activation="relu")
        self.dense3 = Dense(num_classes, activation="softmax")

    def call(self, inputs):
        x = self.max_pool(self.conv1(inputs))  # 1st block
        x = self.max_pool(self.conv2(x))  # 2nd block
        x = self.flatten(x)
        return self.dense3(self.dense2(self.dense1(x)))  # dense layers


def _mlp(declare_input=True):
    """The chapter-2 model; the note declares no input shape, so it is built by the first fit."""
    model = keras.models.Sequential()
    if declare_input:
        model.add(keras.layers.Input(shape=input_shape))
    model.add(keras.layers.Flatten())
    model.add(keras.layers.Dense(128, activation="relu"))
    model.add(keras.layers.Dense(num_classes, activation="softmax"))
    return model


# ---------------------------------------------------------------- chapter 2: the first model


def test_note_003_mlp_sequential_builds_on_fit_with_the_note_parameter_counts(mnist_like):
    (x_train, y_train), (x_test, y_test) = mnist_like
    model = _mlp(declare_input=False)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=2, verbose=0, validation_data=(x_test, y_test))
    assert [layer.count_params() for layer in model.layers] == MLP_PARAMS
    assert model.count_params() == 101_770
    assert model.output.shape == (32, 10)  # Keras 3 builds on the first batch (default 32) and keeps its size
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(values) == 2 for values in history.history.values())
    # 'sgd' is SGD() with Keras's default learning rate 0.01.
    assert isinstance(model.optimizer, optimizers.SGD)
    assert model.optimizer.learning_rate == pytest.approx(0.01)


def test_note_003_summary_prints_the_param_totals(capsys):
    model = _mlp(declare_input=False)
    model.build((None, *input_shape))
    model.summary()
    text = capsys.readouterr().out
    assert "Total params: 101,770" in text
    assert "Trainable params: 101,770" in text
    assert "Non-trainable params: 0" in text
    assert "(None, 784)" in text and "(None, 128)" in text


def test_note_003_sparse_and_categorical_crossentropy_agree_on_the_note_example():
    # Hand value: mean(-ln 0.95, -ln 0.1) = (0.051293 + 2.302585) / 2 = 1.176939.
    expected = (-math.log(0.95) - math.log(0.1)) / 2
    y_pred = np.array([[0.05, 0.95, 0], [0.1, 0.8, 0.1]], np.float32)
    sparse = keras.losses.SparseCategoricalCrossentropy()(np.array([1, 2]), y_pred)
    dense = keras.losses.CategoricalCrossentropy()(np.array([[0, 1, 0], [0, 0, 1]], np.float32), y_pred)
    assert float(sparse) == pytest.approx(expected, rel=1e-5)
    assert float(dense) == pytest.approx(expected, rel=1e-5)


def test_note_003_functional_mlp_equals_the_sequential_one_for_the_same_weights(mnist_like):
    (x_train, _), _ = mnist_like
    model_input = keras.layers.Input(shape=input_shape)
    output = keras.layers.Flatten()(model_input)
    output = keras.layers.Dense(128, activation="relu")(output)
    output = keras.layers.Dense(num_classes, activation="softmax")(output)
    model = keras.Model(model_input, output)
    assert [layer.count_params() for layer in model.layers] == [0, *MLP_PARAMS]  # InputLayer first
    sequential = _mlp()
    sequential.build((None, *input_shape))
    sequential.set_weights(model.get_weights())
    np.testing.assert_allclose(sequential.predict(x_train[:16], verbose=0), model.predict(x_train[:16], verbose=0),
                               rtol=1e-6, atol=1e-7)
    # The model's properties the note lists.
    assert model.inputs[0].shape == (None, 28, 28, 1) and model.outputs[0].shape == (None, 10)


def test_note_003_save_and_load_model_and_weights_round_trip(mnist_like, tmp_path):
    (x_train, y_train), _ = mnist_like
    model = lenet()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train[:64], y_train[:64], epochs=1, batch_size=32, verbose=0)
    expected = model.predict(x_train[:16], verbose=0)

    model.save(tmp_path / "lenet.h5")  # the Keras HDF5 format, as tf.keras writes it
    restored = keras.models.load_model(tmp_path / "lenet.h5")
    assert restored.count_params() == LENET_PARAMS
    np.testing.assert_array_equal(restored.predict(x_train[:16], verbose=0), expected)

    model.save_weights(tmp_path / "lenet.weights.h5")
    fresh = lenet("fresh")
    fresh.load_weights(tmp_path / "lenet.weights.h5")
    np.testing.assert_array_equal(fresh.predict(x_train[:16], verbose=0), expected)


# ---------------------------------------------------------------- chapter 2: callbacks


def test_note_003_csv_logger_writes_one_row_per_epoch(mnist_like, tmp_path):
    (x_train, y_train), (x_test, y_test) = mnist_like
    model = _mlp()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=3, verbose=0, validation_data=(x_test, y_test),
                        callbacks=[callbacks.CSVLogger(tmp_path / "log.csv")])
    with open(tmp_path / "log.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(row["epoch"]) for row in rows] == [0, 1, 2]
    np.testing.assert_allclose([float(row["val_loss"]) for row in rows], history.history["val_loss"], rtol=1e-6)


def test_note_003_early_stopping_stops_once_the_monitor_stalls(mnist_like):
    # min_delta=10 means no epoch after the first can count as an improvement:
    # epoch 0 sets the best, epoch 1 makes wait == patience == 1 -> stop.
    (x_train, y_train), _ = mnist_like
    model = _mlp()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    stop = callbacks.EarlyStopping(monitor="loss", min_delta=10, patience=1)
    history = model.fit(x_train, y_train, epochs=10, verbose=0, callbacks=[stop])
    assert len(history.history["loss"]) == 2
    assert stop.stopped_epoch == 1


def test_note_003_learning_rate_scheduler_sets_the_rate_every_epoch(mnist_like):
    (x_train, y_train), _ = mnist_like
    model = _mlp()
    model.compile(optimizer=optimizers.SGD(learning_rate=0.1), loss="sparse_categorical_crossentropy")
    seen = []
    schedule = callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))
    record = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(float(model.optimizer.learning_rate)))
    model.fit(x_train, y_train, epochs=3, verbose=0, callbacks=[schedule, record])
    assert seen == pytest.approx([0.1, 0.05, 0.1 / 3])


def test_note_003_reduce_lr_on_plateau_halves_the_rate_when_the_loss_stalls(mnist_like):
    # min_delta=10: epoch 0 is the best; epochs 1 and 2 each reach patience 1 -> 0.01 * 0.5 * 0.5.
    (x_train, y_train), _ = mnist_like
    model = _mlp()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    reduce = callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=10)
    model.fit(x_train, y_train, epochs=3, verbose=0, callbacks=[reduce])
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0025)


def test_note_003_custom_callback_subclass_sees_every_batch_and_epoch(mnist_like):
    (x_train, y_train), _ = mnist_like

    class Counter(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.batches, self.epochs = 0, 0

        def on_train_batch_end(self, batch, logs=None):
            self.batches += 1

        def on_epoch_end(self, epoch, logs=None):
            self.epochs += 1

    model = _mlp()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    counter = Counter()
    model.fit(x_train[:100], y_train[:100], epochs=2, batch_size=32, verbose=0, callbacks=[counter])
    assert (counter.epochs, counter.batches) == (2, 2 * 4)  # ceil(100 / 32) = 4 batches an epoch


def test_note_003_model_checkpoint_keeps_the_best_epoch(mnist_like, tmp_path):
    (x_train, y_train), (x_test, y_test) = mnist_like
    model = lenet()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    checkpoint = callbacks.ModelCheckpoint(tmp_path / "best.h5", monitor="val_loss", save_best_only=True)
    history = model.fit(x_train, y_train, epochs=3, batch_size=32, verbose=0, validation_data=(x_test, y_test),
                        callbacks=[checkpoint])
    best = keras.models.load_model(tmp_path / "best.h5")
    best.compile(loss="sparse_categorical_crossentropy")
    assert best.evaluate(x_test, y_test, verbose=0) == pytest.approx(min(history.history["val_loss"]), rel=1e-5)


# ---------------------------------------------------------------- chapter 2: distribution strategies


def _strategy_module():
    return pytest.importorskip("cnnlab.distribute", reason="cnnlab.distribute (MirroredStrategy) is not available")


def test_note_003_mirrored_strategy_scope_builds_compiles_and_trains_as_one_replica(mnist_like):
    distribute = _strategy_module()
    (x_train, y_train), _ = mnist_like
    mirrored_strategy = distribute.MirroredStrategy()
    assert mirrored_strategy.num_replicas_in_sync == 1  # a plain process is one replica
    with mirrored_strategy.scope():
        model = lenet()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    before = _cross_entropy(model, x_train, y_train)
    model.fit(x_train, y_train, epochs=2, batch_size=64, verbose=0)
    assert _cross_entropy(model, x_train, y_train) < before


def test_note_003_parameter_server_and_tpu_strategies_say_they_are_unavailable():
    distribute = _strategy_module()
    for strategy in (distribute.ParameterServerStrategy, distribute.TPUStrategy):
        with pytest.raises(distribute.StrategyUnavailableError, match="MirroredStrategy"):
            strategy()


# ---------------------------------------------------------------- chapter 2: TensorBoard


def _scalars(folder, tag):
    accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    events = accumulator.EventAccumulator(str(folder))
    events.Reload()
    return [(event.step, event.value) for event in events.Scalars(tag)]


def _tensorboard():
    if not hasattr(keras.callbacks, "TensorBoard"):
        pytest.skip("cnnlab.callbacks.TensorBoard is not available")
    pytest.importorskip("tensorboard", reason="event files need the tensorboard package")
    return keras.callbacks.TensorBoard


def test_note_003_lenet_fit_with_early_stopping_and_tensorboard_writes_event_files(mnist_like, tmp_path):
    TensorBoard = _tensorboard()
    (x_train, y_train), (x_test, y_test) = mnist_like
    model = lenet()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    cbs = [
        keras.callbacks.EarlyStopping(patience=3, monitor="val_loss"),
        TensorBoard(log_dir=tmp_path / "logs", histogram_freq=1, write_graph=True),
    ]
    history = model.fit(x_train, y_train, batch_size=32, epochs=3, validation_data=(x_test, y_test), verbose=0,
                        callbacks=cbs)
    assert len(history.history["loss"]) == 3  # patience 3 cannot stop a 3-epoch run
    assert list((tmp_path / "logs" / "train").glob("events.out.tfevents.*"))
    assert list((tmp_path / "logs" / "validation").glob("events.out.tfevents.*"))
    train = _scalars(tmp_path / "logs" / "train", "epoch_loss")
    assert [step for step, _ in train] == [0, 1, 2]
    np.testing.assert_allclose([value for _, value in train], history.history["loss"], rtol=1e-6)
    validation = _scalars(tmp_path / "logs" / "validation", "epoch_accuracy")
    np.testing.assert_allclose([value for _, value in validation], history.history["val_accuracy"], rtol=1e-6)


def test_note_003_summary_writer_records_a_custom_scalar_and_an_accuracy(tmp_path):
    _tensorboard()
    from cnnlab import summary

    writer = summary.create_file_writer(tmp_path / "model_logs")
    with writer.as_default():
        summary.scalar("custom_log", 10, step=3)
        accuracy = keras.metrics.Accuracy()
        ground_truth, predictions = [1, 0, 1], [1, 0, 0]
        accuracy.update_state(ground_truth, predictions)
        summary.scalar("accuracy", accuracy.result(), step=4)
    writer.flush()
    assert float(accuracy.result()) == pytest.approx(2 / 3)  # 2 of the 3 predictions match
    assert _scalars(tmp_path / "model_logs", "custom_log") == [(3, 10.0)]
    [(step, value)] = _scalars(tmp_path / "model_logs", "accuracy")
    assert step == 4 and value == pytest.approx(2 / 3)


# ---------------------------------------------------------------- chapter 3: the CNN building blocks


def test_note_003_conv2d_cell_shape_and_parameters():
    N, k, s = 4, 3, 2
    conv = keras.layers.Conv2D(filters=N, kernel_size=(k, k), strides=s, padding="valid", activation="relu")
    out = conv(np.random.default_rng(0).random((2, 28, 28, 1), dtype=np.float32))
    assert tuple(out.shape) == (2, 13, 13, 4)  # floor((28 - 3) / 2) + 1 = 13
    assert conv.count_params() == 3 * 3 * 1 * 4 + 4
    assert _numpy(out).min() >= 0.0  # relu


def test_note_003_pooling_cells_default_strides_to_pool_size():
    x = np.random.default_rng(1).random((2, 28, 28, 3), dtype=np.float32)
    blocks = x.reshape(2, 14, 2, 14, 2, 3)  # non-overlapping 2x2 windows: stride == pool size
    max_out = keras.layers.MaxPool2D(pool_size=(2, 2), strides=None, padding="valid", data_format=None)(x)
    avg_out = keras.layers.AveragePooling2D(pool_size=(2, 2), strides=None, padding="valid", data_format=None)(x)
    np.testing.assert_allclose(_numpy(max_out), blocks.max(axis=(2, 4)), rtol=1e-6)
    np.testing.assert_allclose(_numpy(avg_out), blocks.mean(axis=(2, 4)), rtol=1e-6)


def test_note_003_dense_cell_units_is_the_output_size():
    dense = keras.layers.Dense(32, activation="relu")
    out = dense(np.ones((3, 400), np.float32))
    assert tuple(out.shape) == (3, 32) and dense.count_params() == 400 * 32 + 32


# ---------------------------------------------------------------- chapter 3: LeNet-5


def test_note_003_lenet_sequential_summary_numbers():
    model = lenet()
    assert model.name == "lenet"
    assert _rows(model) == LENET_ROWS
    assert model.count_params() == LENET_PARAMS


def test_note_003_lenet_subclass_matches_the_sequential_lenet(mnist_like):
    (x_train, _), _ = mnist_like
    model = LeNet5(num_classes)
    out = model.predict(x_train[:8], verbose=0)
    assert out.shape == (8, 10)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)
    assert model.count_params() == LENET_PARAMS
    sequential = lenet()
    sequential.set_weights(model.get_weights())  # same weight order: conv1, conv2, dense1..3
    np.testing.assert_allclose(sequential.predict(x_train[:8], verbose=0), out, rtol=1e-5, atol=1e-7)


def test_note_003_lenet_compiled_with_sgd_learns(mnist_like):
    (x_train, y_train), (x_test, y_test) = mnist_like
    model = LeNet5(num_classes)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=32, epochs=3, validation_data=(x_test, y_test), verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


# ---------------------------------------------------------------- chapter 3: seven optimizers compared


def _optimizers_examples():
    return {
        "sgd": optimizers.SGD(),
        "momentum": optimizers.SGD(momentum=0.9),
        "nag": optimizers.SGD(momentum=0.9, nesterov=True),
        "adagrad": optimizers.Adagrad(),
        "adadelta": optimizers.Adadelta(),
        "rmsprop": optimizers.RMSprop(),
        "adam": optimizers.Adam(),
    }


def test_note_003_optimizer_objects_carry_the_note_arguments_and_keras_defaults():
    examples = _optimizers_examples()
    assert (examples["momentum"].momentum, examples["momentum"].nesterov) == (0.9, False)
    assert (examples["nag"].momentum, examples["nag"].nesterov) == (0.9, True)
    # Keras 3 defaults: SGD 0.01, Adagrad/Adadelta/RMSprop/Adam 0.001.
    expected = {"sgd": 0.01, "momentum": 0.01, "nag": 0.01, "adagrad": 1e-3, "adadelta": 1e-3, "rmsprop": 1e-3,
                "adam": 1e-3}
    assert {name: pytest.approx(float(opt.learning_rate)) for name, opt in examples.items()} == expected


@pytest.mark.parametrize("name", ["sgd", "momentum", "nag", "adagrad", "adadelta", "rmsprop", "adam"])
def test_note_003_each_optimizer_lowers_the_lenet_loss(mnist_like, name):
    # Full-batch steps, so every update follows the whole training set's gradient
    # and even Adadelta's tiny first steps (lr 1e-3) lower the loss measurably.
    (x_train, y_train), _ = mnist_like
    x, y = x_train[:128], y_train[:128]
    keras.utils.set_random_seed(3)
    model = lenet(name)
    model.compile(optimizer=_optimizers_examples()[name], loss="sparse_categorical_crossentropy")
    before = _cross_entropy(model, x, y)
    model.fit(x, y, batch_size=128, epochs=4, verbose=0, shuffle=False)
    assert _cross_entropy(model, x, y) < before


@pytest.mark.parametrize("name", ["sgd", "adagrad", "adadelta", "rmsprop", "adam"])
def test_note_003_optimizer_names_compile_to_the_same_classes(name):
    model = lenet()
    model.compile(optimizer=name, loss="sparse_categorical_crossentropy")
    assert type(model.optimizer) is type(_optimizers_examples()[name])


# ---------------------------------------------------------------- chapter 3: regularisation


def _regularised_lenet(l1=0.0, l2=0.0, dropout=0.0, batch_norm=False):
    """LeNet-5 with the note's regularisers: a kernel penalty on every weight layer, dropout after the dense layers,
    batch normalisation after every convolution and hidden dense layer."""
    penalty = regularizers.l1_l2(l1=l1, l2=l2) if (l1 or l2) else None
    model = Sequential([layers.Input(input_shape)])
    for filters, padding in ((6, "same"), (16, "valid")):
        model.add(Conv2D(filters, 5, padding=padding, activation="relu", kernel_regularizer=penalty))
        if batch_norm:
            model.add(layers.BatchNormalization())
        model.add(MaxPooling2D(2))
    model.add(Flatten())
    for units in (120, 84):
        model.add(Dense(units, activation="relu", kernel_regularizer=penalty))
        if batch_norm:
            model.add(layers.BatchNormalization())
        if dropout:
            model.add(layers.Dropout(dropout))
    model.add(Dense(num_classes, activation="softmax", kernel_regularizer=penalty))
    return model


def _fit_lowers_loss(model, x, y):
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, batch_size=32, epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


@pytest.mark.parametrize("l1, l2", [(0.01, 0.0), (0.0, 0.01)])
def test_note_003_l1_l2_penalties_keep_the_parameters_and_add_the_norm_to_the_loss(mnist_like, l1, l2):
    (x_train, y_train), _ = mnist_like
    model = _regularised_lenet(l1=l1, l2=l2)
    assert model.count_params() == LENET_PARAMS
    kernels = [w for w in model.get_weights() if w.ndim > 1]
    expected = sum(l1 * np.abs(k).sum() + l2 * np.square(k).sum() for k in kernels)
    assert sum(float(loss.detach()) for loss in model.losses) == pytest.approx(expected, rel=1e-5)
    _fit_lowers_loss(model, x_train, y_train)


def test_note_003_dropout_adds_no_parameters_and_acts_only_in_training(mnist_like):
    (x_train, y_train), _ = mnist_like
    model = _regularised_lenet(dropout=0.5)
    assert model.count_params() == LENET_PARAMS
    x = x_train[:16]
    np.testing.assert_array_equal(_numpy(model(x, training=False)), model.predict(x, verbose=0))
    assert not np.allclose(_numpy(model(x, training=True)), _numpy(model(x, training=False)))
    _fit_lowers_loss(model, x_train, y_train)


def test_note_003_batch_norm_adds_gamma_beta_and_moving_statistics(mnist_like):
    (x_train, y_train), _ = mnist_like
    model = _regularised_lenet(batch_norm=True)
    # 4 parameters per channel over 6 + 16 + 120 + 84 = 226 channels: gamma and beta
    # train (452), the moving mean and variance do not (452).
    assert model.count_params() == LENET_PARAMS + 4 * 226
    non_trainable = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    assert non_trainable == 2 * 226
    _fit_lowers_loss(model, x_train, y_train)
