"""keras.io guide "Writing a training loop from scratch in PyTorch" (Keras 3 edition), ported to cnnlab.

Four loops as in the guide: torch optimizer + torch loss, Keras optimizer + Keras loss, plus metrics, plus
add_loss losses. MNIST is the digits stand-in (conftest), 300 held out for validation (the guide's 10,000);
3 epochs as in the guide.
"""

import numpy as np
import pytest
import torch

import cnnlab as keras

HOLDOUT = 300
batch_size = 32
epochs = 3


def get_model():
    inputs = keras.Input(shape=(784,), name="digits")
    x1 = keras.layers.Dense(64, activation="relu")(inputs)
    x2 = keras.layers.Dense(64, activation="relu")(x1)
    outputs = keras.layers.Dense(10, name="predictions")(x2)
    model = keras.Model(inputs=inputs, outputs=outputs)
    return model


@pytest.fixture
def dataloaders(mnist_like):
    (x_train, y_train), (x_test, y_test) = mnist_like
    x_train = np.reshape(x_train, (-1, 784)).astype("float32")
    x_test = np.reshape(x_test, (-1, 784)).astype("float32")
    y_train = keras.utils.to_categorical(y_train)
    y_test = keras.utils.to_categorical(y_test)

    x_val = x_train[-HOLDOUT:]
    y_val = y_train[-HOLDOUT:]
    x_train = x_train[:-HOLDOUT]
    y_train = y_train[:-HOLDOUT]

    train_dataset = torch.utils.data.TensorDataset(
        torch.from_numpy(x_train), torch.from_numpy(y_train)
    )
    val_dataset = torch.utils.data.TensorDataset(
        torch.from_numpy(x_val), torch.from_numpy(y_val)
    )
    train_dataloader = torch.utils.data.DataLoader(
        train_dataset, batch_size=batch_size, shuffle=True
    )
    val_dataloader = torch.utils.data.DataLoader(
        val_dataset, batch_size=batch_size, shuffle=False
    )
    return train_dataloader, val_dataloader


def _epoch_mean(losses):
    return float(np.mean(losses))


def test_torch_optimizer_and_torch_loss_train_a_keras_model(dataloaders):
    train_dataloader, _ = dataloaders
    model = get_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()

    per_epoch = []
    for epoch in range(epochs):
        losses = []
        for step, (inputs, targets) in enumerate(train_dataloader):
            logits = model(inputs)
            loss = loss_fn(logits, targets)

            model.zero_grad()
            loss.backward()

            optimizer.step()

            if step % 100 == 0:
                line = f"Training loss (for 1 batch) at step {step}: {loss.detach().numpy():.4f}"
                assert line.startswith("Training loss")
            losses.append(loss.item())
        per_epoch.append(_epoch_mean(losses))
    assert per_epoch[-1] < per_epoch[0]


def _keras_loop(model, train_dataloader, val_dataloader=None, with_metrics=False):
    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    loss_fn = keras.losses.CategoricalCrossentropy(from_logits=True)
    train_acc_metric = keras.metrics.CategoricalAccuracy()
    val_acc_metric = keras.metrics.CategoricalAccuracy()

    per_epoch, accuracies = [], []
    for epoch in range(epochs):
        losses = []
        for step, (inputs, targets) in enumerate(train_dataloader):
            logits = model(inputs)
            loss = loss_fn(targets, logits)
            if model.losses:
                loss = loss + torch.sum(*model.losses)

            model.zero_grad()
            trainable_weights = [v for v in model.trainable_weights]

            loss.backward()
            gradients = [v.value.grad for v in trainable_weights]

            with torch.no_grad():
                optimizer.apply(gradients, trainable_weights)

            if with_metrics:
                train_acc_metric.update_state(targets, logits)
            losses.append(float(loss.detach().numpy()))
        per_epoch.append(_epoch_mean(losses))

        if with_metrics:
            train_acc = train_acc_metric.result()
            train_acc_metric.reset_state()
            for x_batch_val, y_batch_val in val_dataloader:
                val_logits = model(x_batch_val, training=False)
                val_acc_metric.update_state(y_batch_val, val_logits)
            val_acc = val_acc_metric.result()
            val_acc_metric.reset_state()
            accuracies.append((float(train_acc), float(val_acc)))
    return per_epoch, accuracies


def test_keras_optimizer_and_keras_loss_in_a_torch_loop(dataloaders):
    train_dataloader, _ = dataloaders
    per_epoch, _ = _keras_loop(get_model(), train_dataloader)
    assert per_epoch[-1] < per_epoch[0]


def test_metrics_in_a_torch_loop(dataloaders):
    train_dataloader, val_dataloader = dataloaders
    per_epoch, accuracies = _keras_loop(get_model(), train_dataloader, val_dataloader, with_metrics=True)
    assert per_epoch[-1] < per_epoch[0]
    assert len(accuracies) == epochs
    assert all(0.0 <= acc <= 1.0 for pair in accuracies for acc in pair)
    assert accuracies[-1][1] > 0.5  # digits are easy: validation accuracy is well above chance after 3 epochs


def test_add_loss_losses_in_a_torch_loop(dataloaders):
    train_dataloader, val_dataloader = dataloaders

    class ActivityRegularizationLayer(keras.layers.Layer):
        def call(self, inputs):
            self.add_loss(1e-2 * torch.sum(inputs))
            return inputs

    inputs = keras.Input(shape=(784,), name="digits")
    x = keras.layers.Dense(64, activation="relu")(inputs)
    x = ActivityRegularizationLayer()(x)
    x = keras.layers.Dense(64, activation="relu")(x)
    outputs = keras.layers.Dense(10, name="predictions")(x)

    model = keras.Model(inputs=inputs, outputs=outputs)
    model(torch.zeros((2, 784)))
    assert len(model.losses) == 1

    # The guide then trains a fresh get_model() with the loop that adds model.losses.
    model = get_model()
    per_epoch, accuracies = _keras_loop(model, train_dataloader, val_dataloader, with_metrics=True)
    assert per_epoch[-1] < per_epoch[0]
