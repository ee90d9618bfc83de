"""Layer-registry cases of the conv family (see registry_cases.py for the tuple form).

The Convolution* and SeparableConvolution* aliases are the same class objects, so these lines cover them.
"""

from cnnlab import layers

CASES = [
    (layers.Conv1D, {"filters": 4, "kernel_size": 3}, (2, 10, 3), (2, 8, 4), {"w": [(3, 3, 4), (4,)]}),
    (layers.Conv1D, {"filters": 4, "kernel_size": 3, "padding": "causal", "dilation_rate": 2, "use_bias": False},
     (2, 10, 3), (2, 10, 4), {"w": [(3, 3, 4)]}),
    (layers.Conv1D, {"filters": 4, "kernel_size": 2, "strides": 2, "padding": "same", "groups": 2,
                     "data_format": "channels_first"}, (2, 4, 9), (2, 4, 5), {"w": [(2, 2, 4), (4,)]}),
    (layers.Conv3D, {"filters": 3, "kernel_size": (2, 3, 3), "strides": (1, 2, 2), "padding": "same"},
     (2, 4, 7, 8, 2), (2, 4, 4, 4, 3), {"w": [(2, 3, 3, 2, 3), (3,)]}),
    (layers.Conv3D, {"filters": 2, "kernel_size": 2, "data_format": "channels_first"}, (1, 3, 4, 4, 4),
     (1, 2, 3, 3, 3), {"w": [(2, 2, 2, 3, 2), (2,)]}),
    (layers.Conv1DTranspose, {"filters": 4, "kernel_size": 3, "strides": 2}, (2, 5, 3), (2, 11, 4),
     {"w": [(3, 4, 3), (4,)]}),
    (layers.Conv1DTranspose, {"filters": 2, "kernel_size": 4, "strides": 2, "padding": "same",
                              "data_format": "channels_first"}, (2, 3, 5), (2, 2, 10), {"w": [(4, 2, 3), (2,)]}),
    (layers.Conv2DTranspose, {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"}, (2, 5, 6, 3),
     (2, 10, 12, 4), {"w": [(3, 3, 4, 3), (4,)]}),
    (layers.Conv2DTranspose, {"filters": 2, "kernel_size": (3, 2), "strides": (3, 2), "output_padding": (1, 0),
                              "use_bias": False}, (1, 4, 4, 2), (1, 13, 8, 2), {"w": [(3, 2, 2, 2)]}),
    (layers.Conv2DTranspose, {"filters": 2, "kernel_size": 3, "dilation_rate": 2}, (1, 4, 4, 2), (1, 8, 8, 2),
     {"w": [(3, 3, 2, 2), (2,)]}),
    (layers.Conv3DTranspose, {"filters": 2, "kernel_size": 2, "strides": 2, "padding": "same"}, (1, 2, 3, 3, 3),
     (1, 4, 6, 6, 2), {"w": [(2, 2, 2, 2, 3), (2,)]}),
    (layers.SeparableConv1D, {"filters": 5, "kernel_size": 3, "depth_multiplier": 2, "padding": "same"},
     (2, 9, 3), (2, 9, 5), {"w": [(3, 3, 2), (1, 6, 5), (5,)]}),
    (layers.SeparableConv2D, {"filters": 4, "kernel_size": 3, "strides": 2, "activation": "relu"}, (2, 9, 9, 3),
     (2, 4, 4, 4), {"w": [(3, 3, 3, 1), (1, 1, 3, 4), (4,)]}),
    (layers.SeparableConv2D, {"filters": 4, "kernel_size": 3, "padding": "same", "use_bias": False,
                              "data_format": "channels_first"}, (2, 3, 6, 6), (2, 4, 6, 6),
     {"w": [(3, 3, 3, 1), (1, 1, 3, 4)]}),
    (layers.DepthwiseConv1D, {"kernel_size": 3, "depth_multiplier": 2}, (2, 10, 3), (2, 8, 6),
     {"w": [(3, 3, 2), (6,)]}),
    (layers.DepthwiseConv2D, {"kernel_size": 3, "strides": 2, "padding": "same"}, (2, 7, 8, 4), (2, 4, 4, 4),
     {"w": [(3, 3, 4, 1), (4,)]}),
    (layers.DepthwiseConv2D, {"kernel_size": (3, 2), "depth_multiplier": 3, "dilation_rate": 2, "use_bias": False,
                              "data_format": "channels_first"}, (1, 2, 8, 8), (1, 6, 4, 6), {"w": [(3, 2, 2, 3)]}),
]

NOT_DATA_LAYERS: dict[str, str] = {}
