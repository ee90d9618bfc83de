"""keras.io guide "The Functional API" (guides/functional_api.py, Keras 3 edition), image parts, ported to cnnlab.

Ported: the MNIST MLP (summary, fit/evaluate, save/load), the encoder/autoencoder pair, the models-as-layers
autoencoder, the ensemble, the toy ResNet (summary, training), and the custom-layer section. Left out: the
ticket-routing multi-input/multi-output model and the shared-embedding and RNN sections (they need
Embedding/LSTM text layers, outside cnnlab's scope), plot_model images and VGG19 (a weight download).

MNIST is the digits stand-in (conftest) and CIFAR-10 random images; the guide's automatic names depend on
everything created before in its session, so sections that print summaries first create the layers of the
earlier sections ("names used so far") to line the counters up with the guide's output.
"""

import numpy as np

import cnnlab as keras
from cnnlab import layers
from cnnlab import ops

from .conftest import assert_summary


def _mnist_model():
    inputs = keras.Input(shape=(784,))
    img_inputs = keras.Input(shape=(32, 32, 3))
    dense = layers.Dense(64, activation="relu")
    x = dense(inputs)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(10)(x)
    model = keras.Model(inputs=inputs, outputs=outputs, name="mnist_model")
    return inputs, img_inputs, model


def _names_used_so_far(**counts):
    # Stands in for the layers the guide's earlier sections created, so automatic names match its output.
    factories = {
        "dense": lambda: layers.Dense(1),
        "conv2d": lambda: layers.Conv2D(1, 1),
        "max_pooling2d": lambda: layers.MaxPooling2D(),
    }
    for kind, count in counts.items():
        for _ in range(count):
            factories[kind]()


def test_input_has_batch_dimension_none_and_float32_dtype():
    inputs, img_inputs, _ = _mnist_model()
    assert tuple(inputs.shape) == (None, 784)
    assert inputs.dtype == "float32"
    assert tuple(img_inputs.shape) == (None, 32, 32, 3)


def test_mnist_model_summary():
    _, _, model = _mnist_model()
    assert_summary(
        model,
        'Model: "mnist_model"',
        [
            ("input_layer (InputLayer)", "(None, 784)", "0"),
            ("dense (Dense)", "(None, 64)", "50,240"),
            ("dense_1 (Dense)", "(None, 64)", "4,160"),
            ("dense_2 (Dense)", "(None, 10)", "650"),
        ],
        ["Total params: 55,050", "Trainable params: 55,050", "Non-trainable params: 0"],
    )


