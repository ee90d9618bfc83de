"""Functional.layers follows Keras's order (deepest first, ties in depth-first order from the outputs)."""

import cnnlab as keras

L = keras.layers


def _names(model):
    return [type(layer).__name__ for layer in model.layers]


def test_second_input_comes_after_the_first_inputs_branch():
    a, b = keras.Input((8, 8, 3)), keras.Input((4,))
    x = L.Flatten()(L.Conv2D(4, 3)(a))
    model = keras.Model([a, b], L.Dense(2)(L.Concatenate()([x, L.Dense(5)(b)])))
    # Keras 3.15: input_layer, conv2d, input_layer_1, flatten, dense, concatenate, dense_1
    assert _names(model) == ["InputLayer", "Conv2D", "InputLayer", "Flatten", "Dense", "Concatenate", "Dense"]
    assert [w.shape for w in model.get_weights()] == [(3, 3, 3, 4), (4,), (4, 5), (5,), (149, 2), (2,)]


def test_shared_layer_and_unused_branch_order():
    a, b, c = keras.Input((6,)), keras.Input((6,)), keras.Input((3,))
    shared = L.Dense(3)
    u, v = shared(a), shared(b)
    model = keras.Model([a, b, c], [L.Dense(1)(L.Add()([u, v, c])), L.Dense(2)(u)])
    assert _names(model) == ["InputLayer", "InputLayer", "Dense", "InputLayer", "Add", "Dense", "Dense"]


def test_input_no_output_depends_on_comes_first_among_the_last_depth():
    a, unused = keras.Input((3,)), keras.Input((2,))
    model = keras.Model([a, unused], L.Dense(1)(a))
    assert [layer is unused.node.layer for layer in model.layers] == [False, True, False]
