"""Image preprocessing and augmentation layers, Keras 3's names, arguments and defaults."""

from cnnlab.layers.preprocessing.color import RandomBrightness, RandomContrast
from cnnlab.layers.preprocessing.geometric import RandomFlip, RandomRotation, RandomTranslation, RandomZoom
from cnnlab.layers.preprocessing.mixing import CutMix, MixUp
from cnnlab.layers.preprocessing.normalization import Normalization, Rescaling
from cnnlab.layers.preprocessing.rand_augment import RandAugment
from cnnlab.layers.preprocessing.sizing import CenterCrop, RandomCrop, Resizing

__all__ = [
    "CenterCrop", "CutMix", "MixUp", "Normalization", "RandAugment", "RandomBrightness", "RandomContrast",
    "RandomCrop", "RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom", "Rescaling", "Resizing",
]