def test_mnist_model_trains_evaluates_saves_and_loads(mnist_like, in_tmp_dir):
    _, _, model = _mnist_model()
    (x_train, y_train), (x_test, y_test) = mnist_like

    x_train = x_train.reshape(len(x_train), 784).astype("float32") / 255
    x_test = x_test.reshape(len(x_test), 784).astype("float32") / 255

    model.compile(
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        optimizer=keras.optimizers.RMSprop(),
        metrics=["accuracy"],
    )

    history = model.fit(x_train, y_train, batch_size=64, epochs=2, validation_split=0.2, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert history.history["loss"][1] < history.history["loss"][0]

    test_scores = model.evaluate(x_test, y_test, verbose=2)
    assert len(test_scores) == 2  # "Test loss:", test_scores[0]; "Test accuracy:", test_scores[1]
    assert 0.0 <= test_scores[1] <= 1.0

    expected = model.predict(x_test, verbose=0)
    model.save("my_model.keras")
    del model
    model = keras.models.load_model("my_model.keras")
    np.testing.assert_allclose(model.predict(x_test, verbose=0), expected, rtol=1e-6, atol=1e-6)
    assert model.evaluate(x_test, y_test, verbose=0) == test_scores


ENCODER_ROWS = [
    ("img (InputLayer)", "(None, 28, 28, 1)", "0"),
    ("conv2d (Conv2D)", "(None, 26, 26, 16)", "160"),
    ("conv2d_1 (Conv2D)", "(None, 24, 24, 32)", "4,640"),
    ("max_pooling2d (MaxPooling2D)", "(None, 8, 8, 32)", "0"),
    ("conv2d_2 (Conv2D)", "(None, 6, 6, 32)", "9,248"),
    ("conv2d_3 (Conv2D)", "(None, 4, 4, 16)", "4,624"),
    ("global_max_pooling2d (GlobalMaxPooling2D)", "(None, 16)", "0"),
]


def _encoder(input_name):
    encoder_input = keras.Input(shape=(28, 28, 1), name=input_name)
    x = layers.Conv2D(16, 3, activation="relu")(encoder_input)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D(3)(x)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.Conv2D(16, 3, activation="relu")(x)
    encoder_output = layers.GlobalMaxPooling2D()(x)
    encoder = keras.Model(encoder_input, encoder_output, name="encoder")
    return encoder_input, encoder_output, encoder


def test_encoder_summary():
    _mnist_model()
    _, _, encoder = _encoder("img")
    assert_summary(encoder, 'Model: "encoder"', ENCODER_ROWS,
                   ["Total params: 18,672", "Trainable params: 18,672", "Non-trainable params: 0"])


def test_autoencoder_from_the_same_graph_of_layers_maps_28x28x1_to_itself():
    _mnist_model()
    encoder_input, encoder_output, encoder = _encoder("img")

    x = layers.Reshape((4, 4, 1))(encoder_output)
    x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
    x = layers.Conv2DTranspose(32, 3, activation="relu")(x)
    x = layers.UpSampling2D(3)(x)
    x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
    decoder_output = layers.Conv2DTranspose(1, 3, activation="relu")(x)

    autoencoder = keras.Model(encoder_input, decoder_output, name="autoencoder")
    assert_summary(
        autoencoder,
        'Model: "autoencoder"',
        ENCODER_ROWS + [
            ("reshape (Reshape)", "(None, 4, 4, 1)", "0"),
            ("conv2d_transpose (Conv2DTranspose)", "(None, 6, 6, 16)", "160"),
            ("conv2d_transpose_1 (Conv2DTranspose)", "(None, 8, 8, 32)", "4,640"),
            ("up_sampling2d (UpSampling2D)", "(None, 24, 24, 32)", "0"),
            ("conv2d_transpose_2 (Conv2DTranspose)", "(None, 26, 26, 16)", "4,624"),
            ("conv2d_transpose_3 (Conv2DTranspose)", "(None, 28, 28, 1)", "145"),
        ],
        ["Total params: 28,241", "Trainable params: 28,241", "Non-trainable params: 0"],
    )
    assert tuple(autoencoder(np.zeros((2, 28, 28, 1), "float32")).shape) == (2, 28, 28, 1)


def test_models_are_callable_like_layers_encoder_then_decoder():
    _, _, encoder = _encoder("original_img")
    assert encoder.count_params() == 18_672

    decoder_input = keras.Input(shape=(16,), name="encoded_img")
    x = layers.Reshape((4, 4, 1))(decoder_input)
    x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
    x = layers.Conv2DTranspose(32, 3, activation="relu")(x)
    x = layers.UpSampling2D(3)(x)
    x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
    decoder_output = layers.Conv2DTranspose(1, 3, activation="relu")(x)

    decoder = keras.Model(decoder_input, decoder_output, name="decoder")
    assert_summary(
        decoder,
        'Model: "decoder"',
        [
            ("encoded_img (InputLayer)", "(None, 16)", "0"),
            ("reshape (Reshape)", "(None, 4, 4, 1)", "0"),
            ("conv2d_transpose (Conv2DTranspose)", "(None, 6, 6, 16)", "160"),
            ("conv2d_transpose_1 (Conv2DTranspose)", "(None, 8, 8, 32)", "4,640"),
            ("up_sampling2d (UpSampling2D)", "(None, 24, 24, 32)", "0"),
            ("conv2d_transpose_2 (Conv2DTranspose)", "(None, 26, 26, 16)", "4,624"),
            ("conv2d_transpose_3 (Conv2DTranspose)", "(None, 28, 28, 1)", "145"),
        ],
        ["Total params: 9,569", "Trainable params: 9,569", "Non-trainable params: 0"],
    )

    autoencoder_input = keras.Input(shape=(28, 28, 1), name="img")
    encoded_img = encoder(autoencoder_input)
    decoded_img = decoder(encoded_img)
    autoencoder = keras.Model(autoencoder_input, decoded_img, name="autoencoder")
    assert_summary(
        autoencoder,
        'Model: "autoencoder"',
        [
            ("img (InputLayer)", "(None, 28, 28, 1)", "0"),
            ("encoder (Functional)", "(None, 16)", "18,672"),
            ("decoder (Functional)", "(None, 28, 28, 1)", "9,569"),
        ],
        ["Total params: 28,241", "Trainable params: 28,241", "Non-trainable params: 0"],
    )


def test_ensemble_averages_three_models():
    def get_model():
        inputs = keras.Input(shape=(128,))
        outputs = layers.Dense(1)(inputs)
        return keras.Model(inputs, outputs)

    model1 = get_model()
    model2 = get_model()
    model3 = get_model()

    inputs = keras.Input(shape=(128,))
    y1 = model1(inputs)
    y2 = model2(inputs)
    y3 = model3(inputs)
    outputs = layers.average([y1, y2, y3])
    ensemble_model = keras.Model(inputs=inputs, outputs=outputs)

    x = np.random.default_rng(0).random((4, 128), dtype=np.float32)
    expected = (model1.predict(x, verbose=0) + model2.predict(x, verbose=0) + model3.predict(x, verbose=0)) / 3
    np.testing.assert_allclose(ensemble_model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    assert ensemble_model.count_params() == 3 * 129


def _toy_resnet():
    inputs = keras.Input(shape=(32, 32, 3), name="img")
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    block_1_output = layers.MaxPooling2D(3)(x)

    x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_1_output)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    block_2_output = layers.add([x, block_1_output])

    x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_2_output)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    block_3_output = layers.add([x, block_2_output])

    x = layers.Conv2D(64, 3, activation="relu")(block_3_output)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(10)(x)

    return keras.Model(inputs, outputs, name="toy_resnet")


