"""The batch axis a subclassed model's summary shows: the batch Keras built it with."""

import numpy as np

import cnnlab
from cnnlab import layers
from cnnlab.inspect import summary_rows


class Net(cnnlab.Model):
    def __init__(self):
        super().__init__()
        self.conv, self.flat, self.dense = layers.Conv2D(2, 3), layers.Flatten(), layers.Dense(2)

    def call(self, x):
        return self.dense(self.flat(self.conv(x)))


def data(n):
    return np.zeros((n, 6, 6, 1), "float32"), np.zeros((n, 2), "float32")


def compiled():
    model = Net()
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_first_call_by_fit_shows_batch_none():
    model = compiled()
    model.fit(*data(12), batch_size=4, epochs=1, verbose=0)
    assert [row.output_shape for row in summary_rows(model)] == [(None, 4, 4, 2), (None, 32), (None, 2)]


def test_first_call_by_evaluate_shows_batch_none():
    model = compiled()
    model.evaluate(*data(10), batch_size=4, verbose=0)  # Keras builds it symbolically before evaluating too
    assert [row.output_shape for row in summary_rows(model)] == [(None, 4, 4, 2), (None, 32), (None, 2)]


def test_first_eager_call_keeps_its_batch_even_after_fit():
    model = compiled()
    model(data(2)[0])
    model.fit(*data(12), batch_size=4, epochs=1, verbose=0)  # later calls of batch 4 do not rebuild
    assert [row.output_shape[0] for row in summary_rows(model)] == [2, 2, 2]


def test_build_with_an_input_shape_shows_its_batch_axis_until_called():
    model = Net()
    model.build((None, 6, 6, 1))
    assert summary_rows(model)[0].output_shape == (None, 4, 4, 2)
    model(data(3)[0])  # Keras's build() of a subclassed model leaves the layers to this call
    assert summary_rows(model)[0].output_shape == (3, 4, 4, 2)
