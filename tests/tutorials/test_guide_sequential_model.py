"""keras.io guide "The Sequential model" (guides/sequential_model.py, Keras 3 edition), ported to cnnlab.

The guide's code runs in order in one session, so its automatic names (``sequential_3``, ``dense_7``) depend
on everything created before; ``_guide_up_to_first_summary`` replays that code so the names line up.
"""

import numpy as np

import cnnlab as keras
from cnnlab import layers
from cnnlab import ops

from .conftest import assert_summary


def _guide_up_to_first_summary():
    model = keras.Sequential(
        [
            layers.Dense(2, activation="relu", name="layer1"),
            layers.Dense(3, activation="relu", name="layer2"),
            layers.Dense(4, name="layer3"),
        ]
    )
    x = ops.ones((3, 3))
    y = model(x)
    first = (model, y)

    layer1 = layers.Dense(2, activation="relu", name="layer1")
    layer2 = layers.Dense(3, activation="relu", name="layer2")
    layer3 = layers.Dense(4, name="layer3")
    x = ops.ones((3, 3))
    y = layer3(layer2(layer1(x)))
    equivalent = y

    model = keras.Sequential(
        [
            layers.Dense(2, activation="relu"),
            layers.Dense(3, activation="relu"),
            layers.Dense(4),
        ]
    )
    listed = model.layers

    model = keras.Sequential()
    model.add(layers.Dense(2, activation="relu"))
    model.add(layers.Dense(3, activation="relu"))
    model.add(layers.Dense(4))
    model.pop()
    popped = len(model.layers)

    model = keras.Sequential(name="my_sequential")
    model.add(layers.Dense(2, activation="relu", name="layer1"))
    model.add(layers.Dense(3, activation="relu", name="layer2"))
    model.add(layers.Dense(4, name="layer3"))

    layer = layers.Dense(3)
    empty_weights = list(layer.weights)
    x = ops.ones((1, 4))
    y = layer(x)
    lone_layer = layer

    model = keras.Sequential(
        [
            layers.Dense(2, activation="relu"),
            layers.Dense(3, activation="relu"),
            layers.Dense(4),
        ]
    )
    x = ops.ones((1, 4))
    y = model(x)
    return {
        "first": first, "equivalent": equivalent, "listed": listed, "popped": popped,
        "empty_weights": empty_weights, "lone_layer": lone_layer, "model": model,
    }


def test_three_dense_layers_map_3_features_to_4():
    steps = _guide_up_to_first_summary()
    model, y = steps["first"]
    assert tuple(y.shape) == (3, 4)
    assert tuple(steps["equivalent"].shape) == (3, 4)
    assert len(steps["listed"]) == 3


def test_pop_removes_the_last_layer():
    assert _guide_up_to_first_summary()["popped"] == 2  # the guide prints 2


def test_a_layer_has_no_weights_until_called_then_kernel_4x3_and_bias_3():
    steps = _guide_up_to_first_summary()
    assert steps["empty_weights"] == []
    layer = steps["lone_layer"]
    assert [tuple(w.shape) for w in layer.weights] == [(4, 3), (3,)]
    assert [w.path for w in layer.weights] == ["dense_6/kernel", "dense_6/bias"]
    np.testing.assert_array_equal(layer.weights[1].numpy(), np.zeros(3, np.float32))


def test_model_called_once_has_6_weights_and_the_guides_summary():
    model = _guide_up_to_first_summary()["model"]
    assert len(model.weights) == 6  # "Number of weights after calling the model: 6"
    assert_summary(
        model,
        'Model: "sequential_3"',
        [
            ("dense_7 (Dense)", "(1, 2)", "10"),
            ("dense_8 (Dense)", "(1, 3)", "9"),
            ("dense_9 (Dense)", "(1, 4)", "16"),
        ],
        ["Total params: 35", "Trainable params: 35", "Non-trainable params: 0"],
    )


def test_input_first_shows_the_summary_so_far_and_is_not_a_layer():
    _guide_up_to_first_summary()
    model = keras.Sequential()
    model.add(keras.Input(shape=(4,)))
    model.add(layers.Dense(2, activation="relu"))
    assert_summary(
        model,
        'Model: "sequential_4"',
        [("dense_10 (Dense)", "(None, 2)", "10")],
        ["Total params: 10", "Trainable params: 10", "Non-trainable params: 0"],
    )
    assert repr(model.layers) == "[<Dense name=dense_10, built=True>]"