def test_toy_resnet_summary():
    # Before the toy ResNet the guide made 6 automatic-named Dense, 8 Conv2D and 2 MaxPooling2D layers.
    _names_used_so_far(dense=6, conv2d=8, max_pooling2d=2)
    model = _toy_resnet()
    assert_summary(
        model,
        'Model: "toy_resnet"',
        [
            ("img (InputLayer)", "(None, 32, 32, 3)", "0"),
            ("conv2d_8 (Conv2D)", "(None, 30, 30, 32)", "896"),
            ("conv2d_9 (Conv2D)", "(None, 28, 28, 64)", "18,496"),
            ("max_pooling2d_2 (MaxPooling2D)", "(None, 9, 9, 64)", "0"),
            ("conv2d_10 (Conv2D)", "(None, 9, 9, 64)", "36,928"),
            ("conv2d_11 (Conv2D)", "(None, 9, 9, 64)", "36,928"),
            ("add (Add)", "(None, 9, 9, 64)", "0"),
            ("conv2d_12 (Conv2D)", "(None, 9, 9, 64)", "36,928"),
            ("conv2d_13 (Conv2D)", "(None, 9, 9, 64)", "36,928"),
            ("add_1 (Add)", "(None, 9, 9, 64)", "0"),
            ("conv2d_14 (Conv2D)", "(None, 7, 7, 64)", "36,928"),
            ("global_average_pooling2d (GlobalAveragePooling2D)", "(None, 64)", "0"),
            ("dense_6 (Dense)", "(None, 256)", "16,640"),
            ("dropout (Dropout)", "(None, 256)", "0"),
            ("dense_7 (Dense)", "(None, 10)", "2,570"),
        ],
        ["Total params: 223,242", "Trainable params: 223,242", "Non-trainable params: 0"],
        connected=[
            "-",
            "img[0][0]",
            "conv2d_8[0][0]",
            "conv2d_9[0][0]",
            "max_pooling2d_2[0][0]",
            "conv2d_10[0][0]",
            "conv2d_11[0][0], max_pooling2d_2[0][0]",
            "add[0][0]",
            "conv2d_12[0][0]",
            "conv2d_13[0][0], add[0][0]",
            "add_1[0][0]",
            "conv2d_14[0][0]",
            "global_average_pooling2d[0][0]",
            "dense_6[0][0]",
            "dropout[0][0]",
        ],
    )


def test_toy_resnet_trains_on_cifar_shaped_data(cifar_like):
    model = _toy_resnet()
    (x_train, y_train), (x_test, y_test) = cifar_like

    x_train = x_train.astype("float32") / 255.0
    x_test = x_test.astype("float32") / 255.0
    y_train = keras.utils.to_categorical(y_train, 10)
    y_test = keras.utils.to_categorical(y_test, 10)

    model.compile(
        optimizer=keras.optimizers.RMSprop(1e-3),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),
        metrics=["acc"],
    )
    history = model.fit(x_train[:1000], y_train[:1000], batch_size=64, epochs=1, validation_split=0.2, verbose=0)
    assert set(history.history) == {"loss", "acc", "val_loss", "val_acc"}
    assert model.predict(x_test, verbose=0).shape == (64, 10)


def test_custom_dense_layer_in_a_functional_model_round_trips_through_config():
    class CustomDense(layers.Layer):
        def __init__(self, units=32):
            super().__init__()
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(
                shape=(input_shape[-1], self.units),
                initializer="random_normal",
                trainable=True,
            )
            self.b = self.add_weight(
                shape=(self.units,), initializer="random_normal", trainable=True
            )

        def call(self, inputs):
            return ops.matmul(inputs, self.w) + self.b

        def get_config(self):
            return {"units": self.units}

    inputs = keras.Input((4,))
    outputs = CustomDense(10)(inputs)

    model = keras.Model(inputs, outputs)
    config = model.get_config()

    new_model = keras.Model.from_config(config, custom_objects={"CustomDense": CustomDense})
    assert tuple(new_model.output_shape) == (None, 10)
    assert new_model.count_params() == 50
