"""``cnnlab datasets`` lists CIFAR-10 and CIFAR-100 with where their archives are (or would go)."""

from cnnlab.cli.main import main
from cnnlab.datasets import cifar10, cifar100


def test_datasets_lists_cifar10_and_cifar100_with_their_download_folders(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    assert main(["datasets"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert "not here" in rows["cifar10"] and str(tmp_path / "cifar10") in rows["cifar10"]
    assert "not here" in rows["cifar100"] and "100 (or 20) classes" in rows["cifar100"]


def test_datasets_shows_a_cifar_archive_already_in_the_data_folder_as_available(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    archive = tmp_path / cifar10.LAYOUT.spec.name / cifar10.LAYOUT.spec.files[0].name
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"")  # the listing looks for the file; load_data checks its contents
    assert main(["datasets"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert "available" in rows["cifar10"] and str(archive) in rows["cifar10"]
    assert "not here" in rows["cifar100"]
    assert cifar100.LAYOUT.spec.name == "cifar100"
