"""CIFAR-10/100 from small archives in the published binary layout (3 records per batch file)."""

import dataclasses
import hashlib
import io
import tarfile

import numpy as np
import pytest

import cnnlab
from cnnlab.data.sources import RemoteFile
from cnnlab.datasets import cifar10, cifar100
from cnnlab.errors import ConfigError, DatasetNotFoundError, FileFormatError, UnsafeArchiveError

N = 3  # records per file in the test archives


def encode_record(labels, image):
    """One binary record, written pixel by pixel: label bytes, then the R, G and B planes, each row by row."""
    pixels = [int(image[row, col, channel]) for channel in range(3) for row in range(32) for col in range(32)]
    return bytes(list(labels) + pixels)


def make_split(rng, n, label_counts):
    images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    labels = np.stack([rng.integers(0, count, n) for count in label_counts], axis=1)
    data = b"".join(encode_record(labels[i], images[i]) for i in range(n))
    return images, labels, data


def add_member(tar, name, data=b"", **fields):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for key, value in fields.items():
        setattr(info, key, value)
    tar.addfile(info, io.BytesIO(data) if info.isfile() else None)


def write_archive(path, members):
    """members: (name, bytes) for files, or (name, dict of TarInfo fields) for anything else."""
    with tarfile.open(path, "w:gz") as tar:
        for name, content in members:
            if isinstance(content, dict):
                add_member(tar, name, **content)
            else:
                add_member(tar, name, content)
    return path


def use_archive(monkeypatch, module, path, counts=None):
    """Point ``module.LAYOUT`` at a small archive: N records per file and the archive's own SHA-256."""
    layout = module.LAYOUT
    counts = counts or {}
    remote = layout.spec.files[0]
    data = path.read_bytes() if path.is_file() else b""
    sha = hashlib.sha256(data).hexdigest()
    spec = dataclasses.replace(layout.spec, files=(RemoteFile(remote.name, sha, len(data)),))
    small = dataclasses.replace(
        layout, spec=spec,
        train_files=tuple((name, counts.get(name, N)) for name, _ in layout.train_files),
        test_files=tuple((name, counts.get(name, N)) for name, _ in layout.test_files),
    )
    monkeypatch.setattr(module, "LAYOUT", small)
    return small


def cifar10_members(rng, corrupt=None):
    """The members of a small cifar-10-binary.tar.gz and the images and labels written into them."""
    folder = "cifar-10-batches-bin/"
    members, expected = [(folder.rstrip("/"), {"type": tarfile.DIRTYPE})], {}
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        images, labels, data = make_split(rng, N, (10,))
        expected[name] = (images, labels)
        members.append((folder + name, data))
    members.append((folder + "batches.meta.txt", b"airplane\nautomobile\n"))
    return members, expected


@pytest.fixture
def cifar10_archive(isolated_data_home, monkeypatch):
    rng = np.random.default_rng(0)
    members, expected = cifar10_members(rng)
    path = write_archive(_archive_path(isolated_data_home, "cifar10", "cifar-10-binary.tar.gz"), members)
    use_archive(monkeypatch, cifar10, path)
    return path, expected


def _archive_path(home, folder, name):
    (home / folder).mkdir(parents=True, exist_ok=True)
    return home / folder / name


def refused_archive(isolated_data_home, monkeypatch, edit):
    """A cifar-10 archive whose members list went through ``edit``, patched in as the published one."""
    members, _ = cifar10_members(np.random.default_rng(1))
    path = write_archive(_archive_path(isolated_data_home, "cifar10", "cifar-10-binary.tar.gz"), edit(members))
    use_archive(monkeypatch, cifar10, path)
    return path


# --- values, shapes, dtypes --------------------------------------------------------------------------------


def test_cifar10_shapes_and_dtypes_are_keras(cifar10_archive):
    (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    assert x_train.shape == (5 * N, 32, 32, 3) and x_test.shape == (N, 32, 32, 3)
    assert y_train.shape == (5 * N, 1) and y_test.shape == (N, 1)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}


