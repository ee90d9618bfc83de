"""TorchModule (a PyTorch module as a layer) and cnnlab models inside plain PyTorch loops."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import cnnlab
from cnnlab import layers as L
from cnnlab.errors import ConfigError


def tutorial_cnn() -> nn.Module:
    """The PyTorch tutorial CNN: three Conv2d/ReLU/MaxPool2d blocks, then Linear(3*3*64, 10), on 1x28x28."""
    def block(cin, cout):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2))

    return nn.Sequential(block(1, 16), block(16, 32), block(32, 64), nn.Flatten(), nn.Linear(3 * 3 * 64, 10))


def data(n=256, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    x = rng.normal(0, 0.3, (n, 28, 28, 1)).astype("float32")
    x[np.arange(n), 2 * y + 4, 4:24, 0] += 2.0  # the label is a bright row: learnable in a few steps
    return x, y


def test_parameters_show_in_weights_and_summary():
    model = cnnlab.Sequential([L.Input(shape=(28, 28, 1)), L.TorchModule(tutorial_cnn(), name="torch_cnn")])
    # conv 1*16*9+16, 16*32*9+32, 32*64*9+64, linear 576*10+10
    assert model.count_params() == 160 + 4640 + 18496 + 5770
    lines = []
    model.summary(print_fn=lines.append)
    assert "torch_cnn (TorchModule)" in "".join(lines) and "29,066" in "".join(lines)
    assert model.layers[0].weights[0].shape == (16, 1, 3, 3)  # PyTorch layouts are kept


def test_tutorial_cnn_trains_with_fit():
    torch.manual_seed(0)
    model = cnnlab.Sequential([L.Input(shape=(28, 28, 1)), L.TorchModule(tutorial_cnn())])
    model.compile(optimizer="adam", loss=cnnlab.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    x, y = data(160)
    history = model.fit(x, y, epochs=3, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < 0.85 * history.history["loss"][0]  # 2.27 -> 1.72 in one run


def test_channels_first_transposes_4d_in_and_out():
    layer = L.TorchModule(nn.Identity())
    seen = {}

    def record(module, inputs, output):
        seen["shape"] = tuple(inputs[0].shape)

    layer.module.register_forward_hook(record)
    out = layer(np.zeros((2, 5, 7, 3), "float32"))
    assert seen["shape"] == (2, 3, 5, 7) and tuple(out.shape) == (2, 5, 7, 3)


def test_batchnorm_buffers_are_non_trainable_weights_and_train_mode_follows_fit():
    layer = L.TorchModule(nn.BatchNorm2d(4))
    assert [(v.name, v.trainable) for v in layer.weights] == [
        ("weight", True), ("bias", True), ("running_mean", False), ("running_var", False)]
    x = torch.randn(8, 3, 3, 4) + 5
    layer(x)  # inference: running stats untouched
    np.testing.assert_array_equal(layer.weights[2].numpy(), np.zeros(4))
    layer(x, training=True)
    assert layer.weights[2].numpy().min() > 0.1


def test_save_weights_works_and_save_explains(tmp_path):
    model = cnnlab.Sequential([L.Input(shape=(28, 28, 1)), L.TorchModule(tutorial_cnn())])
    model.save_weights(tmp_path / "w.weights.safetensors")
    other = cnnlab.Sequential([L.Input(shape=(28, 28, 1)), L.TorchModule(tutorial_cnn())])
    other.load_weights(tmp_path / "w.weights.safetensors")
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ConfigError, match="save_weights"):
        model.save(tmp_path / "m.cnnlab")


class TutorialCNN(L.TorchModule):
    """A registered subclass: builds its own module, so the architecture can be saved."""

    def __init__(self, **kwargs):
        super().__init__(tutorial_cnn(), **kwargs)


def test_registered_subclass_saves_whole_model(tmp_path):
    model = cnnlab.Sequential([L.Input(shape=(28, 28, 1)), TutorialCNN()])
    model.save(tmp_path / "m.cnnlab")
    again = cnnlab.load_model(tmp_path / "m.cnnlab", custom_objects={"TutorialCNN": TutorialCNN})
    x = data(4)[0]
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))


def test_cnnlab_model_trains_in_a_plain_torch_loop():
    torch.manual_seed(0)
    model = cnnlab.Sequential([L.Input(shape=(28, 28, 1)), L.Conv2D(8, 3, activation="relu"), L.MaxPooling2D(2),
                               L.Flatten(), L.Dense(10)])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    assert len(list(model.parameters())) == 4
    x, y = (torch.from_numpy(a) for a in data(128))
    model.train()  # cnnlab models start in inference mode, as Keras layers do
    losses = []
    for epoch in range(3):
        for i in range(0, len(x), 32):
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(x[i:i + 32]), y[i:i + 32])
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    assert np.mean(losses[-4:]) < 0.7 * np.mean(losses[:4])
