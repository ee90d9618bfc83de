"""``cnnlab train`` writes a complete run folder; ``evaluate``, ``predict``, ``inspect`` read it."""

import csv
import json

import numpy as np
import pytest
from PIL import Image

from tests.cli.conftest import run_cli

RUN_FILES = {"model.cnnlab", "history.csv", "report.html", "events", "run.json"}


def test_train_writes_every_file_of_the_run_folder(trained_run):
    out, result = trained_run
    assert RUN_FILES <= {p.name for p in out.iterdir()}
    assert "Run folder:" in result.stdout


def test_run_json_records_status_configuration_and_versions(trained_run):
    record = json.loads((trained_run[0] / "run.json").read_text())
    assert record["status"] == "finished"
    assert record["config"]["model"] == "lenet5" and record["config"]["epochs"] == 2
    assert {"cnnlab", "torch", "numpy", "python"} <= set(record["versions"])
    assert record["data"]["input_shape"] == [8, 8, 1] and record["data"]["class_names"][9] == "9"
    assert 0.0 <= record["results"]["test"]["accuracy"] <= 1.0
    assert record["results"]["epochs_run"] == 2


def test_history_csv_has_one_row_per_epoch(trained_run):
    with open(trained_run[0] / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert [row["epoch"] for row in rows] == ["0", "1"]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(rows[0])


def test_tensorboard_events_are_readable(trained_run):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    history = list(csv.DictReader(open(trained_run[0] / "history.csv")))
    acc = EventAccumulator(str(trained_run[0] / "events" / "validation"))
    acc.Reload()
    values = [e.value for e in acc.Scalars("epoch_accuracy")]
    np.testing.assert_allclose(values, [float(row["val_accuracy"]) for row in history], rtol=1e-6)


def test_saved_model_loads_and_predicts(trained_run):
    import cnnlab

    model = cnnlab.models.load_model(trained_run[0] / "model.cnnlab")
    probs = model.predict(np.zeros((2, 8, 8, 1), np.float32), verbose=0)
    assert probs.shape == (2, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_report_is_a_self_contained_html_file(trained_run):
    html = (trained_run[0] / "report.html").read_text()
    assert html.lstrip().lower().startswith("<!doctype html") and "data:image/png;base64," in html


def test_evaluate_prints_loss_and_accuracy_on_the_recorded_data(trained_run):
    result = run_cli("evaluate", trained_run[0], "--limit", "50")
    assert result.returncode == 0, result.stderr
    assert "accuracy" in result.stdout and "50 test images of digits" in result.stdout


def test_predict_shows_top_k_classes_for_grayscale_and_rgb_files(trained_run, tmp_path):
    grey = np.zeros((30, 20), np.uint8)
    grey[4:26, 8:12] = 255
    Image.fromarray(grey).save(tmp_path / "one.png")
    Image.fromarray(np.stack([grey] * 3, axis=-1)).save(tmp_path / "one_rgb.png")  # resized and made grey
    result = run_cli("predict", trained_run[0], tmp_path / "one.png", tmp_path / "one_rgb.png", "--top-k", "3")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].endswith("one.png") and len(lines) == 8  # per image: the path and 3 ranked classes
    percents = [float(line.rsplit(None, 1)[-1].rstrip("%")) for line in lines[1:4]]
    assert percents == sorted(percents, reverse=True) and sum(percents) <= 100.0


@pytest.mark.slow  # the full HTML report takes ~10 s on 2 CPU cores
def test_inspect_writes_a_report(trained_run, tmp_path):
    result = run_cli("inspect", trained_run[0], "--limit", "60", "--out", tmp_path / "r.html")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "r.html").stat().st_size > 1000


def test_a_failed_run_is_recorded_and_reported_in_one_line(tmp_path, capsys):
    from cnnlab.cli.main import main

    # An image folder with one broken file: training starts, then fails reading it.
    (tmp_path / "data" / "a").mkdir(parents=True)
    (tmp_path / "data" / "b").mkdir(parents=True)
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "data" / "a" / "0.png")
    (tmp_path / "data" / "b" / "bad.png").write_bytes(b"broken")
    status = main(["train", "--model", "lenet5", "--data", str(tmp_path / "data"), "--image-size", "8,8",
                   "--color-mode", "grayscale", "--val-split", "0", "--out", str(tmp_path / "run"), "--epochs", "1",
                   "--quiet"])
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("cnnlab: error: ") and err.count("\n") == 1 and "bad.png" in err
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert record["status"] == "failed" and "bad.png" in record["error"]


def test_ctrl_c_marks_the_run_interrupted_and_keeps_the_model(tmp_path, capsys, monkeypatch):
    from cnnlab.cli import _training
    from cnnlab.cli.main import INTERRUPTED, main

    def interrupted_fit(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(_training, "fit", interrupted_fit)
    status = main(["train", "--model", "lenet5", "--data", "digits", "--limit", "50", "--out", str(tmp_path / "run")])
    assert status == INTERRUPTED and "interrupted" in capsys.readouterr().err
    assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "interrupted"
    assert (tmp_path / "run" / "model.cnnlab").is_file()


def test_a_run_whose_process_died_reads_as_died_and_its_folder_says_so(tmp_path):
    import subprocess
    import sys

    from cnnlab.cli import _records, _runs
    from cnnlab.errors import ConfigError

    folder = tmp_path / "run"
    code = ("import os, sys; from cnnlab.cli._runs import RunFolder\n"
            f"run = RunFolder({str(folder)!r}, {{'epochs': 1}})\n"
            "with run.recording():\n    os.abort()  # as the C++ writer did under memory pressure\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert done.returncode != 0
    assert json.loads((folder / "run.json").read_text())["status"] == "running"  # what the dead process left
    assert _records.run_record(str(folder))["status"] == "died"
    with pytest.raises(ConfigError, match=r"status is 'died: run\.json still says 'running' but process \d+ has ended"):
        _runs.RunFolder(str(folder), {})


def test_a_live_run_reads_as_running():
    import os
    import socket

    from cnnlab.cli._runs import current_status

    assert current_status({"status": "running", "pid": os.getppid(), "host": socket.gethostname()}) == "running"
    assert current_status({"status": "running", "pid": 2**22 + 12345, "host": "another-machine"}) == "running"
