"""Random augmentation layers: NumPy references for fixed warps, statistics, seeds, inference identity, fit."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import cnnlab
from cnnlab import layers
from cnnlab.errors import ConfigError
from cnnlab.layers.preprocessing import rand_augment

RNG = np.random.default_rng(0)


# ------------------------------------------------------------------------------------- NumPy reference
def _fold_reference(coord, size, mode):
    """TF's fill modes on one coordinate, written out case by case."""
    if mode == "constant":
        return coord
    if mode == "nearest":
        return min(max(coord, 0.0), size - 1.0)
    if mode == "reflect":  # mirror about -0.5 and size - 0.5, period 2 * size
        coord = (coord + 0.5) % (2 * size)
        coord = coord if coord < size else 2 * size - coord
        return min(max(coord - 0.5, 0.0), size - 1.0)
    if coord < 0:  # wrap, TF's formula
        coord += size * (math.trunc(-coord / (size - 1)) + 1)
    elif coord > size - 1:
        coord -= size * math.trunc(coord / (size - 1))
    return min(max(coord, 0.0), size - 1.0)


def _wrap_tie(coord, size):
    outside = coord < 1e-4 or coord > size - 1 - 1e-4  # a float hair outside the edge wraps a whole image away
    return outside and abs(coord / (size - 1) - round(coord / (size - 1))) < 1e-4


def warp_reference(image, matrix, interpolation, fill_mode, fill_value=0.0):
    """ImageProjectiveTransformV3 on one HWC image, pixel by pixel."""
    height, width, _ = image.shape
    # float32 coordinates as TF computes them: wrap jumps at multiples of size - 1, so float64 would differ there.
    a0, a1, a2, b0, b1, b2 = (np.float32(v) for v in matrix[:6])

    def read(y, x):
        inside = 0 <= y < height and 0 <= x < width
        return image[y, x] if inside else np.full(image.shape[-1], fill_value)

    out = np.zeros(image.shape)
    for y in range(height):
        for x in range(width):
            raw_x = float(a0 * np.float32(x) + a1 * np.float32(y) + a2)
            raw_y = float(b0 * np.float32(x) + b1 * np.float32(y) + b2)
            if fill_mode == "wrap" and any(_wrap_tie(r, n) for r, n in ((raw_x, width), (raw_y, height))):
                out[y, x] = np.nan  # TF's wrap jumps by a whole pixel at these points: either side is right
                continue
            sx, sy = _fold_reference(raw_x, width, fill_mode), _fold_reference(raw_y, height, fill_mode)
            if interpolation == "nearest":
                out[y, x] = read(int(math.floor(sy + 0.5)), int(math.floor(sx + 0.5)))
                continue
            x0, y0 = math.floor(sx), math.floor(sy)
            fx, fy = sx - x0, sy - y0
            top = (1 - fx) * read(y0, x0) + fx * read(y0, x0 + 1)
            bottom = (1 - fx) * read(y0 + 1, x0) + fx * read(y0 + 1, x0 + 1)
            out[y, x] = (1 - fy) * top + fy * bottom
    return out


def rotation_matrix(degrees, height, width):
    theta = math.radians(degrees)
    cx, cy = (width - 1) / 2, (height - 1) / 2
    cos, sin = math.cos(theta), math.sin(theta)
    return [cos, -sin, cx - cx * cos + cy * sin, sin, cos, cy - cx * sin - cy * cos]