def test_cifar10_pixels_go_from_colour_planes_to_height_width_channels(cifar10_archive):
    _, expected = cifar10_archive
    (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    train_images = np.concatenate([expected[f"data_batch_{i}.bin"][0] for i in range(1, 6)])
    train_labels = np.concatenate([expected[f"data_batch_{i}.bin"][1] for i in range(1, 6)])
    np.testing.assert_array_equal(x_train, train_images)
    np.testing.assert_array_equal(y_train, train_labels)
    np.testing.assert_array_equal(x_test, expected["test_batch.bin"][0])
    np.testing.assert_array_equal(y_test, expected["test_batch.bin"][1])


def test_single_record_byte_positions_worked_by_hand(isolated_data_home, monkeypatch):
    # Byte 1 + c*1024 + r*32 + col of a record is channel c of pixel (r, col).
    record = np.zeros(1 + 3072, np.uint8)
    record[0] = 7
    record[1 + 0 * 1024 + 0 * 32 + 1] = 11   # red of pixel (0, 1)
    record[1 + 1 * 1024 + 2 * 32 + 0] = 22   # green of pixel (2, 0)
    record[1 + 2 * 1024 + 31 * 32 + 31] = 33  # blue of pixel (31, 31)
    members = [(f"cifar-10-batches-bin/{name}", record.tobytes())
               for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]]
    path = write_archive(_archive_path(isolated_data_home, "cifar10", "cifar-10-binary.tar.gz"), members)
    use_archive(monkeypatch, cifar10, path, counts={name: 1 for name, _ in cifar10.LAYOUT.data_files.items()})
    _, (x_test, y_test) = cifar10.load_data()
    assert y_test.tolist() == [[7]]
    assert x_test[0, 0, 1, 0] == 11 and x_test[0, 2, 0, 1] == 22 and x_test[0, 31, 31, 2] == 33
    assert int(x_test.sum()) == 11 + 22 + 33
    assert x_test.flags["C_CONTIGUOUS"]


@pytest.fixture
def cifar100_archive(isolated_data_home, monkeypatch):
    rng = np.random.default_rng(2)
    train = make_split(rng, N, (20, 100))
    test = make_split(rng, N, (20, 100))
    members = [("cifar-100-binary/train.bin", train[2]), ("cifar-100-binary/test.bin", test[2]),
               ("cifar-100-binary/fine_label_names.txt", b"apple\n")]
    path = write_archive(_archive_path(isolated_data_home, "cifar100", "cifar-100-binary.tar.gz"), members)
    use_archive(monkeypatch, cifar100, path)
    return train, test


@pytest.mark.parametrize("label_mode, column", [("fine", 1), ("coarse", 0)])
def test_cifar100_label_modes_pick_the_label_byte(cifar100_archive, label_mode, column):
    train, test = cifar100_archive
    (x_train, y_train), (x_test, y_test) = cifar100.load_data(label_mode=label_mode)
    np.testing.assert_array_equal(x_train, train[0])
    np.testing.assert_array_equal(x_test, test[0])
    np.testing.assert_array_equal(y_train[:, 0], train[1][:, column])
    np.testing.assert_array_equal(y_test[:, 0], test[1][:, column])
    # Keras's CIFAR-100 labels are int64 (a reshaped Python list), unlike CIFAR-10's uint8.
    assert y_train.dtype == y_test.dtype == np.int64 and y_train.shape == (N, 1)
    assert x_train.dtype == np.uint8 and x_train.shape == (N, 32, 32, 3)


def test_cifar100_default_label_mode_is_fine(cifar100_archive):
    train, _ = cifar100_archive
    (_, y_train), _ = cifar100.load_data()
    np.testing.assert_array_equal(y_train[:, 0], train[1][:, 1])


def test_cifar100_unknown_label_mode_names_the_choices():
    with pytest.raises(ConfigError, match=r"'fine' \(100 classes\) or 'coarse'.*Did you mean 'coarse'.*"
                                          r"Received: label_mode='corse'"):
        cifar100.load_data(label_mode="corse")


def test_class_names():
    assert cifar10.class_names[0] == "airplane" and cifar10.class_names[9] == "truck"
    assert len(cifar100.fine_class_names) == 100 and len(cifar100.coarse_class_names) == 20
    assert list(cifar100.fine_class_names) == sorted(cifar100.fine_class_names)
    assert cifar100.fine_class_names[-1] == "worm" and cifar100.coarse_class_names[-1] == "vehicles_2"


def test_datasets_package_exports_cifar():
    assert cnnlab.datasets.cifar10 is cifar10 and cnnlab.keras.datasets.cifar100 is cifar100


