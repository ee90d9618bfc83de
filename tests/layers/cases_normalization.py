"""Layer-registry cases of the normalization and regularization family (see registry_cases.py for the tuple form)."""

from cnnlab import layers

CASES = [
    (layers.LayerNormalization, {}, (2, 5, 5, 3), (2, 5, 5, 3), {"w": [(3,), (3,)]}),
    (layers.LayerNormalization, {"axis": [1, 2], "epsilon": 1e-6, "center": False}, (2, 4, 5, 3), (2, 4, 5, 3),
     {"w": [(4, 5)]}),
    (layers.LayerNormalization, {"axis": 1, "scale": False}, (2, 4, 5, 3), (2, 4, 5, 3), {"w": [(4,)]}),
    (layers.GroupNormalization, {"groups": 2}, (2, 5, 5, 4), (2, 5, 5, 4), {"w": [(4,), (4,)]}),
    (layers.GroupNormalization, {"groups": -1, "axis": 1}, (2, 6, 5, 5), (2, 6, 5, 5), {"w": [(6,), (6,)]}),
    (layers.UnitNormalization, {}, (2, 6), (2, 6), {}),
    (layers.UnitNormalization, {"axis": [1, 2]}, (2, 3, 4, 2), (2, 3, 4, 2), {}),
    (layers.SpatialDropout1D, {"rate": 0.5}, (4, 10, 16), (4, 10, 16), {"differs": True}),
    (layers.SpatialDropout2D, {"rate": 0.5}, (4, 6, 6, 16), (4, 6, 6, 16), {"differs": True}),
    (layers.SpatialDropout2D, {"rate": 0.5, "data_format": "channels_first"}, (4, 16, 6, 6), (4, 16, 6, 6),
     {"differs": True}),
    (layers.SpatialDropout3D, {"rate": 0.5, "seed": 3}, (4, 3, 3, 3, 16), (4, 3, 3, 3, 16), {"differs": True}),
    (layers.GaussianNoise, {"stddev": 0.1}, (4, 8), (4, 8), {"differs": True}),
    (layers.GaussianDropout, {"rate": 0.3}, (4, 8), (4, 8), {"differs": True}),
    (layers.AlphaDropout, {"rate": 0.3}, (4, 8), (4, 8), {"differs": True}),
    (layers.AlphaDropout, {"rate": 0.3, "noise_shape": (None, 1, 1, 3)}, (4, 5, 5, 3), (4, 5, 5, 3),
     {"differs": True}),
    (layers.ActivityRegularization, {"l1": 0.01, "l2": 0.02}, (2, 6), (2, 6), {}),
]

NOT_DATA_LAYERS: dict[str, str] = {}
