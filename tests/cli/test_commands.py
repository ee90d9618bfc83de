"""The other verbs, help and version, the installed entry point, and one-line errors."""

import pytest

from tests.cli.conftest import run_cli


def test_installed_entry_point_prints_the_version():
    result = run_cli("--version", entry_point=True)
    assert result.returncode == 0 and result.stdout.startswith("cnnlab 0.1.0")


@pytest.mark.parametrize("verb", ["train", "evaluate", "predict", "summary", "inspect", "datasets", "compare"])
def test_every_verb_has_help_with_examples(verb, capsys):
    from cnnlab.cli.main import main

    with pytest.raises(SystemExit) as exit_info:
        main([verb, "--help"])
    assert exit_info.value.code == 0
    assert f"cnnlab {verb}" in capsys.readouterr().out.split("examples:")[1]


def test_summary_and_detail(capsys):
    from cnnlab.cli.main import main

    assert main(["summary", "lenet5"]) == 0
    plain = capsys.readouterr().out
    assert "Total params: 61,706" in plain  # worked out in tests/zoo/test_registry.py
    assert main(["summary", "lenet5", "--detail", "--input-shape", "8,8,1"]) == 0
    detail = capsys.readouterr().out
    assert len(detail) > len(plain) and "Total params: 15,626" in detail


def test_summary_lists_zoo_models_and_shows_source(capsys):
    from cnnlab.cli.main import main

    assert main(["summary", "--list"]) == 0
    assert "small_resnet" in capsys.readouterr().out
    assert main(["summary", "small_vgg", "--source"]) == 0
    assert "def small_vgg(" in capsys.readouterr().out


def test_datasets_lists_every_builtin_dataset(capsys):
    from cnnlab.cli.main import main

    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    for name in ("fashion_mnist", "mnist", "digits"):
        assert name in out
    assert "CNNLAB_DATA" in out


def test_compare_writes_figure_and_table(tmp_path, capsys):
    from cnnlab.cli.main import main

    status = main(["compare", "--model", "lenet5", "--data", "digits", "--optimizers", "sgd,adam", "--epochs", "1",
                   "--limit", "120", "--out", str(tmp_path)])
    assert status == 0
    table = (tmp_path / "compare.md").read_text()
    assert "| sgd |" in table and "| adam |" in table
    from PIL import Image

    assert Image.open(tmp_path / "compare.png").size[0] > 600
    assert "best val accuracy" in capsys.readouterr().out


def test_bad_flag_is_a_usage_error_in_one_line():
    result = run_cli("train", "--model", "lenet5", "--data", "digits", "--bogus")
    assert result.returncode == 2
    assert result.stderr == "cnnlab: error: unrecognized arguments: --bogus (see 'cnnlab train --help')\n"


@pytest.mark.parametrize("argv, expected", [
    (["train", "--model", "lenet", "--data", "digits"], "Did you mean 'lenet5'?"),
    (["train", "--model", "lenet5", "--data", "no/such/folder"], "'no/such/folder' does not exist"),
    (["train", "--model", "lenet5", "--data", "fashoin_mnist"], "Did you mean 'fashion_mnist'?"),
    (["compare", "--model", "lenet5", "--data", "digits", "--optimizers", "adamm"], "Did you mean 'adam'?"),
    (["predict", "nowhere.cnnlab", "x.png"], "nowhere.cnnlab"),
])
def test_user_errors_are_one_line_with_exit_status_1(argv, expected, capsys):
    from cnnlab.cli.main import main

    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("cnnlab: error: ") and err.count("\n") == 1 and expected in err
    assert "Traceback" not in err


def test_debug_shows_the_traceback(capsys):
    from cnnlab.cli.main import main

    assert main(["--debug", "train", "--model", "lenet", "--data", "digits"]) == 1
    assert "Traceback" in capsys.readouterr().err
