import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest

from cnnlab.data import sources
from cnnlab.data.idx import write_idx
from cnnlab.data.sources import (
    DatasetSpec,
    RemoteFile,
    data_home,
    download_file,
    find_dataset_files,
    is_offline,
    load_idx_classification,
)
from cnnlab.errors import DatasetNotFoundError, FileFormatError

NAMES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def toy_spec(tmp_path, mirrors=("https://example.invalid/toy/",), files=None, apt_package="dataset-toy"):
    files = files or tuple(RemoteFile(name, "0" * 64, 100) for name in NAMES)
    return DatasetSpec(
        name="toy",
        title="Toy",
        files=files,
        mirrors=mirrors,
        system_dirs=(tmp_path / "system" / "toy",),
        apt_package=apt_package,
    )


def write_toy_dataset(folder: Path, n_train=5, n_test=3, n_train_labels=None, label_max=9, size=4):
    rng = np.random.default_rng(1)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        NAMES[0]: rng.integers(0, 256, (n_train, size, size), dtype=np.uint8),
        NAMES[1]: rng.integers(0, label_max + 1, n_train_labels or n_train, dtype=np.uint8),
        NAMES[2]: rng.integers(0, 256, (n_test, size, size), dtype=np.uint8),
        NAMES[3]: rng.integers(0, label_max + 1, n_test, dtype=np.uint8),
    }
    for name, array in arrays.items():
        write_idx(folder / name, array)
    return arrays


# --- where files are looked for --------------------------------------------


def test_data_home_is_cnnlab_data_when_set(isolated_data_home):
    assert data_home() == isolated_data_home


def test_data_home_defaults_to_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("CNNLAB_DATA")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data_home() == tmp_path / ".cache" / "cnnlab"


@pytest.mark.parametrize("value, offline", [("1", True), ("yes", True), ("0", False), ("", False), ("false", False)])
def test_cnnlab_offline_values(monkeypatch, value, offline):
    monkeypatch.setenv("CNNLAB_OFFLINE", value)
    assert is_offline() is offline


def test_data_folder_wins_over_system_folder(tmp_path, isolated_data_home):
    spec = toy_spec(tmp_path)
    write_toy_dataset(isolated_data_home / "toy")
    write_toy_dataset(spec.system_dirs[0])
    found = find_dataset_files(spec)
    assert all(path.parent == isolated_data_home / "toy" for path in found.values())


def test_system_folder_is_used_when_data_folder_is_empty(tmp_path):
    spec = toy_spec(tmp_path)
    write_toy_dataset(spec.system_dirs[0])
    assert {path.parent for path in find_dataset_files(spec).values()} == {spec.system_dirs[0]}


def test_gunzipped_copies_are_accepted(tmp_path, isolated_data_home):
    spec = toy_spec(tmp_path)
    folder = isolated_data_home / "toy"
    write_toy_dataset(folder)
    for name in NAMES:
        (folder / name.removesuffix(".gz")).write_bytes(gzip.decompress((folder / name).read_bytes()))
        (folder / name).unlink()
    assert [path.name for path in find_dataset_files(spec).values()] == [n.removesuffix(".gz") for n in NAMES]


def test_offline_not_found_message_says_which_files_go_where(tmp_path, isolated_data_home):
    spec = toy_spec(tmp_path)
    with pytest.raises(DatasetNotFoundError) as info:
        find_dataset_files(spec)
    message = str(info.value)
    assert "Toy was not found" in message
    assert f"Put these files in '{isolated_data_home / 'toy'}'" in message
    for name in NAMES:
        assert f"{name}  <- https://example.invalid/toy/{name}" in message
    assert "CNNLAB_OFFLINE=1" in message
    assert "sudo apt-get install dataset-toy" in message
    assert str(spec.system_dirs[0]) in message


def test_not_found_lists_only_the_missing_files(tmp_path, isolated_data_home):
    spec = toy_spec(tmp_path)
    write_toy_dataset(isolated_data_home / "toy")
    (isolated_data_home / "toy" / NAMES[3]).unlink()
    with pytest.raises(DatasetNotFoundError) as info:
        find_dataset_files(spec)
    assert NAMES[3] in str(info.value) and NAMES[0] not in str(info.value)


# --- downloading -----------------------------------------------------------


def served_file(tmp_path, content: bytes, name=NAMES[1]):
    """A mirror folder served through file:// URLs."""
    mirror = tmp_path / "mirror"
    mirror.mkdir(exist_ok=True)
    (mirror / name).write_bytes(content)
    return mirror.as_uri() + "/", RemoteFile(name, hashlib.sha256(content).hexdigest(), len(content))


def test_download_keeps_a_file_whose_sha256_matches(tmp_path):
    base, remote = served_file(tmp_path, b"label bytes")
    dest = tmp_path / "cache" / remote.name
    assert download_file((base + remote.name,), dest, remote) == dest
    assert dest.read_bytes() == b"label bytes"
    assert list(dest.parent.iterdir()) == [dest]  # no temporary file left


