"""keras.io guide "Writing your own callbacks" (Keras 3 edition), ported to cnnlab.

The guide's MNIST (first 1,000 samples as 784-pixel vectors) is the digits stand-in (conftest). The printed
lines are compared with what the guide prints: which hooks run, in which order, with which log keys.
"""

import re

import numpy as np
import pytest

import cnnlab as keras


def get_model():
    model = keras.Sequential()
    model.add(keras.layers.Dense(1))
    model.compile(
        optimizer=keras.optimizers.RMSprop(learning_rate=0.1),
        loss="mean_squared_error",
        metrics=["mean_absolute_error"],
    )
    return model


@pytest.fixture
def data(mnist_like):
    (x_train, y_train), (x_test, y_test) = mnist_like
    x_train = x_train.reshape(-1, 784).astype("float32") / 255.0
    x_test = x_test.reshape(-1, 784).astype("float32") / 255.0

    x_train = x_train[:1000]
    y_train = y_train[:1000]
    x_test = x_test[:1000]
    y_test = y_test[:1000]
    return x_train, y_train, x_test, y_test


class CustomCallback(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        keys = list(logs.keys())
        print("Starting training; got log keys: {}".format(keys))

    def on_train_end(self, logs=None):
        keys = list(logs.keys())
        print("Stop training; got log keys: {}".format(keys))

    def on_epoch_begin(self, epoch, logs=None):
        keys = list(logs.keys())
        print("Start epoch {} of training; got log keys: {}".format(epoch, keys))

    def on_epoch_end(self, epoch, logs=None):
        keys = list(logs.keys())
        print("End epoch {} of training; got log keys: {}".format(epoch, keys))

    def on_test_begin(self, logs=None):
        keys = list(logs.keys())
        print("Start testing; got log keys: {}".format(keys))

    def on_test_end(self, logs=None):
        keys = list(logs.keys())
        print("Stop testing; got log keys: {}".format(keys))

    def on_predict_begin(self, logs=None):
        keys = list(logs.keys())
        print("Start predicting; got log keys: {}".format(keys))

    def on_predict_end(self, logs=None):
        keys = list(logs.keys())
        print("Stop predicting; got log keys: {}".format(keys))

    def on_train_batch_begin(self, batch, logs=None):
        keys = list(logs.keys())
        print("...Training: start of batch {}; got log keys: {}".format(batch, keys))

    def on_train_batch_end(self, batch, logs=None):
        keys = list(logs.keys())
        print("...Training: end of batch {}; got log keys: {}".format(batch, keys))

    def on_test_batch_begin(self, batch, logs=None):
        keys = list(logs.keys())
        print("...Evaluating: start of batch {}; got log keys: {}".format(batch, keys))

    def on_test_batch_end(self, batch, logs=None):
        keys = list(logs.keys())
        print("...Evaluating: end of batch {}; got log keys: {}".format(batch, keys))

    def on_predict_batch_begin(self, batch, logs=None):
        keys = list(logs.keys())
        print("...Predicting: start of batch {}; got log keys: {}".format(batch, keys))

    def on_predict_batch_end(self, batch, logs=None):
        keys = list(logs.keys())
        print("...Predicting: end of batch {}; got log keys: {}".format(batch, keys))


METRICS = "['loss', 'mean_absolute_error']"
VAL_METRICS = "['loss', 'mean_absolute_error', 'val_loss', 'val_mean_absolute_error']"


def _test_lines(batches):
    lines = ["Start testing; got log keys: []"]
    for batch in range(batches):
        lines += [f"...Evaluating: start of batch {batch}; got log keys: []",
                  f"...Evaluating: end of batch {batch}; got log keys: {METRICS}"]
    return lines + [f"Stop testing; got log keys: {METRICS}"]


def test_every_hook_runs_in_order_with_the_guides_log_keys(data, capsys):
    x_train, y_train, x_test, y_test = data
    model = get_model()
    model.fit(
        x_train,
        y_train,
        batch_size=128,
        epochs=1,
        verbose=0,
        validation_split=0.5,
        callbacks=[CustomCallback()],
    )
    # 1,000 samples, half held out: 500 train in 4 batches of 128, 500 validation in 4.
    expected = ["Starting training; got log keys: []", "Start epoch 0 of training; got log keys: []"]
    for batch in range(4):
        expected += [f"...Training: start of batch {batch}; got log keys: []",
                     f"...Training: end of batch {batch}; got log keys: {METRICS}"]
    expected += _test_lines(4)
    expected += [f"End epoch 0 of training; got log keys: {VAL_METRICS}",
                 f"Stop training; got log keys: {VAL_METRICS}"]
    assert capsys.readouterr().out.splitlines() == expected

    res = model.evaluate(x_test, y_test, batch_size=128, verbose=0, callbacks=[CustomCallback()])
    # The stand-in's 360 test digits make 3 batches of 128.
    assert capsys.readouterr().out.splitlines() == _test_lines(3)
    assert len(res) == 2

    res = model.predict(x_test, batch_size=128, verbose=0, callbacks=[CustomCallback()])
    expected = ["Start predicting; got log keys: []"]
    for batch in range(3):
        expected += [f"...Predicting: start of batch {batch}; got log keys: []",
                     f"...Predicting: end of batch {batch}; got log keys: ['outputs']"]
    expected += ["Stop predicting; got log keys: []"]
    assert capsys.readouterr().out.splitlines() == expected
    assert res.shape == (len(x_test), 1)


class LossAndErrorPrintingCallback(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        print(
            "Up to batch {}, the average loss is {:7.2f}.".format(batch, logs["loss"])
        )

    def on_test_batch_end(self, batch, logs=None):
        print(
            "Up to batch {}, the average loss is {:7.2f}.".format(batch, logs["loss"])
        )

    def on_epoch_end(self, epoch, logs=None):
        print(
            "The average loss for epoch {} is {:7.2f} "
            "and mean absolute error is {:7.2f}.".format(
                epoch, logs["loss"], logs["mean_absolute_error"]
            )
        )


BATCH_LINE = re.compile(r"^Up to batch (\d+), the average loss is [ \d.]{7}\.$")
EPOCH_LINE = re.compile(r"^The average loss for epoch (\d+) is [ \d.]{7} and mean absolute error is [ \d.]{7}\.$")


def test_logs_dict_holds_the_loss_and_metric(data, capsys):
    x_train, y_train, x_test, y_test = data
    model = get_model()
    model.fit(
        x_train,
        y_train,
        batch_size=128,
        epochs=2,
        verbose=0,
        callbacks=[LossAndErrorPrintingCallback()],
    )
    lines = capsys.readouterr().out.splitlines()
    # 1,000 samples in 8 batches of 128, per epoch.
    assert [bool(BATCH_LINE.match(line)) for line in lines] == ([True] * 8 + [False]) * 2, lines
    assert [EPOCH_LINE.match(line).group(1) for line in lines if EPOCH_LINE.match(line)] == ["0", "1"]

    res = model.evaluate(x_test, y_test, batch_size=128, verbose=0, callbacks=[LossAndErrorPrintingCallback()])
    lines = capsys.readouterr().out.splitlines()
    assert [BATCH_LINE.match(line).group(1) for line in lines] == ["0", "1", "2"]
    assert len(res) == 2


class EarlyStoppingAtMinLoss(keras.callbacks.Callback):
    """Stop training when the loss is at its min, i.e. the loss stops decreasing.

    Arguments:
        patience: Number of epochs to wait after min has been hit. After this
        number of no improvement, training stops.
    """

    def __init__(self, patience=0):
        super().__init__()
        self.patience = patience
        self.best_weights = None

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        # The guide's np.Inf: NumPy 2 keeps only the lower-case spelling.
        self.best = np.inf

    def on_epoch_end(self, epoch, logs=None):
        current = logs.get("loss")
        if np.less(current, self.best):
            self.best = current
            self.wait = 0
            self.best_weights = self.model.get_weights()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = epoch
                self.model.stop_training = True
                print("Restoring model weights from the end of the best epoch.")
                self.model.set_weights(self.best_weights)

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")


def test_early_stopping_at_min_loss_stops_and_restores_the_best_weights(data, capsys):
    x_train, y_train, _, _ = data
    model = get_model()
    stopper = EarlyStoppingAtMinLoss()
    history = model.fit(
        x_train,
        y_train,
        batch_size=64,
        epochs=30,
        verbose=0,
        callbacks=[LossAndErrorPrintingCallback(), stopper],
    )
    lines = capsys.readouterr().out.splitlines()
    epochs_run = len(history.history["loss"])
    if epochs_run < 30:
        assert lines[-2:] == ["Restoring model weights from the end of the best epoch.",
                              f"Epoch {epochs_run}: early stopping"]
        for restored, best in zip(model.get_weights(), stopper.best_weights):
            np.testing.assert_array_equal(restored, best)


class CustomLearningRateScheduler(keras.callbacks.Callback):
    """Learning rate scheduler which sets the learning rate according to schedule.

    Arguments:
        schedule: a function that takes an epoch index
            (integer, indexed from 0) and current learning rate
            as inputs and returns a new learning rate as output (float).
    """

    def __init__(self, schedule):
        super().__init__()
        self.schedule = schedule

    def on_epoch_begin(self, epoch, logs=None):
        if not hasattr(self.model.optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        lr = self.model.optimizer.learning_rate
        scheduled_lr = self.schedule(epoch, lr)
        self.model.optimizer.learning_rate = scheduled_lr
        print(f"\nEpoch {epoch}: Learning rate is {float(np.array(scheduled_lr))}.")


LR_SCHEDULE = [
    (3, 0.05),
    (6, 0.01),
    (9, 0.005),
    (12, 0.001),
]


def lr_schedule(epoch, lr):
    """Helper function to retrieve the scheduled learning rate based on epoch."""
    if epoch < LR_SCHEDULE[0][0] or epoch > LR_SCHEDULE[-1][0]:
        return lr
    for i in range(len(LR_SCHEDULE)):
        if epoch == LR_SCHEDULE[i][0]:
            return LR_SCHEDULE[i][1]
    return lr


def test_custom_learning_rate_scheduler_follows_the_schedule(data, capsys):
    x_train, y_train, _, _ = data
    model = get_model()
    model.fit(
        x_train,
        y_train,
        batch_size=64,
        epochs=15,
        verbose=0,
        callbacks=[
            LossAndErrorPrintingCallback(),
            CustomLearningRateScheduler(lr_schedule),
        ],
    )
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Epoch ")]
    rates = [float(re.match(r"Epoch \d+: Learning rate is (.*)\.$", line).group(1)) for line in lines]
    expected = [0.1] * 3 + [0.05] * 3 + [0.01] * 3 + [0.005] * 3 + [0.001] * 3
    np.testing.assert_allclose(rates, expected, rtol=1e-6)
    assert lines[3] == "Epoch 3: Learning rate is 0.05."
    assert float(np.array(model.optimizer.learning_rate)) == pytest.approx(0.001)