IMAGES = RNG.uniform(0, 255, (2, 7, 9, 2)).astype(np.float32)


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
@pytest.mark.parametrize("fill_mode", ["reflect", "constant", "nearest", "wrap"])
@pytest.mark.parametrize("turn", [0.25, 0.1])
def test_fixed_rotation_matches_the_numpy_warp(turn, fill_mode, interpolation):
    layer = layers.RandomRotation((turn, turn), fill_mode=fill_mode, interpolation=interpolation, fill_value=3.0)
    got = layer(IMAGES, training=True).numpy()
    matrix = rotation_matrix(turn * 360, 7, 9)
    for i in range(2):
        want = warp_reference(IMAGES[i], matrix, interpolation, fill_mode, 3.0)
        close = np.isclose(got[i], want, rtol=1e-4, atol=1e-2) | np.isnan(want)
        assert close.mean() > (0.97 if interpolation == "nearest" else 0.999)  # float ties may round apart


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
@pytest.mark.parametrize("fill_mode", ["reflect", "constant", "nearest", "wrap"])
def test_fixed_translation_matches_the_numpy_warp(fill_mode, interpolation):
    layer = layers.RandomTranslation((0.3, 0.3), (-0.25, -0.25), fill_mode=fill_mode, interpolation=interpolation)
    got = layer(IMAGES, training=True).numpy()
    matrix = [1, 0, 0.25 * 9, 0, 1, -0.3 * 7]
    for i in range(2):
        np.testing.assert_allclose(got[i], warp_reference(IMAGES[i], matrix, interpolation, fill_mode),
                                   rtol=1e-4, atol=1e-2)


def test_fixed_zoom_matches_the_numpy_warp():
    layer = layers.RandomZoom((0.5, 0.5), (-0.2, -0.2), fill_mode="constant")
    got = layer(IMAGES, training=True).numpy()
    matrix = [0.8, 0, 4 * 0.2, 0, 1.5, 3 * -0.5]
    np.testing.assert_allclose(got[0], warp_reference(IMAGES[0], matrix, "bilinear", "constant"), rtol=1e-4,
                               atol=1e-2)


# --------------------------------------------------------------------------------------------- statistics
def test_random_flip_flips_about_half_of_the_images_exactly():
    x = RNG.uniform(size=(2000, 3, 4, 1)).astype(np.float32)
    got = layers.RandomFlip("horizontal", seed=1)(x, training=True).numpy()
    flipped = np.all(got == x[:, :, ::-1], axis=(1, 2, 3))
    kept = np.all(got == x, axis=(1, 2, 3))
    assert np.all(flipped | kept)
    assert 0.45 < flipped.mean() < 0.55


def test_horizontal_and_vertical_flip_turns_an_image_both_ways_or_not_at_all():
    x = RNG.uniform(size=(200, 3, 4, 1)).astype(np.float32)
    got = layers.RandomFlip(seed=2)(x, training=True).numpy()
    both = np.all(got == x[:, ::-1, ::-1], axis=(1, 2, 3))
    assert np.all(both | np.all(got == x, axis=(1, 2, 3))) and 0.3 < both.mean() < 0.7


def test_vertical_flip_channels_first():
    x = RNG.uniform(size=(100, 2, 3, 4)).astype(np.float32)
    got = layers.RandomFlip("vertical", data_format="channels_first")(x, training=True).numpy()
    assert np.all(np.all(got == x[:, :, ::-1], axis=(1, 2, 3)) | np.all(got == x, axis=(1, 2, 3)))


def test_brightness_offsets_stay_in_the_factor_range_and_are_clipped():
    x = np.full((500, 2, 2, 1), 100.0, np.float32)
    got = layers.RandomBrightness((-0.1, 0.2), seed=0)(x, training=True).numpy()
    offsets = got[:, 0, 0, 0] - 100.0
    assert offsets.min() >= -25.5 - 1e-3 and offsets.max() <= 51 + 1e-3 and offsets.std() > 10
    assert np.all(got == got[:, :1, :1])
    high = layers.RandomBrightness((0.9, 0.9))(np.full((2, 2, 2, 1), 200.0), training=True).numpy()
    np.testing.assert_allclose(high, 255.0)