def test_checksum_mismatch_deletes_the_download_and_raises(tmp_path):
    base, remote = served_file(tmp_path, b"altered bytes")
    wrong = RemoteFile(remote.name, hashlib.sha256(b"original").hexdigest(), remote.size)
    dest = tmp_path / "cache" / remote.name
    with pytest.raises(FileFormatError, match="does not match its published checksum") as info:
        download_file((base + remote.name,), dest, wrong)
    assert wrong.sha256 in str(info.value) and remote.sha256 in str(info.value)
    assert list(dest.parent.iterdir()) == []


def test_download_stops_after_the_published_size(tmp_path):
    base, remote = served_file(tmp_path, b"x" * 1000)
    short = RemoteFile(remote.name, hashlib.sha256(b"x" * 10).hexdigest(), 10)
    with pytest.raises(FileFormatError) as info:
        download_file((base + remote.name,), tmp_path / "cache" / remote.name, short)
    # Only size + 1 = 11 bytes were read, so the digest is that of 11 x's.
    assert hashlib.sha256(b"x" * 11).hexdigest() in str(info.value)


def test_download_falls_back_to_the_next_mirror(tmp_path):
    base, remote = served_file(tmp_path, b"abc")
    dead = (tmp_path / "no-such-mirror").as_uri() + "/"
    dest = tmp_path / "cache" / remote.name
    download_file((dead + remote.name, base + remote.name), dest, remote)
    assert dest.read_bytes() == b"abc"


def test_find_dataset_files_downloads_missing_files_into_the_data_folder(tmp_path, isolated_data_home, monkeypatch):
    monkeypatch.delenv("CNNLAB_OFFLINE")
    mirror = tmp_path / "mirror"
    arrays = write_toy_dataset(mirror)
    files = tuple(RemoteFile(n, hashlib.sha256((mirror / n).read_bytes()).hexdigest(), (mirror / n).stat().st_size) for n in NAMES)
    spec = toy_spec(tmp_path, mirrors=(mirror.as_uri() + "/",), files=files)
    (x_train, y_train), (x_test, y_test) = load_idx_classification(spec, num_classes=10, image_shape=(4, 4))
    assert sorted(p.name for p in (isolated_data_home / "toy").iterdir()) == sorted(NAMES)
    np.testing.assert_array_equal(x_train, arrays[NAMES[0]])
    np.testing.assert_array_equal(y_test, arrays[NAMES[3]])


def test_unreachable_mirrors_give_the_instructions(tmp_path, monkeypatch):
    monkeypatch.delenv("CNNLAB_OFFLINE")
    spec = toy_spec(tmp_path, mirrors=((tmp_path / "gone").as_uri() + "/",))
    with pytest.raises(DatasetNotFoundError, match="Put these files in"):
        find_dataset_files(spec)


def test_download_uses_a_timeout(tmp_path, monkeypatch):
    seen = {}

    def fake_urlopen(url, timeout=None):
        seen["timeout"] = timeout
        raise OSError("offline")

    monkeypatch.setattr(sources.urllib.request, "urlopen", fake_urlopen)
    with pytest.raises(DatasetNotFoundError):
        download_file(("https://example.invalid/x",), tmp_path / "x", RemoteFile("x", "0" * 64, 1))
    assert seen["timeout"] == sources.DOWNLOAD_TIMEOUT_S


# --- loading an IDX classification dataset --------------------------------


def test_label_count_must_match_image_count(tmp_path, isolated_data_home):
    write_toy_dataset(isolated_data_home / "toy", n_train=5, n_train_labels=4)
    with pytest.raises(FileFormatError, match="has 4 labels but .* has 5 images"):
        load_idx_classification(toy_spec(tmp_path), num_classes=10, image_shape=(4, 4))


def test_labels_out_of_range_are_rejected(tmp_path, isolated_data_home):
    write_toy_dataset(isolated_data_home / "toy", n_train=50, label_max=12)
    with pytest.raises(FileFormatError, match="expected labels 0..9"):
        load_idx_classification(toy_spec(tmp_path), num_classes=10, image_shape=(4, 4))


def test_images_of_the_wrong_size_are_rejected(tmp_path, isolated_data_home):
    write_toy_dataset(isolated_data_home / "toy", size=5)
    with pytest.raises(FileFormatError, match=r"shape \(n, 4, 4\); got uint8 array of shape \(5, 5, 5\)"):
        load_idx_classification(toy_spec(tmp_path), num_classes=10, image_shape=(4, 4))


def test_unreachable_mirrors_print_the_failure_once(tmp_path, monkeypatch):
    import traceback

    monkeypatch.delenv("CNNLAB_OFFLINE")
    spec = toy_spec(tmp_path, mirrors=((tmp_path / "gone").as_uri() + "/",))
    with pytest.raises(DatasetNotFoundError) as info:
        find_dataset_files(spec)
    printed = "".join(traceback.format_exception(info.value))
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert printed.count("could be reached") == 1  # the reason is in the one message, not in a chained traceback