# --- where the data is found -------------------------------------------------------------------------------


def test_extracted_folder_is_read(isolated_data_home, monkeypatch):
    rng = np.random.default_rng(3)
    folder = isolated_data_home / "cifar10" / "cifar-10-batches-bin"
    folder.mkdir(parents=True)
    expected = {}
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        images, labels, data = make_split(rng, N, (10,))
        (folder / name).write_bytes(data)
        expected[name] = images
    use_archive(monkeypatch, cifar10, isolated_data_home / "absent")
    (x_train, _), (x_test, _) = cifar10.load_data()
    np.testing.assert_array_equal(x_test, expected["test_batch.bin"])
    np.testing.assert_array_equal(x_train[:N], expected["data_batch_1.bin"])


def test_extracted_file_of_wrong_size_is_refused(isolated_data_home, monkeypatch):
    folder = isolated_data_home / "cifar10" / "cifar-10-batches-bin"
    folder.mkdir(parents=True)
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        (folder / name).write_bytes(bytes(N * 3073 - (name == "test_batch.bin")))
    use_archive(monkeypatch, cifar10, isolated_data_home / "absent")
    with pytest.raises(FileFormatError, match=r"test_batch.bin' is 9218 bytes; expected 9219 \(3 records of 3073"):
        cifar10.load_data()