def test_contrast_scales_the_deviation_from_the_channel_mean_within_keras_range():
    x = RNG.uniform(50, 200, (300, 4, 4, 2)).astype(np.float32)
    layer = layers.RandomContrast(0.3, value_range=(0, 1000))
    assert layer.factor == (0.0, 0.3)  # Keras 3's rule for a number
    got = layer(x, training=True).numpy()
    mean = np.broadcast_to(x.mean(axis=(1, 2), keepdims=True), x.shape)
    far = np.abs(x - mean) > 1.0  # near the mean the ratio is float noise over a tiny deviation
    ratio = np.where(far, (got - mean) / np.where(far, x - mean, 1.0), np.nan)
    per_image = np.nanmedian(ratio.reshape(300, -1), axis=1, keepdims=True)
    assert np.allclose(ratio.reshape(300, -1)[far.reshape(300, -1)],
                       np.broadcast_to(per_image, (300, 32))[far.reshape(300, -1)], rtol=1e-3, atol=1e-3)
    assert per_image.min() >= 1.0 - 1e-4 and per_image.max() <= 1.3 + 1e-4


def test_rotation_of_a_symmetric_turn_keeps_the_sum_of_a_centred_blob():
    x = np.zeros((8, 9, 9, 1), np.float32)
    x[:, 3:6, 3:6] = 1
    got = layers.RandomRotation(0.5, fill_mode="constant")(x, training=True).numpy()
    assert np.all(np.abs(got.sum(axis=(1, 2, 3)) - 9) < 2.5)


def test_random_crop_picks_a_window_in_training_and_centre_resizes_in_inference():
    x = RNG.uniform(size=(2, 8, 8, 1)).astype(np.float32)
    layer = layers.RandomCrop(3, 4, seed=0)
    windows = {x[:, i:i + 3, j:j + 4].tobytes() for i in range(6) for j in range(5)}
    for _ in range(5):
        assert layer(x, training=True).numpy().tobytes() in windows
    # Inference: the centred 6x8 window (aspect 3:4), resized to 3x4 with half-pixel bilinear.
    window = torch.from_numpy(x[:, 1:7]).permute(0, 3, 1, 2)
    want = torch.nn.functional.interpolate(window, size=(3, 4), mode="bilinear").permute(0, 2, 3, 1)
    np.testing.assert_allclose(layer(x, training=False).numpy(), want.numpy(), rtol=1e-5)
    assert layer(x).numpy().tobytes() in windows  # no training argument: Keras's call default, training=True


def test_mixup_mixes_images_and_labels_with_the_same_weights():
    images = RNG.uniform(size=(16, 4, 4, 1)).astype(np.float32)
    labels = np.eye(4, dtype=np.float32)[RNG.integers(0, 4, 16)]
    out = layers.MixUp(alpha=0.5, seed=3)({"images": images, "labels": labels}, training=True)
    np.testing.assert_allclose(out["labels"].numpy().sum(axis=1), 1.0, rtol=1e-5)
    assert not np.allclose(out["images"].numpy(), images)


