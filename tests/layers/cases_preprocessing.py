"""Layer-registry cases of the preprocessing family (see registry_cases.py for the tuple form).

Random layers are the identity outside training and augment with training=True: "differs": True.
"""

from cnnlab import layers

CASES = [
    (layers.Resizing, {"height": 5, "width": 3}, (2, 8, 6, 3), (2, 5, 3, 3), {}),
    (layers.Resizing, {"height": 4, "width": 4, "interpolation": "nearest", "crop_to_aspect_ratio": True},
     (2, 8, 6, 1), (2, 4, 4, 1), {}),
    (layers.Resizing, {"height": 6, "width": 6, "pad_to_aspect_ratio": True, "data_format": "channels_first"},
     (2, 3, 8, 4), (2, 3, 6, 6), {}),
    (layers.CenterCrop, {"height": 4, "width": 3}, (2, 8, 6, 3), (2, 4, 3, 3), {}),
    (layers.Normalization, {}, (4, 5, 5, 3), (4, 5, 5, 3), {"w": [(3,), (3,), ()], "nt": 3}),
    (layers.Normalization, {"axis": None, "mean": 2.0, "variance": 4.0, "invert": True}, (2, 6), (2, 6), {}),
    (layers.RandomFlip, {}, (4, 6, 6, 3), (4, 6, 6, 3), {"differs": True}),
    (layers.RandomFlip, {"mode": "horizontal", "seed": 3}, (8, 5, 5, 1), (8, 5, 5, 1), {"differs": True}),
    (layers.RandomRotation, {"factor": 0.2}, (2, 8, 8, 3), (2, 8, 8, 3), {"differs": True}),
    (layers.RandomRotation, {"factor": (0.1, 0.3), "fill_mode": "constant", "interpolation": "nearest",
                             "data_format": "channels_first"}, (2, 3, 8, 8), (2, 3, 8, 8), {"differs": True}),
    (layers.RandomZoom, {"height_factor": 0.3}, (2, 8, 8, 3), (2, 8, 8, 3), {"differs": True}),
    (layers.RandomZoom, {"height_factor": (-0.3, -0.1), "width_factor": (0.1, 0.2), "fill_mode": "wrap"},
     (2, 8, 8, 1), (2, 8, 8, 1), {"differs": True}),
    (layers.RandomTranslation, {"height_factor": 0.2, "width_factor": (-0.2, 0.3), "fill_mode": "nearest"},
     (2, 8, 8, 3), (2, 8, 8, 3), {"differs": True}),
    (layers.RandomCrop, {"height": 4, "width": 5, "seed": 1}, (2, 8, 8, 3), (2, 4, 5, 3), {"differs": True}),
    (layers.RandomContrast, {"factor": 0.5}, (2, 6, 6, 3), (2, 6, 6, 3), {"differs": True}),
    (layers.RandomBrightness, {"factor": 0.3, "value_range": (-5, 5)}, (2, 6, 6, 3), (2, 6, 6, 3),
     {"differs": True}),
    (layers.RandAugment, {"value_range": (-3, 3), "num_ops": 3, "seed": 2}, (2, 8, 8, 3), (2, 8, 8, 3),
     {"differs": True}),
    (layers.MixUp, {}, (4, 6, 6, 3), (4, 6, 6, 3), {"differs": True}),
    (layers.CutMix, {"seed": 5}, (4, 6, 6, 3), (4, 6, 6, 3), {"differs": True}),
]

NOT_DATA_LAYERS: dict[str, str] = {}
