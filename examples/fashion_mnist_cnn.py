"""The main job: train the classic Fashion-MNIST CNN and save the best model.

Run with `make demo` (which does all the set-up). The code is what a tf.keras
tutorial writes, with the import changed to cnnlab.
"""

import os
import sys
import time

import cnnlab as keras
from cnnlab.errors import DatasetNotFoundError

EPOCHS = int(os.environ.get("CNNLAB_DEMO_EPOCHS", "6"))
BATCH_SIZE = int(os.environ.get("CNNLAB_DEMO_BATCH", "64"))
RUN_DIR = os.environ.get("CNNLAB_DEMO_DIR", "runs/demo")
# "mixed_bfloat16" trains in bfloat16 where the hardware has it (weights stay float32); "float32" is Keras's default.
POLICY = os.environ.get("CNNLAB_DEMO_POLICY", "float32")


def load():
    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
        return "Fashion-MNIST", keras.datasets.fashion_mnist.class_names, (x_train, y_train), (x_test, y_test)
    except DatasetNotFoundError as err:
        print(f"{err}\n\nFalling back to the offline 8x8 'digits' set so the demo still runs.\n", file=sys.stderr)
        (x_train, y_train), (x_test, y_test) = keras.datasets.digits.load_data()
        return "digits", keras.datasets.digits.class_names, (x_train, y_train), (x_test, y_test)


def build(input_shape):
    model = keras.Sequential([
        keras.layers.Conv2D(32, kernel_size=3, activation="relu", padding="same", input_shape=input_shape),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(64, kernel_size=(3, 3), activation="relu", padding="same"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(100, activation="relu"),
        keras.layers.Dropout(0.4),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def main():
    start = time.perf_counter()
    keras.utils.set_random_seed(42)
    keras.mixed_precision.set_global_policy(POLICY)
    name, class_names, (x_train, y_train), (x_test, y_test) = load()
    side = x_train.shape[1]
    x_train = x_train.reshape(-1, side, side, 1) / 255.0
    x_test = x_test.reshape(-1, side, side, 1) / 255.0
    x_train, x_val, y_train, y_val = keras.utils.train_test_split(x_train, y_train, test_size=0.2, random_state=42)
    print(f"{name}: {len(x_train)} training, {len(x_val)} validation, {len(x_test)} test images of {side}x{side}\n")

    model = build((side, side, 1))
    model.summary()
    os.makedirs(RUN_DIR, exist_ok=True)
    best_path = os.path.join(RUN_DIR, "best-cnn-model.cnnlab")
    callbacks = [
        keras.callbacks.ModelCheckpoint(best_path, save_best_only=True),
        keras.callbacks.EarlyStopping(patience=2, restore_best_weights=True),
        keras.callbacks.CSVLogger(os.path.join(RUN_DIR, "history.csv")),
    ]
    train_start = time.perf_counter()
    model.fit(x_train, y_train, epochs=EPOCHS, batch_size=BATCH_SIZE, validation_data=(x_val, y_val),
              callbacks=callbacks)
    train_seconds = time.perf_counter() - train_start

    test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"\nTest accuracy: {test_accuracy:.4f} (loss {test_loss:.4f}) on {len(x_test)} {name} test images")
    print(f"Training took {train_seconds:.1f} s; whole job {time.perf_counter() - start:.1f} s")
    print(f"Best model saved to {best_path} (reload with cnnlab.models.load_model)")
    print(f"Training log: {os.path.join(RUN_DIR, 'history.csv')}")


if __name__ == "__main__":
    main()