def test_cutmix_pastes_boxes_and_weights_labels_by_the_kept_area():
    images = np.arange(8, dtype=np.float32).reshape(8, 1, 1, 1) * np.ones((1, 10, 10, 1), np.float32)
    labels = np.eye(8, dtype=np.float32)
    out = layers.CutMix(seed=4)({"images": images, "labels": labels}, training=True)
    got, mixed = out["images"].numpy(), out["labels"].numpy()
    for i in range(8):
        kept = (got[i] == i).mean()
        if mixed[i].max() < 1:  # a box came from another image: the label weight is roughly the kept area
            assert abs(mixed[i, i] - kept) < 0.25
    np.testing.assert_allclose(mixed.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("operation", rand_augment._OPERATIONS, ids=lambda f: f.__name__)
def test_each_rand_augment_operation_keeps_shape_and_value_range(operation):
    layer = layers.RandAugment(factor=0.9, seed=0)
    x = torch.from_numpy(RNG.uniform(0, 255, (3, 3, 8, 8)).astype(np.float32))
    got = operation(layer, x)
    assert got.shape == x.shape and float(got.min()) >= -1e-3 and float(got.max()) <= 255 + 1e-3


def test_rand_augment_output_stays_in_value_range():
    x = RNG.uniform(0, 1, (4, 8, 8, 3)).astype(np.float32)
    got = layers.RandAugment(value_range=(0, 1), num_ops=4, seed=1)(x, training=True).numpy()
    assert got.min() >= -1e-5 and got.max() <= 1 + 1e-5


# ------------------------------------------------------------------------------ seeds, inference, models
SEEDED = [
    (layers.RandomFlip, {}), (layers.RandomRotation, {"factor": 0.3}), (layers.RandomZoom, {"height_factor": 0.3}),
    (layers.RandomTranslation, {"height_factor": 0.2, "width_factor": 0.2}), (layers.RandomContrast, {"factor": 0.4}),
    (layers.RandomBrightness, {"factor": 0.4}), (layers.RandomCrop, {"height": 4, "width": 4}),
    (layers.RandAugment, {}), (layers.MixUp, {}), (layers.CutMix, {}),
]


@pytest.mark.parametrize("cls, kwargs", SEEDED, ids=lambda v: getattr(v, "__name__", ""))
def test_same_seed_gives_the_same_augmentation_and_inference_is_identity(cls, kwargs):
    x = RNG.uniform(0, 255, (6, 8, 8, 3)).astype(np.float32)
    first = [cls(seed=7, **kwargs)(x, training=True).numpy() for _ in range(2)]
    np.testing.assert_array_equal(first[0], first[1])
    if cls is not layers.RandomCrop:
        layer = cls(**kwargs)
        np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
        np.testing.assert_array_equal(layer(x[0], training=False).numpy(), x[0])


def test_unseeded_layers_repeat_after_set_random_seed():
    x = RNG.uniform(size=(4, 6, 6, 1)).astype(np.float32)
    layer = layers.RandomRotation(0.3)
    runs = []
    for _ in range(2):
        cnnlab.utils.set_random_seed(11)
        runs.append(layer(x, training=True).numpy())
    np.testing.assert_array_equal(runs[0], runs[1])


def test_single_image_and_uint8_input_are_augmented():
    image = RNG.integers(0, 256, (6, 6, 3)).astype(np.uint8)
    got = layers.RandomRotation((0.5, 0.5), seed=0)(image, training=True)
    assert tuple(got.shape) == (6, 6, 3) and got.dtype == torch.float32
    np.testing.assert_allclose(got.numpy(), image[::-1, ::-1].astype(np.float32), atol=1e-3)


class _Recorder(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = []

    def call(self, inputs):
        self.seen.append(inputs.detach().clone())
        return inputs


def test_augmentation_runs_in_fit_and_not_in_predict_or_evaluate():
    x = RNG.uniform(size=(32, 8, 8, 1)).astype(np.float32)
    y = RNG.integers(0, 2, 32)
    recorder = _Recorder()
    model = cnnlab.Sequential([layers.Input((8, 8, 1)), layers.RandomFlip("horizontal"),
                               layers.RandomRotation(0.1), layers.RandomZoom(0.1), recorder, layers.Flatten(),
                               layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=1, batch_size=32, shuffle=False, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert not np.allclose(recorder.seen[-1].numpy(), x)
    recorder.seen.clear()
    model.predict(x, verbose=0)
    model.evaluate(x, y, verbose=0)
    model(x, training=False)
    assert len(recorder.seen) == 3 and all(np.allclose(seen.numpy(), x) for seen in recorder.seen)


# Keras 3 resolves training as: the argument, else an outer call's, else the call signature's default. The
# augmentation layers declare training=True (keras/src/layers/layer.py, __call__ step 5), so the tensorflow.org
# augmentation tutorial's plt.imshow(data_augmentation(images)[0]) shows augmented images.
def _flips(x, got) -> bool:
    return not np.allclose(np.asarray(got), x)


def test_augmentation_layer_called_without_training_augments_like_keras():
    x = RNG.uniform(size=(32, 4, 4, 1)).astype(np.float32)  # 32 images: all unflipped has chance 2**-32
    layer = layers.RandomFlip("horizontal", seed=1)
    assert _flips(x, layer(x))
    assert not _flips(x, layer(x, training=False))


def test_model_called_without_training_augments_but_predict_and_training_false_do_not():
    x = RNG.uniform(size=(32, 4, 4, 1)).astype(np.float32)
    model = cnnlab.Sequential([layers.Input((4, 4, 1)), layers.RandomFlip("horizontal", seed=2)])
    assert _flips(x, model(x)) and _flips(x, model(x, training=None))
    assert not _flips(x, model.predict(x, verbose=0))
    assert not _flips(x, model(x, training=False))
    outer = cnnlab.Sequential([layers.Input((4, 4, 1)), model])
    assert _flips(x, outer(x)) and not _flips(x, outer(x, training=False))  # an outer call's False reaches in


def test_layers_after_an_augmentation_keep_their_own_default_in_a_model_call():
    # Keras's Sequential/functional models: Dropout after RandomFlip stays in inference under model(x).
    x = np.ones((8, 4, 4, 1), np.float32)  # flipping ones changes nothing, dropping would leave zeros
    model = cnnlab.Sequential([layers.Input((4, 4, 1)), layers.RandomFlip(seed=3), layers.Dropout(0.5, seed=3)])
    np.testing.assert_array_equal(model(x).numpy(), x)
    assert (model(x, training=True).numpy() == 0).any()


def test_a_layer_declaring_training_true_passes_it_to_its_sublayers():
    class NoisyBlock(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dropout = layers.Dropout(0.5, seed=4)

        def call(self, inputs, training=True):
            return self.dropout(inputs)

    x = np.ones((8, 16), np.float32)
    block = NoisyBlock()
    assert (block(x).numpy() == 0).any()  # Keras: the block's True becomes the context of its sublayers
    np.testing.assert_array_equal(block(x, training=False).numpy(), x)


def test_augmentation_errors_name_the_argument():
    with pytest.raises(ConfigError, match="factor must lie in"):
        layers.RandomRotation(1.5)
    with pytest.raises(ConfigError, match=r"height_factor must lie in \(-1.0, 1.0\]"):
        layers.RandomZoom(-1.0)
    with pytest.raises(ConfigError, match="fill_mode must be one of"):
        layers.RandomTranslation(0.1, 0.1, fill_mode="mirror")
    with pytest.raises(ConfigError, match="interpolation must be one of"):
        layers.RandomZoom(0.1, interpolation="bicubic")
    with pytest.raises(ConfigError, match="mode must be one of"):
        layers.RandomFlip("diagonal")
    with pytest.raises(ConfigError, match="seed must be an int"):
        layers.RandomFlip(seed="1")
    with pytest.raises(ConfigError, match="value_range must be a pair"):
        layers.RandomBrightness(0.1, value_range=255)
    with pytest.raises(ConfigError, match="a number or a pair"):
        layers.RandomContrast((0.1, 0.2, 0.3))
    with pytest.raises(ConfigError, match="alpha must be positive"):
        layers.MixUp(alpha=0)
    with pytest.raises(ConfigError, match="num_ops must be"):
        layers.RandAugment(num_ops=-1)


# ------------------------------------------------------------------- integer images (belongs with Resizing)
def test_resizing_hands_uint8_images_back_as_uint8_rounded_half_to_even_and_clipped():
    checker = np.indices((6, 6)).sum(axis=0) % 2 * 255  # bicubic overshoots below 0 and above 255 here
    image = np.repeat(checker[None, :, :, None], 2, axis=0).astype(np.uint8)
    layer = layers.Resizing(9, 9, interpolation="bicubic")
    as_float = layer(image.astype(np.float32)).numpy()
    assert as_float.min() < 0 and as_float.max() > 255
    got = layer(image)
    assert got.dtype == torch.uint8
    np.testing.assert_array_equal(got.numpy(), np.clip(np.round(as_float), 0, 255))  # np.round: half to even
    assert layer({"images": image})["images"].dtype == torch.uint8
    assert layer(image.astype(np.float64)).dtype == torch.float32
