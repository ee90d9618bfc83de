import pytest


@pytest.fixture(autouse=True)
def isolated_data_home(tmp_path, monkeypatch):
    """Point the data folder at an empty temporary folder and forbid downloads."""
    home = tmp_path / "cnnlab-data"
    monkeypatch.setenv("CNNLAB_DATA", str(home))
    monkeypatch.setenv("CNNLAB_OFFLINE", "1")
    return home
