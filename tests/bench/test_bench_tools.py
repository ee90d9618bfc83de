"""Pure functions of the benchmark (bench/tools.py): no training, no framework imports."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import models, report, tools


# ------------------------------------------------------------------ epoch medians
def test_median_skips_the_first_epoch():
    # epochs 2..4 are 4, 6, 5 -> sorted 4, 5, 6 -> median 5 (the 30 s warm-up epoch is ignored)
    assert tools.median_after_first([30.0, 4.0, 6.0, 5.0]) == 5.0


def test_median_of_two_remaining_epochs_is_their_mean():
    assert tools.median_after_first([10.0, 3.0, 5.0]) == 4.0


def test_median_with_one_epoch_is_that_epoch():
    assert tools.median_after_first([7.5]) == 7.5


def test_median_of_no_epochs_raises():
    with pytest.raises(ValueError, match="no epochs"):
        tools.median_after_first([])


# ---------------------------------------------------------------------- FLOP rates
def test_train_gflops_counts_six_flops_per_forward_mac():
    # 4,153,064 MACs/image (two-conv CNN) x 6 x 4,000 images/s = 99.67 GFLOP/s
    assert tools.train_gflops(4_153_064, 4_000) == pytest.approx(99.673536)


def test_forward_macs_of_the_benchmarked_models_match_the_hand_count():
    import cnnlab
    from cnnlab.inspect import summary_rows
    from cnnlab.inspect.shape_math import layer_macs

    def macs(name):
        model = models.keras_model(cnnlab, name)
        return sum(layer_macs(r.layer, r.input_shape, r.output_shape) for r in summary_rows(model))

    # two-conv CNN: 28*28*3*3*1*32 + 14*14*3*3*32*64 + 7*7*64*100 + 100*10
    #             = 225,792 + 3,612,672 + 313,600 + 1,000 = 4,153,064
    assert macs("cnn") == 4_153_064
    # LeNet-5: 28*28*5*5*1*6 + 10*10*5*5*6*16 + 400*120 + 120*84 + 84*10
    #        = 117,600 + 240,000 + 48,000 + 10,080 + 840 = 416,520
    assert macs("lenet") == 416_520


def test_fit_overhead_is_relative_to_the_bare_loop():
    assert tools.fit_overhead(10.3, 10.0) == pytest.approx(0.03)


# ------------------------------------------------------------------- demo recipe
DEMO_SOURCE = '''
import os
EPOCHS = int(os.environ.get("CNNLAB_DEMO_EPOCHS", "6"))
BATCH_SIZE = int(os.environ.get("CNNLAB_DEMO_BATCH", "64"))
RUN_DIR = os.environ.get("CNNLAB_DEMO_DIR", "runs/demo")
'''


def test_demo_recipe_reads_the_defaults_written_in_the_script():
    assert tools.demo_recipe(DEMO_SOURCE, {}) == {"epochs": 6, "batch_size": 64}


def test_demo_recipe_environment_overrides_the_defaults():
    env = {"CNNLAB_DEMO_EPOCHS": "3", "CNNLAB_DEMO_BATCH": "128"}
    assert tools.demo_recipe(DEMO_SOURCE, env) == {"epochs": 3, "batch_size": 128}


def test_demo_recipe_accepts_plain_constants():
    assert tools.demo_recipe("EPOCHS = 4\nBATCH_SIZE = 32\n", {}) == {"epochs": 4, "batch_size": 32}


def test_demo_recipe_without_batch_size_raises():
    with pytest.raises(ValueError, match="BATCH_SIZE"):
        tools.demo_recipe("EPOCHS = 4\n", {})


def test_demo_recipe_matches_the_real_example_script():
    source = (Path(__file__).resolve().parents[2] / "examples" / "fashion_mnist_cnn.py").read_text()
    recipe = tools.demo_recipe(source, {})
    assert recipe["epochs"] >= 1 and recipe["batch_size"] >= 1


# ------------------------------------------------------------------- ratio table
def _run(tool, model="cnn", batch=128, s=10.0, acc=0.90, ips=10_000.0, rss=500.0, seed=0):
    return {"tool": tool, "model": model, "batch_size": batch, "seed": seed, "seconds_per_epoch": s,
            "test_accuracy": acc, "predict_images_per_s": ips, "rss_fit_peak_mb": rss, "samples": 48_000}


def _rows_by(rows, figure_start, peer):
    return [r for r in rows if r["figure"].startswith(figure_start) and r["peer"] == peer]


def test_train_ratio_is_peer_time_over_cnnlab_time_with_the_issue_target():
    result = {"runs": [_run("cnnlab", s=8.0), _run("keras-tf", s=20.0), _run("torch", s=10.0)]}
    rows = tools.ratio_rows(result)
    (tf_row,) = _rows_by(rows, "train s/epoch", "keras-tf")
    (torch_row,) = _rows_by(rows, "train s/epoch", "torch")
    assert tf_row["ratio"] == pytest.approx(2.5) and tf_row["met"] is True  # 20 / 8 >= 2.0
    assert torch_row["ratio"] == pytest.approx(1.25) and torch_row["met"] is False  # 10 / 8 < 1.5


def test_lenet_uses_its_own_targets():
    result = {"runs": [_run("cnnlab", "lenet", 32, s=4.0), _run("keras-tf", "lenet", 32, s=12.0)]}
    (row,) = _rows_by(tools.ratio_rows(result), "train s/epoch", "keras-tf")
    assert row["target"] == ">= 4.0x" and row["met"] is False  # 12 / 4 = 3 < 4


def test_keras_on_torch_has_no_target():
    result = {"runs": [_run("cnnlab"), _run("keras-torch", s=30.0)]}
    (row,) = _rows_by(tools.ratio_rows(result), "train s/epoch", "keras-torch")
    assert row["met"] is None and row["target"] == "-"


def test_accuracy_within_half_a_point_either_way_is_met():
    result = {"runs": [_run("cnnlab", acc=0.9010), _run("keras-tf", acc=0.9050), _run("torch", acc=0.8940)]}
    rows = tools.ratio_rows(result)
    (tf_row,) = _rows_by(rows, "test accuracy", "keras-tf")
    (torch_row,) = _rows_by(rows, "test accuracy", "torch")
    assert tf_row["ratio"] == pytest.approx(-0.40) and tf_row["met"] is True
    assert torch_row["ratio"] == pytest.approx(0.70) and torch_row["met"] is False


def test_predict_and_rss_ratios_compare_the_cnn_at_batch_128():
    result = {"runs": [_run("cnnlab", ips=30_000, rss=300), _run("keras-tf", ips=10_000, rss=600)]}
    rows = tools.ratio_rows(result)
    (predict,) = _rows_by(rows, "predict", "keras-tf")
    (rss,) = _rows_by(rows, "peak RSS", "keras-tf")
    assert predict["ratio"] == pytest.approx(3.0) and predict["met"] is True
    assert rss["ratio"] == pytest.approx(0.5) and rss["met"] is True


def test_efficiency_is_achieved_gflops_over_matmul_peak():
    ours = {**_run("cnnlab"), "train_gflops": 90.0}
    (row,) = _rows_by(tools.ratio_rows({"runs": [ours], "matmul_peak_gflops": 180.0}), "training GFLOP/s", "machine")
    assert row["ratio"] == pytest.approx(0.5) and row["met"] is False


def test_failed_runs_are_left_out_of_the_table():
    result = {"runs": [_run("cnnlab"), {"tool": "keras-tf", "model": "cnn", "batch_size": 128, "error": "boom"}]}
    assert _rows_by(tools.ratio_rows(result), "train s/epoch", "keras-tf") == []


def test_other_seeds_do_not_replace_seed_zero():
    result = {"runs": [_run("cnnlab", s=5.0), _run("torch", s=10.0), _run("torch", s=1.0, seed=1)]}
    (row,) = _rows_by(tools.ratio_rows(result), "train s/epoch", "torch")
    assert row["ratio"] == pytest.approx(2.0)


def test_overhead_and_time_to_90_rows():
    result = {"runs": [], "overhead": {"fit_seconds": 10.2, "bare_seconds": 10.0, "overhead": 0.02},
              "time_to_90": {"cnnlab": {"seconds_to_target": 60.0}, "keras-tf": {"seconds_to_target": 150.0}}}
    rows = tools.ratio_rows(result)
    (overhead,) = _rows_by(rows, "fit overhead", "bare loop")
    (target,) = _rows_by(rows, "main job", "target")
    (peer,) = _rows_by(rows, "main job", "keras-tf")
    assert overhead["met"] is True
    assert target["met"] is True and target["cnnlab"] == 60.0
    assert peer["ratio"] == pytest.approx(2.5)


def test_time_to_90_never_reached_is_not_met():
    (row,) = tools.ratio_rows({"runs": [], "time_to_90": {"cnnlab": {"seconds_to_target": None}}})
    assert row["met"] is False and row["ratio"] is None


def test_rendered_table_marks_met_missed_and_untargeted_rows():
    result = {"runs": [_run("cnnlab", s=8.0), _run("keras-tf", s=20.0), _run("torch", s=10.0),
                       _run("keras-torch", s=30.0)]}
    lines = tools.render_table(tools.ratio_rows(result)).splitlines()
    tf_line = next(ln for ln in lines if "train" in ln and "TensorFlow" in ln)
    torch_line = next(ln for ln in lines if "train" in ln and "idiomatic PyTorch" in ln)
    keras_torch_line = next(ln for ln in lines if "train" in ln and "Keras 3 / torch" in ln)
    assert "2.50x" in tf_line and tf_line.endswith("| ✔ |")
    assert "1.25x" in torch_line and torch_line.endswith("| ✘ |")
    assert keras_torch_line.endswith("| – |")


# ------------------------------------------------- opt-in mixed_bfloat16 rows
def _bf16_rows(rows, figure_start, peer):
    figure = tools.OPT_IN_PREFIX + figure_start
    return [r for r in rows if r["tool"] == "cnnlab-bf16" and r["figure"].startswith(figure) and r["peer"] == peer]


def test_bf16_runs_leave_the_float32_headline_rows_unchanged():
    float32_runs = [_run("cnnlab", s=8.0, acc=0.90), _run("keras-tf", s=20.0, acc=0.905), _run("torch", s=10.0)]
    bf16_run = _run("cnnlab-bf16", s=4.0, acc=0.899)
    without = tools.ratio_rows({"runs": float32_runs})
    with_bf16 = tools.ratio_rows({"runs": float32_runs + [bf16_run]})
    assert [r for r in with_bf16 if r["tool"] == "cnnlab"] == without
    # the headline rows come first, every opt-in row after them
    tools_in_order = [r["tool"] for r in with_bf16]
    assert tools_in_order == sorted(tools_in_order, key=lambda t: t != "cnnlab")


def test_bf16_train_rows_carry_the_same_targets_as_float32():
    result = {"runs": [_run("cnnlab", s=8.0), _run("cnnlab-bf16", s=4.0), _run("keras-tf", s=10.0),
                       _run("torch", s=5.0), _run("keras-torch", s=30.0)]}
    rows = tools.ratio_rows(result)
    (tf_row,) = _bf16_rows(rows, "train s/epoch, two-conv CNN b128", "keras-tf")
    (torch_row,) = _bf16_rows(rows, "train s/epoch, two-conv CNN b128", "torch")
    (keras_torch_row,) = _bf16_rows(rows, "train s/epoch, two-conv CNN b128", "keras-torch")
    # 10 / 4 = 2.5 >= 2.0 (met); 5 / 4 = 1.25 < 1.5 (missed); Keras on torch has no target
    assert tf_row["ratio"] == pytest.approx(2.5) and tf_row["target"] == ">= 2.0x" and tf_row["met"] is True
    assert torch_row["ratio"] == pytest.approx(1.25) and torch_row["target"] == ">= 1.5x" and torch_row["met"] is False
    assert keras_torch_row["met"] is None and keras_torch_row["target"] == "-"
    assert tf_row["cnnlab"] == 4.0  # the value column holds the bf16 run, not float32 cnnlab's


def test_bf16_rows_follow_its_own_configs_with_lenet_targets():
    result = {"runs": [_run("cnnlab-bf16", "lenet", 32, s=2.0), _run("keras-tf", "lenet", 32, s=9.0)]}
    (row,) = _bf16_rows(tools.ratio_rows(result), "train s/epoch, LeNet-5 b32", "keras-tf")
    assert row["target"] == ">= 4.0x" and row["met"] is True  # 9 / 2 = 4.5 >= 4


def test_bf16_accuracy_is_compared_with_each_peer_within_half_a_point():
    result = {"runs": [_run("cnnlab-bf16", acc=0.8960), _run("keras-tf", acc=0.9000), _run("torch", acc=0.9020)]}
    rows = tools.ratio_rows(result)
    (tf_row,) = _bf16_rows(rows, "test accuracy", "keras-tf")
    (torch_row,) = _bf16_rows(rows, "test accuracy", "torch")
    # 89.60 - 90.00 = -0.40 points (within 0.5); 89.60 - 90.20 = -0.60 points (not)
    assert tf_row["ratio"] == pytest.approx(-0.40) and tf_row["met"] is True
    assert torch_row["ratio"] == pytest.approx(-0.60) and torch_row["met"] is False


def test_bf16_is_compared_with_float32_cnnlab_for_speed_and_accuracy():
    result = {"runs": [_run("cnnlab", s=9.5, acc=0.9100), _run("cnnlab-bf16", s=5.0, acc=0.9080)]}
    rows = tools.ratio_rows(result)
    (speed,) = _bf16_rows(rows, "train s/epoch", "cnnlab")
    (accuracy,) = _bf16_rows(rows, "test accuracy", "cnnlab")
    assert speed["ratio"] == pytest.approx(1.9) and speed["met"] is None  # 9.5 / 5.0, no target of its own
    assert accuracy["ratio"] == pytest.approx(-0.20) and accuracy["met"] is True  # 90.80 - 91.00


def test_bf16_has_an_rss_row_but_no_predict_or_efficiency_row():
    # the policy keeps predict in float32, and the matmul peak is float32's
    bf16 = {**_run("cnnlab-bf16", rss=240.0), "train_gflops": 150.0}
    result = {"runs": [bf16, _run("keras-tf", rss=600.0)], "matmul_peak_gflops": 180.0}
    rows = [r for r in tools.ratio_rows(result) if r["tool"] == "cnnlab-bf16"]
    (rss,) = _bf16_rows(rows, "peak RSS", "keras-tf")
    assert rss["ratio"] == pytest.approx(0.4) and rss["met"] is True  # 240 / 600 <= 0.6
    assert not [r for r in rows if "predict" in r["figure"] or "GFLOP/s" in r["figure"]]


def test_bf16_time_to_90_has_the_same_target_and_keras_comparison():
    result = {"runs": [], "time_to_90": {"cnnlab": {"seconds_to_target": 80.0},
                                          "cnnlab-bf16": {"seconds_to_target": 50.0},
                                          "keras-tf": {"seconds_to_target": 150.0}}}
    rows = tools.ratio_rows(result)
    (target,) = _bf16_rows(rows, "main job", "target")
    (peer,) = _bf16_rows(rows, "main job", "keras-tf")
    assert target["met"] is True and target["cnnlab"] == 50.0 and target["target"] == "<= 90 s"
    assert peer["ratio"] == pytest.approx(3.0)  # 150 / 50
    (headline,) = [r for r in _rows_by(rows, "main job", "target") if r["tool"] == "cnnlab"]
    assert headline["cnnlab"] == 80.0


def test_rendered_bf16_rows_name_the_policy_and_float32_cnnlab():
    result = {"runs": [_run("cnnlab", s=9.5, acc=0.9100), _run("cnnlab-bf16", s=5.0, acc=0.9080),
                       _run("keras-tf", s=20.0, acc=0.9050)]}
    lines = tools.render_table(tools.ratio_rows(result)).splitlines()
    opt_in = [ln for ln in lines if tools.OPT_IN_PREFIX in ln]
    assert "| mixed_bfloat16 (opt-in): train s/epoch, two-conv CNN b128 | Keras 3 / TensorFlow | 5.00 | 20.0 | " \
           "4.00x | >= 2.0x | ✔ |" in opt_in
    # accuracy rows print points, not a ratio: 90.80 - 90.50 = +0.30
    assert "| mixed_bfloat16 (opt-in): test accuracy (points), two-conv CNN b128 | Keras 3 / TensorFlow | 90.8 | " \
           "90.5 | +0.30 | within 0.5 | ✔ |" in opt_in
    assert any("| cnnlab, float32 |" in ln and "1.90x" in ln for ln in opt_in)


def test_opt_in_note_appears_only_with_bf16_rows():
    assert tools.opt_in_note(tools.ratio_rows({"runs": [_run("cnnlab"), _run("torch")]})) == ""
    note = tools.opt_in_note(tools.ratio_rows({"runs": [_run("cnnlab-bf16"), _run("torch")]}))
    assert "headline" in note and 'set_global_policy("mixed_bfloat16")' in note


def test_every_cnnlab_tool_has_a_policy_and_a_display_name():
    assert tools.POLICIES == {"cnnlab": "float32", "cnnlab-bf16": "mixed_bfloat16", "cnnlab-fp16": "mixed_float16"}
    assert tools.PEER_NAMES["cnnlab-bf16"] == "cnnlab, mixed_bfloat16"
    assert tools.PEER_NAMES["cnnlab-fp16"] == "cnnlab, mixed_float16"


# ------------------------------------------------------------------ README block
def test_replace_block_rewrites_only_between_the_markers():
    text = f"# cnnlab\n\nintro\n\n{tools.README_START}\nold table\n{tools.README_END}\n\n## Next\nkept\n"
    out = tools.replace_block(text, "new table")
    assert out == f"# cnnlab\n\nintro\n\n{tools.README_START}\nnew table\n{tools.README_END}\n\n## Next\nkept\n"


def test_replace_block_is_idempotent():
    text = f"a\n{tools.README_START}\nx\n{tools.README_END}\nb\n"
    once = tools.replace_block(text, "table")
    assert tools.replace_block(once, "table") == once


def test_replace_block_appends_markers_when_absent():
    out = tools.replace_block("# cnnlab\n", "table")
    assert out == f"# cnnlab\n\n{tools.README_START}\ntable\n{tools.README_END}\n"


def test_replace_block_on_an_empty_readme():
    assert tools.replace_block("", "t") == f"{tools.README_START}\nt\n{tools.README_END}\n"


@pytest.mark.parametrize("text", [
    f"{tools.README_END}\n{tools.README_START}\n",
    f"{tools.README_START}\n{tools.README_START}\n{tools.README_END}\n",
    f"{tools.README_START}\nno end\n",
])
def test_replace_block_rejects_broken_markers(text):
    with pytest.raises(ValueError, match="exactly one"):
        tools.replace_block(text, "t")


def test_readme_block_names_the_machine_and_what_was_not_run():
    result = {"date": "2025-01-02T03:04:05+00:00", "mode": "full", "matmul_peak_gflops": 181.0,
              "machine": {"cpu": "AMD EPYC", "cores": 2, "host": "box", "versions": {"torch": "2.13.0"}},
              "runs": [_run("cnnlab", s=8.0), _run("keras-tf", s=20.0)], "not_run": ["scale curves"]}
    block = tools.readme_block(result, "2025-01-02-box")
    assert "AMD EPYC, 2 cores (box, 2025-01-02T03:04:05+00:00, `make bench`)" in block
    assert "fp32 matmul peak 181 GFLOP/s" in block
    assert "Not run: scale curves." in block
    assert "bench/results/2025-01-02-box.json" in block
    assert "mixed_bfloat16" not in block  # no opt-in rows, no note about them


def test_machine_line_names_both_matmul_engines_when_measured():
    result = {"matmul_peak_gflops": 449.4, "matmul_onednn_gflops": 449.4, "matmul_blas_gflops": 208.8,
              "machine": {"cpu": "AMD EPYC", "cores": 2}}
    line = tools.machine_line(result)
    assert "fp32 matmul peak 449 GFLOP/s (the faster of oneDNN, 449, and the BLAS behind torch.mm, 209)" in line


def test_readme_block_explains_the_opt_in_rows_under_the_table():
    result = {"date": "2025-01-02T03:04:05+00:00", "mode": "full", "machine": {},
              "runs": [_run("cnnlab", s=8.0), _run("cnnlab-bf16", s=4.0), _run("keras-tf", s=20.0)], "not_run": []}
    block = tools.readme_block(result, "r")
    table_end = block.index("| mixed_bfloat16 (opt-in): ")
    assert block.index("Rows without a prefix are cnnlab's default float32") > table_end


# --------------------------------------------------------------- update_readme
def _write_result(folder, name, date, mode="full"):
    import json

    result = {"date": date, "mode": mode, "machine": {"cpu": "CPU", "cores": 2, "host": "h", "versions": {}},
              "runs": [_run("cnnlab", s=8.0), _run("torch", s=12.0)], "not_run": []}
    path = folder / f"{name}.json"
    path.write_text(json.dumps(result))
    return path


def test_latest_result_takes_the_newest_full_run_by_its_date(tmp_path):
    from bench import update_readme

    _write_result(tmp_path, "b-older-name-newer-date", "2025-03-02T10:00:00+00:00")
    _write_result(tmp_path, "z-newest-name", "2025-03-01T10:00:00+00:00")
    _write_result(tmp_path, "quick", "2025-03-09T10:00:00+00:00", mode="quick")
    assert update_readme.latest_result(tmp_path).name == "b-older-name-newer-date.json"
    assert update_readme.latest_result(tmp_path, include_quick=True).name == "quick.json"


def test_latest_result_in_an_empty_folder_says_to_run_the_bench(tmp_path):
    from bench import update_readme

    with pytest.raises(FileNotFoundError, match="make bench"):
        update_readme.latest_result(tmp_path)


def test_update_writes_the_table_into_the_readme_and_keeps_the_rest(tmp_path):
    from bench import update_readme

    readme = tmp_path / "README.md"
    readme.write_text(f"# cnnlab\n\n## Speed\n{tools.README_START}\nold\n{tools.README_END}\n\n## Licence\n")
    update_readme.update(readme, _write_result(tmp_path, "r", "2025-03-02T10:00:00+00:00"))
    text = readme.read_text()
    assert "old" not in text and text.startswith("# cnnlab\n\n## Speed\n") and text.endswith("## Licence\n")
    assert "| train s/epoch, two-conv CNN b128 | idiomatic PyTorch | 8.00 | 12.0 | 1.50x | >= 1.5x | ✔ |" in text


def test_accuracy_rows_compare_means_over_the_seeds_both_tools_ran():
    runs = [_run("cnnlab", acc=0.880), _run("cnnlab", acc=0.890, seed=1), _run("cnnlab", acc=0.900, seed=2),
            _run("keras-tf", acc=0.895), _run("keras-tf", acc=0.890, seed=1), _run("keras-tf", acc=0.885, seed=2),
            _run("torch", acc=0.870)]  # the peer ran seed 0 only: that row stays a single-seed comparison
    rows = tools.ratio_rows({"runs": runs})
    (tf_row,) = _rows_by(rows, "test accuracy", "keras-tf")
    assert tf_row["figure"] == "test accuracy (points, mean of 3 seeds), two-conv CNN b128"
    assert tf_row["cnnlab"] == pytest.approx(89.0) and tf_row["peer_value"] == pytest.approx(89.0)
    assert tf_row["met"] is True  # seed 0 alone differs by 1.5 points
    (torch_row,) = _rows_by(rows, "test accuracy", "torch")
    assert torch_row["figure"] == "test accuracy (points), two-conv CNN b128"
    assert torch_row["ratio"] == pytest.approx(1.0) and torch_row["met"] is False


def test_seed_spread_covers_every_config_run_with_several_seeds():
    runs = [_run("cnnlab", acc=0.88), _run("cnnlab", acc=0.90, seed=1),
            _run("cnnlab", model="lenet", batch=32, acc=0.83), _run("cnnlab", model="lenet", batch=32, acc=0.85, seed=1),
            _run("torch", acc=0.87)]
    spread = report.seed_spread(runs)
    assert set(spread) == {"cnnlab cnn b128", "cnnlab lenet b32"}
    lenet = spread["cnnlab lenet b32"]
    assert lenet["accuracies"] == [0.83, 0.85] and lenet["mean"] == pytest.approx(0.84)
    assert lenet["max"] - lenet["min"] == pytest.approx(0.02)


def test_busy_rows_compare_cnnlab_with_keras_against_the_target_and_torch_without():
    busy = {"cnnlab": {"quiet": 17.0, "busy": 30.0}, "Keras 3 / TensorFlow": {"quiet": 25.0, "busy": 48.0},
            "idiomatic PyTorch": {"quiet": 19.0, "busy": 140.0}, "cnnlab, governor off": {"busy": 96.0}}
    rows = {row["peer"]: row for row in tools.ratio_rows({"runs": [], "busy": busy})}
    assert rows["keras-tf"]["ratio"] == pytest.approx(48.0 / 30.0) and rows["keras-tf"]["met"] is True
    assert rows["torch"]["ratio"] == pytest.approx(140.0 / 30.0) and rows["torch"]["met"] is None
    busy["Keras 3 / TensorFlow"]["busy"] = 40.0  # 1.33x: short of 1.5x
    assert [r["met"] for r in tools.ratio_rows({"runs": [], "busy": busy}) if r["peer"] == "keras-tf"] == [False]


def test_a_failed_or_missing_busy_probe_adds_no_row():
    assert tools.ratio_rows({"runs": [], "busy": {"error": "boom"}}) == []
    assert tools.ratio_rows({"runs": [], "busy": {"cnnlab": {"busy": None}}}) == []


# ------------------------------------------------------ Keras architectures (bench/apps_probe.py)
APPS = {"size": 224, "batch_size": 32,
        "results": {"mobilenet_v2": {"cnnlab": 20.0, "keras-tf": 40.0, "torchvision": 50.0},
                    "resnet50": {"cnnlab": 9.0, "keras-tf": 6.0, "torchvision": None}},
        "skipped": {}}


def test_apps_rows_compare_cnnlab_rate_with_each_peer_that_ran_without_targets():
    rows = tools.apps_rows(APPS)
    assert [(r["figure"], r["peer"], r["ratio"]) for r in rows] == [
        ("predict img/s, MobileNetV2 224x224 b32", "keras-tf", 0.5),          # 20 / 40: cnnlab half as fast
        ("predict img/s, MobileNetV2 224x224 b32", "torchvision", 0.4),       # 20 / 50
        ("predict img/s, ResNet50 224x224 b32", "keras-tf", 1.5),             # 9 / 6; torchvision failed: no row
    ]
    assert all(r["met"] is None and r["target"] == "-" for r in rows)


def test_apps_rows_are_empty_for_a_failed_or_absent_probe():
    assert tools.apps_rows(None) == [] and tools.apps_rows({"error": "boom"}) == []
    assert tools.apps_rows({"results": {"resnet50": {"keras-tf": 6.0}}}) == []  # no cnnlab figure


def test_apps_rows_join_the_ratio_table():
    figures = [row["figure"] for row in tools.ratio_rows({"runs": [], "apps": APPS})]
    assert figures.count("predict img/s, MobileNetV2 224x224 b32") == 2


def test_report_lists_apps_raw_figures_and_skipped_tools():
    lines = report.apps_lines({**APPS, "skipped": {"torchvision": "no .venv-tv (make .venv-tv)"}})
    assert lines[0] == ("- MobileNetV2 predict img/s (224x224, batch 32, weights=None): cnnlab 20.0; "
                        "Keras 3 / TensorFlow 40.0; torchvision 50.0")
    assert lines[1].endswith("cnnlab 9.0; Keras 3 / TensorFlow 6.0; torchvision failed")
    assert lines[2] == "- torchvision not run for the Keras architectures: no .venv-tv (make .venv-tv)"
    assert report.apps_lines({"error": "a\nlast line"}) == ["- Keras architectures, predict: failed (last line)"]


def test_apps_probe_reads_the_child_rate_and_skips_missing_venvs(monkeypatch, tmp_path):
    from bench import apps_probe

    assert apps_probe.parse_rate("warming up\nIMAGES_PER_S 12.5\n") == 12.5
    assert apps_probe.parse_rate("Traceback ...") is None
    monkeypatch.setattr(apps_probe, "ROOT", tmp_path)  # no venv exists there
    ready, skipped = apps_probe.tool_pythons(["cnnlab", "keras-tf", "torchvision"])
    assert list(ready) == ["cnnlab"]
    assert "make .venv-tv" in skipped["torchvision"] and "make .venv-bench" in skipped["keras-tf"]


def test_bench_plans_run_the_apps_probe():
    from bench import run

    assert all(plan["apps"] for plan in run.PLANS.values())


def test_compile_lines_give_both_step_times_and_the_first_epoch():
    rows = [{"model": "lenet", "batch_size": 32, "tool": "cnnlab",
             "eager": {"ms_per_step": 2.0, "first_epoch_s": 0.8}, "compiled": {"ms_per_step": 3.0, "first_epoch_s": 40.0}},
            {"model": "cnn", "batch_size": 128, "tool": "torch", "eager": None, "compiled": None}]
    lines = report.compile_lines(rows)
    assert "2.00 ms/step eager, 3.00 compiled (1.50x the time)" in lines[0] and "40.0 s with compiling" in lines[0]
    assert "a run failed" in lines[1]
    assert report.compile_lines({"error": "boom\nlast"}) == ["- torch.compile probe: failed (last)"]


# ------------------------------------------------------------------ what bounds each target (floor probe)
def _floor(model, batch, task, threads, kernels, cnnlab, bare=None):
    row = {"model": model, "batch_size": batch, "task": task, "threads": threads, "kernels": [],
           "kernels_ms": kernels, "cnnlab_ms": cnnlab}
    if bare is not None:
        row["bare_ms"] = bare
    return row


def test_step_ms_divides_the_epoch_by_its_batches_rounding_the_last_up():
    assert tools.step_ms({"seconds_per_epoch": 4.0, "samples": 1000, "batch_size": 128}) == pytest.approx(500.0)


def test_floor_rows_set_each_target_step_against_the_kernels_the_eager_loop_and_cnnlab():
    cnn_tf = {**_run("keras-tf", s=2.56), "samples": 12_800}  # 100 steps: 25.6 ms/step -> 2x needs 12.8
    lenet_torch = {**_run("torch", model="lenet", batch=32, s=0.3), "samples": 3200}  # 3 ms/step -> 1.5x: 2.0
    lenet_tf = {**_run("keras-tf", model="lenet", batch=32, s=0.4), "samples": 3200}  # 4 ms/step -> 4x: 1.0
    result = {"runs": [cnn_tf, lenet_torch, lenet_tf], "matmul_peak_gflops": 400.0, "forward_macs": {"cnn": 1_000_000},
              "busy": {"Keras 3 / TensorFlow": {"quiet": 20.0, "busy": 30.0}},
              "floor": [_floor("cnn", 128, "train", 2, kernels=13.0, cnnlab=18.0, bare=17.0),
                        _floor("lenet", 32, "train", 2, kernels=1.1, cnnlab=2.3, bare=2.1),
                        _floor("cnn", 128, "predict", 2, kernels=4.5, cnnlab=5.0),
                        _floor("cnn", 128, "train", 1, kernels=24.0, cnnlab=35.0, bare=35.5)]}
    result["runs"][0]["predict_images_per_s"] = 16_000.0  # 8 ms per 128 -> 2.5x needs 3.2 ms
    rows = {row["target"]: row for row in tools.floor_rows(result)}
    cnn = rows["two-conv CNN b128 train >= 2.0x Keras 3 / TensorFlow"]
    assert cnn["needs_ms"] == pytest.approx(12.8) and cnn["bound"] == "the kernels alone take longer"
    lenet = rows["LeNet-5 b32 train >= 1.5x idiomatic PyTorch"]
    assert lenet["needs_ms"] == pytest.approx(2.0) and lenet["bound"] == "below eager PyTorch only"
    assert rows["LeNet-5 b32 train >= 4.0x Keras 3 / TensorFlow"]["needs_ms"] == pytest.approx(1.0)
    # 6 x 1M MACs x 128 = 768 MFLOP at 60% of 400 GFLOP/s: 3.2 ms
    assert rows["two-conv CNN b128 train >= 60% of the matmul peak"]["needs_ms"] == pytest.approx(3.2)
    predict = rows["two-conv CNN predict b128 >= 2.5x Keras 3 / TensorFlow"]
    assert predict["needs_ms"] == pytest.approx(3.2) and predict["bare_ms"] is None
    busy = next(row for target, row in rows.items() if "CPU-bound" in target)
    assert busy["needs_ms"] == pytest.approx(20.0) and busy["kernels_ms"] == 24.0  # the one-thread probe
    table = tools.render_floor_table(tools.floor_rows(result))
    assert "| LeNet-5 b32 train >= 1.5x idiomatic PyTorch | 3.00 ms/step | 2.00 | 1.10 | 2.10 | 2.30 |" in table


def test_a_target_within_reach_of_the_eager_loop_says_so_and_a_failed_probe_adds_nothing():
    runs = [{**_run("keras-tf", s=4.0), "samples": 12_800}]  # 40 ms/step -> 2x needs 20
    rows = tools.floor_rows({"runs": runs, "floor": [_floor("cnn", 128, "train", 2, 12.0, 18.0, 17.0)]})
    assert [row["bound"] for row in rows] == ["no"]
    assert tools.floor_rows({"runs": runs, "floor": {"error": "boom"}}) == []
    assert "failed (boom)" in report.markdown({"date": "d", "mode": "quick", "machine": {}, "runs": [],
                                               "floor": {"error": "boom"}})
