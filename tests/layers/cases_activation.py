"""Layer-registry cases of the activation family (see registry_cases.py for the tuple form)."""

from cnnlab import layers

CASES = [
    (layers.ELU, {}, (2, 6), (2, 6), {}),
    (layers.ELU, {"alpha": 0.5}, (2, 3, 4), (2, 3, 4), {}),
    (layers.PReLU, {}, (2, 4, 4, 3), (2, 4, 4, 3), {"w": [(4, 4, 3)]}),
    (layers.PReLU, {"shared_axes": [1, 2], "alpha_initializer": "ones"}, (2, 4, 4, 3), (2, 4, 4, 3),
     {"w": [(1, 1, 3)]}),
    (layers.Softmax, {"axis": [1, 2]}, (2, 3, 4, 2), (2, 3, 4, 2), {}),
    (layers.Activation, {"activation": "sparsemax"}, (2, 6), (2, 6), {}),
]

NOT_DATA_LAYERS: dict[str, str] = {}
