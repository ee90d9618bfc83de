"""model.summary(): Keras 3's text (golden files written by real Keras) and the explained detail view."""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import numpy as np
import pytest

import cnnlab
from cnnlab import layers
from cnnlab.errors import NotBuiltError
from cnnlab.inspect import receptive_fields, render_summary, summary_rows
from cnnlab.inspect.shape_math import axis_formula
from cnnlab.layers.base import reset_names

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden"
# Set to 1 to rewrite the detail-view goldens (cnnlab's own format; their numbers are checked by hand below).
OVERWRITE = os.environ.get("CNNLAB_OVERWRITE_GOLDEN") == "1"

_spec = importlib.util.spec_from_file_location("compat_models", ROOT / "compat" / "models.py")
models = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(models)


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch):
    # Keras caps the table at the terminal width minus 4; the goldens were written at COLUMNS=200.
    monkeypatch.setenv("COLUMNS", "200")


def normalise_names(text: str) -> str:
    """Blank out ``_<n>`` name counters, keeping the width so the layout is still compared."""
    return re.sub(r"(?<=[a-z0-9])_(\d+)\b", lambda m: "_" * len(m.group(0)), text)


def fresh(builder):
    reset_names()  # Keras's golden models were built after clear_session()
    return builder(cnnlab)


@pytest.mark.parametrize("name", sorted(models.GOLDEN_MODELS))
def test_summary_is_keras_text_character_for_character(name):
    want = (GOLDEN / f"keras_{name}.txt").read_text(encoding="utf-8")
    assert normalise_names(render_summary(fresh(models.GOLDEN_MODELS[name]))) == normalise_names(want)


def test_show_trainable_column_is_keras_text():
    want = (GOLDEN / "keras_batchnorm_trainable.txt").read_text(encoding="utf-8")
    assert render_summary(fresh(models.batchnorm), show_trainable=True) == want


def _params_and_shapes(model):
    return [(r.params, r.output_shape) for r in summary_rows(model)]


def test_issue_model_a_params_and_shapes():
    rows = _params_and_shapes(fresh(models.issue_a))
    # conv 5*5*1*32+32 = 832; conv 5*5*32*64+64 = 51,264; dense 1024*64+64 = 65,600; dense 64*10+10 = 650
    assert [p for p, _ in rows] == [832, 0, 0, 51264, 0, 0, 0, 65600, 0, 650]
    assert [s for _, s in rows][:7] == [(None, 24, 24, 32), (None, 24, 24, 32), (None, 12, 12, 32),
                                        (None, 8, 8, 64), (None, 8, 8, 64), (None, 4, 4, 64), (None, 1024)]


def test_issue_model_b_has_39478_params_and_9x9_pool_output():
    model = fresh(models.issue_b)
    text = render_summary(model)
    # 320 + 9,248 + 28,900 + 1,010 = 39,478 params; * 4 bytes = 157,912 B = 154.21 KB
    assert " Total params: 39,478 (154.21 KB)" in text
    assert summary_rows(model)[1].output_shape == (None, 9, 9, 32)


def test_lenet5_params():
    rows = _params_and_shapes(fresh(models.lenet5))
    # 5*5*1*6+6 = 156; 5*5*6*16+16 = 2,416; 400*120+120 = 48,120; 120*84+84 = 10,164; 84*10+10 = 850
    assert [p for p, _ in rows if p] == [156, 2416, 48120, 10164, 850]
    assert sum(p for p, _ in rows) == 61706


def test_batchnorm_has_4c_params_of_which_2c_non_trainable():
    model = fresh(models.batchnorm)
    text = render_summary(model)
    assert [r.params for r in summary_rows(model)][1] == 4 * 8
    assert " Non-trainable params: 16 (64.00 B)" in text  # moving mean and variance: 2 * 8 floats


def test_branching_model_lists_connections():
    text = render_summary(fresh(models.branching))
    assert "Connected to" in text and "input_layer (InputLayer)" in text
    assert "add[0][0], conv2d[0][0]" in text


def test_subclassed_model_never_called_raises_not_built():
    class Net(cnnlab.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(3)

        def call(self, x):
            return self.dense(x)

    with pytest.raises(NotBuiltError, match=r"Call it once on data \(model\(x\)\) or call model.build"):
        render_summary(Net())


def test_summary_print_fn_receives_the_text():
    model = fresh(models.functional_chain)
    captured = []
    model.summary(print_fn=captured.append)
    assert captured == [render_summary(model)]


def test_optimizer_params_line_after_training():
    model = fresh(models.functional_chain)
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.zeros((4, 12, 12, 1), "float32"), np.zeros((4, 3), "float32"), epochs=1, verbose=0)
    # weights: conv 9*4+4 = 40, dense 400*3+3 = 1,203 -> 1,243. Adam (Keras's count): step counter,
    # learning rate, 2 * 1,243 moments = 2,488; bytes 8 + 4 + 2,486*4 = 9,956 = 9.72 KB.
    assert " Optimizer params: 2,488 (9.72 KB)" in render_summary(model)


