"""The issue's reference architectures, written once for the model tests."""

from cnnlab import layers

# Model (a): the MNIST CNN of the study notes, 28x28x1 -> 10.
MNIST_CNN_PARAMS = [832, 0, 0, 51264, 0, 0, 0, 65600, 0, 650]
MNIST_CNN_SHAPES = [(None, 24, 24, 32), (None, 24, 24, 32), (None, 12, 12, 32), (None, 8, 8, 64),
                    (None, 8, 8, 64), (None, 4, 4, 64), (None, 1024), (None, 64), (None, 64), (None, 10)]


def mnist_cnn_layers(first_kwargs=None):
    """Conv2D(32,5) -> ReLU -> MaxPool 2 -> Conv2D(64,5) -> ReLU -> MaxPool 2 -> Flatten -> Dense 64 -> ReLU -> Dense 10."""
    return [
        layers.Conv2D(32, (5, 5), **(first_kwargs or {})),
        layers.ReLU(),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, (5, 5)),
        layers.ReLU(),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(64),
        layers.ReLU(),
        layers.Dense(10, activation="softmax"),
    ]
