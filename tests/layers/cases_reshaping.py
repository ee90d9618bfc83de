"""Layer-registry cases of the pooling and reshaping family (see registry_cases.py for the tuple form)."""

from cnnlab import layers

CASES = [
    # local pooling, 1-D and 3-D (the 2-D cases are in test_layer_registry.py)
    (layers.MaxPooling1D, {}, (2, 9, 3), (2, 4, 3), {}),
    (layers.MaxPool1D, {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 8, 3), (2, 4, 3), {}),
    (layers.AveragePooling1D, {"pool_size": 3}, (2, 10, 2), (2, 3, 2), {}),
    (layers.AvgPool1D, {"pool_size": 2, "padding": "same", "data_format": "channels_first"}, (2, 3, 7), (2, 3, 4), {}),
    (layers.MaxPooling3D, {}, (2, 4, 5, 6, 2), (2, 2, 2, 3, 2), {}),
    (layers.MaxPool3D, {"pool_size": (2, 3, 2), "strides": 1, "padding": "same"}, (1, 3, 4, 5, 2), (1, 3, 4, 5, 2),
     {}),
    (layers.AveragePooling3D, {"pool_size": 2, "padding": "same"}, (2, 3, 5, 4, 2), (2, 2, 3, 2, 2), {}),
    (layers.AvgPool3D, {"pool_size": 2, "data_format": "channels_first"}, (1, 2, 4, 4, 6), (1, 2, 2, 2, 3), {}),
    # global pooling, 1-D and 3-D
    (layers.GlobalAveragePooling1D, {}, (2, 7, 3), (2, 3), {}),
    (layers.GlobalAvgPool1D, {"keepdims": True}, (2, 7, 3), (2, 1, 3), {}),
    (layers.GlobalMaxPooling1D, {"data_format": "channels_first"}, (2, 3, 7), (2, 3), {}),
    (layers.GlobalMaxPool1D, {}, (2, 7, 3), (2, 3), {}),
    (layers.GlobalAveragePooling3D, {}, (2, 3, 4, 5, 2), (2, 2), {}),
    (layers.GlobalAvgPool3D, {"data_format": "channels_first", "keepdims": True}, (2, 2, 3, 4, 5), (2, 2, 1, 1, 1),
     {}),
    (layers.GlobalMaxPooling3D, {"keepdims": True}, (2, 3, 4, 5, 2), (2, 1, 1, 1, 2), {}),
    (layers.GlobalMaxPool3D, {}, (2, 3, 4, 5, 2), (2, 2), {}),
    # up-sampling
    (layers.UpSampling1D, {}, (2, 5, 3), (2, 10, 3), {}),
    (layers.UpSampling1D, {"size": 3}, (2, 4, 3), (2, 12, 3), {}),
    (layers.UpSampling2D, {}, (2, 3, 4, 2), (2, 6, 8, 2), {}),
    (layers.UpSampling2D, {"size": (2, 3), "interpolation": "bilinear"}, (2, 3, 4, 2), (2, 6, 12, 2), {}),
    (layers.UpSampling2D, {"size": 3, "interpolation": "bicubic", "data_format": "channels_first"}, (1, 2, 4, 5),
     (1, 2, 12, 15), {}),
    (layers.UpSampling3D, {}, (1, 2, 3, 4, 2), (1, 4, 6, 8, 2), {}),
    (layers.UpSampling3D, {"size": (1, 2, 3), "data_format": "channels_first"}, (1, 2, 2, 3, 4), (1, 2, 2, 6, 12),
     {}),
    # cropping and zero padding (ZeroPadding2D's case is in test_layer_registry.py)
    (layers.Cropping1D, {}, (2, 6, 3), (2, 4, 3), {}),
    (layers.Cropping1D, {"cropping": (0, 2)}, (2, 6, 3), (2, 4, 3), {}),
    (layers.Cropping2D, {"cropping": ((1, 2), (0, 3))}, (2, 7, 8, 3), (2, 4, 5, 3), {}),
    (layers.Cropping2D, {"cropping": 1, "data_format": "channels_first"}, (2, 3, 5, 6), (2, 3, 3, 4), {}),
    (layers.Cropping3D, {}, (1, 4, 5, 6, 2), (1, 2, 3, 4, 2), {}),
    (layers.Cropping3D, {"cropping": (0, (1, 0), 2), "data_format": "channels_first"}, (1, 2, 4, 5, 6),
     (1, 2, 4, 4, 2), {}),
    (layers.ZeroPadding1D, {}, (2, 5, 3), (2, 7, 3), {}),
    (layers.ZeroPadding1D, {"padding": (0, 3), "data_format": "channels_first"}, (2, 3, 5), (2, 3, 8), {}),
    (layers.ZeroPadding3D, {}, (1, 2, 3, 4, 2), (1, 4, 5, 6, 2), {}),
    (layers.ZeroPadding3D, {"padding": (1, (0, 2), 0), "data_format": "channels_first"}, (1, 2, 2, 3, 4),
     (1, 2, 4, 5, 4), {}),
    # axes
    (layers.Permute, {"dims": (2, 1)}, (2, 5, 3), (2, 3, 5), {}),
    (layers.Permute, {"dims": (3, 1, 2)}, (2, 4, 5, 3), (2, 3, 4, 5), {}),
    (layers.RepeatVector, {"n": 4}, (2, 3), (2, 4, 3), {}),
    (layers.Identity, {}, (2, 4, 4, 3), (2, 4, 4, 3), {}),
]

NOT_DATA_LAYERS: dict[str, str] = {}