def test_add_then_summary_debugging_workflow():
    _guide_up_to_first_summary()
    model = keras.Sequential()
    model.add(keras.Input(shape=(4,)))
    model.add(layers.Dense(2, activation="relu"))

    model = keras.Sequential()
    model.add(keras.Input(shape=(250, 250, 3)))  # 250x250 RGB images
    model.add(layers.Conv2D(32, 5, strides=2, activation="relu"))
    model.add(layers.Conv2D(32, 3, activation="relu"))
    model.add(layers.MaxPooling2D(3))
    first_rows = [
        ("conv2d (Conv2D)", "(None, 123, 123, 32)", "2,432"),
        ("conv2d_1 (Conv2D)", "(None, 121, 121, 32)", "9,248"),
        ("max_pooling2d (MaxPooling2D)", "(None, 40, 40, 32)", "0"),
    ]
    assert_summary(model, 'Model: "sequential_5"', first_rows,
                   ["Total params: 11,680", "Trainable params: 11,680", "Non-trainable params: 0"])

    model.add(layers.Conv2D(32, 3, activation="relu"))
    model.add(layers.Conv2D(32, 3, activation="relu"))
    model.add(layers.MaxPooling2D(3))
    model.add(layers.Conv2D(32, 3, activation="relu"))
    model.add(layers.Conv2D(32, 3, activation="relu"))
    model.add(layers.MaxPooling2D(2))
    assert_summary(
        model,
        'Model: "sequential_5"',
        first_rows + [
            ("conv2d_2 (Conv2D)", "(None, 38, 38, 32)", "9,248"),
            ("conv2d_3 (Conv2D)", "(None, 36, 36, 32)", "9,248"),
            ("max_pooling2d_1 (MaxPooling2D)", "(None, 12, 12, 32)", "0"),
            ("conv2d_4 (Conv2D)", "(None, 10, 10, 32)", "9,248"),
            ("conv2d_5 (Conv2D)", "(None, 8, 8, 32)", "9,248"),
            ("max_pooling2d_2 (MaxPooling2D)", "(None, 4, 4, 32)", "0"),
        ],
        ["Total params: 48,672", "Trainable params: 48,672", "Non-trainable params: 0"],
    )

    model.add(layers.GlobalMaxPooling2D())
    model.add(layers.Dense(10))
    assert tuple(model.output_shape) == (None, 10)


def test_feature_extractor_returns_every_intermediate_output():
    initial_model = keras.Sequential(
        [
            keras.Input(shape=(250, 250, 3)),
            layers.Conv2D(32, 5, strides=2, activation="relu"),
            layers.Conv2D(32, 3, activation="relu"),
            layers.Conv2D(32, 3, activation="relu"),
        ]
    )
    feature_extractor = keras.Model(
        inputs=initial_model.inputs,
        outputs=[layer.output for layer in initial_model.layers],
    )
    x = ops.ones((1, 250, 250, 3))
    features = feature_extractor(x)
    assert [tuple(f.shape) for f in features] == [(1, 123, 123, 32), (1, 121, 121, 32), (1, 119, 119, 32)]


def test_feature_extractor_from_one_named_layer():
    initial_model = keras.Sequential(
        [
            keras.Input(shape=(250, 250, 3)),
            layers.Conv2D(32, 5, strides=2, activation="relu"),
            layers.Conv2D(32, 3, activation="relu", name="my_intermediate_layer"),
            layers.Conv2D(32, 3, activation="relu"),
        ]
    )
    feature_extractor = keras.Model(
        inputs=initial_model.inputs,
        outputs=initial_model.get_layer(name="my_intermediate_layer").output,
    )
    x = ops.ones((1, 250, 250, 3))
    features = feature_extractor(x)
    assert tuple(features.shape) == (1, 121, 121, 32)


def test_freezing_all_but_the_last_layer_trains_only_the_last(in_tmp_dir):
    # The guide's first transfer-learning blueprint; its "..." are filled with the smallest real arguments.
    model = keras.Sequential([
        keras.Input(shape=(784,)),
        layers.Dense(32, activation='relu'),
        layers.Dense(32, activation='relu'),
        layers.Dense(32, activation='relu'),
        layers.Dense(10),
    ])
    model.save_weights("pretrained.weights.h5")
    model.load_weights("pretrained.weights.h5")

    for layer in model.layers[:-1]:
        layer.trainable = False

    before = [w.copy() for w in model.get_weights()]
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    model.fit(rng.random((64, 784), dtype=np.float32), rng.integers(0, 10, 64), epochs=1, verbose=0)
    after = model.get_weights()
    for old, new in zip(before[:-2], after[:-2]):
        np.testing.assert_array_equal(old, new)
    assert not np.array_equal(before[-2], after[-2])
    assert len(model.trainable_weights) == 2
