"""The benchmarked models, written once in Keras code (run by cnnlab and by Keras) and once in PyTorch.

- ``cnn``: the main job's two-conv CNN (examples/fashion_mnist_cnn.py), Adam 1e-3.
- ``lenet``: LeNet-5 with ReLU and max pooling (the modern variant of LeCun
  et al. 1998, whose tanh + average subsampling trains slower with plain
  SGD), SGD 0.01 without momentum.

Both end in a 10-way softmax and train on sparse categorical cross-entropy.
"""

from __future__ import annotations

MODELS = ("cnn", "lenet")
KERAS_ADAM_EPSILON = 1e-7  # keras.optimizers.Adam default epsilon (torch's default is 1e-8)
ADAM_LR = 1e-3  # keras.optimizers.Adam default learning_rate
SGD_LR = 0.01  # keras.optimizers.SGD default learning_rate


def keras_model(keras, name: str):
    """Build and compile ``name`` with a Keras-API module (``keras`` or ``cnnlab``)."""
    layers = keras.layers
    if name == "cnn":
        stack = [
            layers.Input((28, 28, 1)),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(100, activation="relu"),
            layers.Dropout(0.4),
            layers.Dense(10, activation="softmax"),
        ]
        optimizer = keras.optimizers.Adam(learning_rate=ADAM_LR, epsilon=KERAS_ADAM_EPSILON)
    elif name == "lenet":
        stack = [
            layers.Input((28, 28, 1)),
            layers.Conv2D(6, 5, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(16, 5, padding="valid", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(120, activation="relu"),
            layers.Dense(84, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
        optimizer = keras.optimizers.SGD(learning_rate=SGD_LR)
    else:
        raise ValueError(f"unknown model {name!r}; choose from {MODELS}")
    model = keras.Sequential(stack)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def torch_model(name: str):
    """``name`` as a plain ``nn.Sequential`` on NCHW input, ending in logits, with its optimizer.

    Weights start as in Keras (Glorot-uniform kernels, zero biases) so that
    accuracies compare like for like; the speed does not depend on it.
    """
    import torch
    from torch import nn

    if name == "cnn":
        model = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 7 * 7, 100), nn.ReLU(), nn.Dropout(0.4), nn.Linear(100, 10),
        )
    elif name == "lenet":
        model = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
        )
    else:
        raise ValueError(f"unknown model {name!r}; choose from {MODELS}")
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(module.weight)
            nn.init.zeros_(module.bias)
    if name == "cnn":
        optimizer = torch.optim.Adam(model.parameters(), lr=ADAM_LR, eps=KERAS_ADAM_EPSILON)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=SGD_LR)
    return model, optimizer