def test_archive_in_keras_cache_is_found(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    members, expected = cifar10_members(np.random.default_rng(4))
    path = write_archive(_archive_path(tmp_path / "kh", "datasets", "cifar-10-binary.tar.gz"), members)
    use_archive(monkeypatch, cifar10, path)
    _, (x_test, _) = cifar10.load_data()
    np.testing.assert_array_equal(x_test, expected["test_batch.bin"][0])


def test_offline_without_files_says_where_to_put_them(isolated_data_home, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    with pytest.raises(DatasetNotFoundError) as info:
        cifar10.load_data()
    message = str(info.value)
    assert f"Put these files in '{isolated_data_home / 'cifar10'}'" in message
    assert "cifar-10-binary.tar.gz  <- https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz" in message
    assert str(tmp_path / "kh" / "datasets") in message
    assert f"'{isolated_data_home / 'cifar10' / 'cifar-10-batches-bin'}' holding data_batch_1.bin" in message


def test_download_through_mirror_is_checked_and_read(tmp_path, isolated_data_home, monkeypatch):
    members, expected = cifar10_members(np.random.default_rng(5))
    served = write_archive(_archive_path(tmp_path, "mirror", "cifar-10-binary.tar.gz"), members)
    layout = use_archive(monkeypatch, cifar10, served)
    monkeypatch.setattr(cifar10, "LAYOUT", dataclasses.replace(
        layout, spec=dataclasses.replace(layout.spec, mirrors=((tmp_path / "mirror").as_uri() + "/",))))
    monkeypatch.setenv("CNNLAB_OFFLINE", "0")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    _, (x_test, _) = cifar10.load_data()
    np.testing.assert_array_equal(x_test, expected["test_batch.bin"][0])
    assert (isolated_data_home / "cifar10" / "cifar-10-binary.tar.gz").read_bytes() == served.read_bytes()


# --- damaged and hostile archives --------------------------------------------------------------------------


def test_local_archive_with_another_sha256_is_refused(cifar10_archive, monkeypatch):
    layout = cifar10.LAYOUT
    remote = dataclasses.replace(layout.spec.files[0], sha256="0" * 64)
    monkeypatch.setattr(cifar10, "LAYOUT", dataclasses.replace(
        layout, spec=dataclasses.replace(layout.spec, files=(remote,))))
    with pytest.raises(FileFormatError, match=r"is not the published cifar-10-binary.tar.gz: expected SHA-256 0{64}"):
        cifar10.load_data()


def test_truncated_archive_is_refused(cifar10_archive):
    path, _ = cifar10_archive
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(FileFormatError, match="truncated"):
        cifar10.load_data()


def test_member_of_wrong_size_is_refused_with_its_name(isolated_data_home, monkeypatch):
    def shorten(members):
        return [(n, c[:-1] if n.endswith("data_batch_2.bin") else c) for n, c in members]

    refused_archive(isolated_data_home, monkeypatch, shorten)
    with pytest.raises(FileFormatError, match=r"member 'cifar-10-batches-bin/data_batch_2.bin' is 9218 bytes; "
                                              r"expected 9219"):
        cifar10.load_data()


def test_label_out_of_range_names_member_record_and_offset(isolated_data_home, monkeypatch):
    def bad_label(members):
        out = []
        for name, content in members:
            if name.endswith("test_batch.bin"):
                content = bytearray(content)
                content[3073] = 10  # label of record 1
                content = bytes(content)
            out.append((name, content))
        return out

    refused_archive(isolated_data_home, monkeypatch, bad_label)
    with pytest.raises(FileFormatError, match=r"member 'cifar-10-batches-bin/test_batch.bin': record 1 \(byte offset "
                                              r"3073\) has label label 10; expected 0..9"):
        cifar10.load_data()


def test_missing_member_is_named(isolated_data_home, monkeypatch):
    refused_archive(isolated_data_home, monkeypatch, lambda m: [x for x in m if not x[0].endswith("data_batch_5.bin")])
    with pytest.raises(FileFormatError, match="lacks member.*cifar-10-batches-bin/data_batch_5.bin"):
        cifar10.load_data()


@pytest.mark.parametrize("extra, rule", [
    (("cifar-10-batches-bin/evil.py", b"print(1)"), "not part of the CIFAR-10 archive"),
    (("../cifar-10-batches-bin/data_batch_1.bin", b""), "not part of the CIFAR-10 archive"),
    (("/etc/passwd", b""), "not part of the CIFAR-10 archive"),
])
def test_foreign_and_traversal_members_are_refused(isolated_data_home, monkeypatch, extra, rule):
    refused_archive(isolated_data_home, monkeypatch, lambda members: members + [extra])
    with pytest.raises(UnsafeArchiveError, match=rule):
        cifar10.load_data()


@pytest.mark.parametrize("fields, kind", [
    ({"type": tarfile.SYMTYPE, "linkname": "/etc/passwd"}, "symbolic link to '/etc/passwd'"),
    ({"type": tarfile.LNKTYPE, "linkname": "cifar-10-batches-bin/data_batch_1.bin"}, "hard link"),
    ({"type": tarfile.CHRTYPE}, "device or special file"),
])
def test_link_or_device_with_an_expected_name_is_refused(isolated_data_home, monkeypatch, fields, kind):
    def swap(members):
        return [(n, fields if n.endswith("test_batch.bin") else c) for n, c in members]

    refused_archive(isolated_data_home, monkeypatch, swap)
    with pytest.raises(UnsafeArchiveError, match=f"test_batch.bin' is a {kind}"):
        cifar10.load_data()


def test_duplicate_member_is_refused(isolated_data_home, monkeypatch):
    refused_archive(isolated_data_home, monkeypatch, lambda members: members + [members[1]])
    with pytest.raises(UnsafeArchiveError, match="data_batch_1.bin' twice"):
        cifar10.load_data()


def test_oversized_text_member_is_refused(isolated_data_home, monkeypatch):
    big = bytes(cnnlab.datasets._cifar.MAX_OTHER_MEMBER_BYTES + 1)
    refused_archive(isolated_data_home, monkeypatch,
                    lambda members: [(n, big if n.endswith(".txt") else c) for n, c in members])
    with pytest.raises(FileFormatError, match="batches.meta.txt' is 1048577 bytes"):
        cifar10.load_data()


def test_not_an_archive_is_refused(isolated_data_home, monkeypatch):
    path = _archive_path(isolated_data_home, "cifar10", "cifar-10-binary.tar.gz")
    path.write_bytes(b"<html>not found</html>")
    use_archive(monkeypatch, cifar10, path)
    with pytest.raises(FileFormatError, match="is not a readable tar archive"):
        cifar10.load_data()


def test_gunzipped_archive_copy_is_read(isolated_data_home, monkeypatch):
    members, expected = cifar10_members(np.random.default_rng(6))
    path = _archive_path(isolated_data_home, "cifar10", "cifar-10-binary.tar")
    with tarfile.open(path, "w") as tar:
        for name, content in members:
            add_member(tar, name, **content) if isinstance(content, dict) else add_member(tar, name, content)
    use_archive(monkeypatch, cifar10, isolated_data_home / "absent")  # no published hash fits a .tar: not checked
    _, (x_test, _) = cifar10.load_data()
    np.testing.assert_array_equal(x_test, expected["test_batch.bin"][0])