# ------------------------------------------------------------------------------- detail view
def test_axis_formula_writes_tf_same_padding_and_valid():
    assert axis_formula(28, 3, 1, 1, "same") == "(28 - 3 + 2*1)/1 + 1 = 28"
    assert axis_formula(28, 3, 1, 1, "valid") == "(28 - 3 + 2*0)/1 + 1 = 26"
    # 'same', stride 2 on 28: total pad (14-1)*2 + 3 - 28 = 1, all of it after (TF)
    assert axis_formula(28, 3, 2, 1, "same") == "(28 - 3 + 0+1)/2 + 1 = 14"
    # 3x3 avg pool, valid, stride 3 on 28: floor(25/3) + 1 = 9
    assert axis_formula(28, 3, 3, 1, "valid") == "floor((28 - 3 + 2*0)/3) + 1 = 9"
    # dilation 2, kernel 3: effective 2*(3-1)+1 = 5
    assert axis_formula(15, 3, 1, 2, "valid") == "(15 - 5 + 2*0)/1 + 1 = 11"


def test_receptive_fields_of_issue_model_a():
    # r_out = r_in + (k-1)*j_in, j_out = j_in*s: conv5 (5,1), relu (5,1), pool2 (6,2), conv5 (14,2),
    # relu (14,2), pool2 (16,4), then Flatten/Dense see the whole image.
    fields = receptive_fields(fresh(models.issue_a))
    assert [(f.r, f.j) for f in fields[:6]] == [((5, 5), (1, 1)), ((5, 5), (1, 1)), ((6, 6), (2, 2)),
                                                ((14, 14), (2, 2)), ((14, 14), (2, 2)), ((16, 16), (4, 4))]
    assert fields[6].r is None and fields[-1].layer == "dense_1"


def test_receptive_fields_of_issue_model_b():
    # conv3 same (3,1); avgpool3 /3: 3 + 2*1 = 5, j 3; conv3: 5 + 2*3 = 11, j 3; avgpool3: 11 + 2*3 = 17, j 9
    fields = receptive_fields(fresh(models.issue_b))
    assert [(f.r[0], f.j[0]) for f in fields[:4]] == [(3, 1), (5, 3), (11, 3), (17, 9)]


def test_receptive_field_with_dilation_and_stride():
    reset_names()
    inputs = layers.Input(shape=(32, 32, 1))
    x = layers.Conv2D(2, 3, strides=2, padding="same")(inputs)  # r 3, j 2
    x = layers.Conv2D(2, 3, dilation_rate=2)(x)  # k_eff 5: r 3 + 4*2 = 11, j 2
    fields = receptive_fields(cnnlab.Model(inputs, x))
    assert [(f.r, f.j) for f in fields] == [((1, 1), (1, 1)), ((3, 3), (2, 2)), ((11, 11), (2, 2))]


def test_detail_numbers_of_issue_model_a_are_hand_checked():
    text = render_summary(fresh(models.issue_a), detail=True, batch_size=2)
    # MACs: conv 24*24*5*5*1*32 = 460,800; conv 8*8*5*5*32*64 = 3,276,800; dense 1024*64 = 65,536;
    # dense 64*10 = 640; total 3,803,776, FLOPs 2x = 7,607,552.
    for macs in ("460,800", "3,276,800", "65,536", "640"):
        assert f" {macs} │" in text
    assert " MACs per image: 3,803,776 (3.80 M)" in text
    assert " FLOPs per image (2 x MACs): 7,607,552 (7.61 M)" in text
    # outputs: 2*18,432 + 4,608 + 2*4,096 + 2*1,024 + 2*64 + 10 = 51,850 floats * 4 B * batch 2
    # = 414,800 B = 405.08 KB; parameters 118,346 * 4 = 473,384 B = 462.29 KB
    assert " Activation memory (batch_size=2, layer outputs): 405.08 KB" in text
    assert " Parameter memory: 462.29 KB" in text
    assert "(28 - 5 + 2*0)/1 + 1 = 24" in text and "(24 - 2 + 2*0)/2 + 1 = 12" in text


def test_detail_counts_grouped_conv_macs():
    reset_names()
    inputs = layers.Input(shape=(8, 8, 4))
    outputs = layers.Conv2D(6, 3, padding="same", groups=2)(inputs)
    text = render_summary(cnnlab.Model(inputs, outputs), detail=True)
    assert " MACs per image: 6,912 " in text  # 8*8 * 3*3 * (4/2) * 6 = 6,912


@pytest.mark.parametrize("name", ["issue_a", "issue_b", "branching"])
def test_detail_view_matches_golden(name):
    path = GOLDEN / f"detail_{name}.txt"
    text = render_summary(fresh(models.GOLDEN_MODELS[name]), detail=True)
    if OVERWRITE or not path.exists():
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")
    assert max(len(line) for line in text.splitlines()) <= 120
