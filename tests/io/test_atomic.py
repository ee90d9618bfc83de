import errno
import os

import pytest

from cnnlab.errors import CheckpointError, ConfigError
from cnnlab.io import atomic
from cnnlab.io.atomic import atomic_write


def leftovers(directory):
    return [name for name in os.listdir(directory) if name.endswith(".tmp")]


def test_writes_the_whole_file(tmp_path):
    path = tmp_path / "model.bin"
    with atomic_write(path) as f:
        f.write(b"abc")
        f.write(b"def")
    assert path.read_bytes() == b"abcdef"
    assert leftovers(tmp_path) == []


def test_text_mode_writes_utf8(tmp_path):
    path = tmp_path / "state.json"
    with atomic_write(path, "w") as f:
        f.write("épochs ━")
    assert path.read_text(encoding="utf-8") == "épochs ━"


def test_new_file_gets_normal_permissions(tmp_path):
    path = tmp_path / "m.bin"
    with atomic_write(path) as f:
        f.write(b"x")
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask


def test_error_midway_leaves_old_file_intact_and_no_temp(tmp_path):
    path = tmp_path / "best.cnnlab"
    path.write_bytes(b"old checkpoint")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_write(path) as f:
            f.write(b"half of the new")
            raise RuntimeError("boom")
    assert path.read_bytes() == b"old checkpoint"
    assert leftovers(tmp_path) == []


def test_keyboard_interrupt_midway_leaves_old_file_intact(tmp_path):
    path = tmp_path / "best.cnnlab"
    path.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(path) as f:
            f.write(b"new")
            raise KeyboardInterrupt
    assert path.read_bytes() == b"old"
    assert leftovers(tmp_path) == []


def test_missing_directory_is_checkpoint_error_with_fix(tmp_path):
    path = tmp_path / "nope" / "m.cnnlab"
    with pytest.raises(CheckpointError) as info:
        with atomic_write(path) as f:
            f.write(b"x")
    message = str(info.value)
    assert str(path) in message
    assert "its directory does not exist" in message
    assert f"os.makedirs('{tmp_path / 'nope'}', exist_ok=True)" in message
    assert message.endswith(f"Received: path='{path}'")


def test_parent_that_is_a_file_is_checkpoint_error(tmp_path):
    # Tests may run as root, which ignores permission bits; a regular file as
    # parent makes the directory unwritable for everyone.
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(CheckpointError, match="a part of its directory path is a file"):
        with atomic_write(tmp_path / "file" / "m.cnnlab") as f:
            f.write(b"x")


@pytest.mark.parametrize(
    ("code", "words"),
    [(errno.EROFS, "the file system is read-only"), (errno.ENOSPC, "the disk is full"),
     (errno.EACCES, "permission denied")],
)
def test_failed_rename_is_checkpoint_error_and_old_file_survives(tmp_path, monkeypatch, code, words):
    path = tmp_path / "m.cnnlab"
    path.write_bytes(b"old")

    def refuse(src, dst):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(atomic.os, "replace", refuse)
    with pytest.raises(CheckpointError, match=words) as info:
        with atomic_write(path) as f:
            f.write(b"new")
    assert "The previous file, if any, is left unchanged" in str(info.value)
    assert isinstance(info.value.__cause__, OSError)
    monkeypatch.undo()
    assert path.read_bytes() == b"old"
    assert leftovers(tmp_path) == []


def test_disk_full_while_writing_is_checkpoint_error(tmp_path):
    path = tmp_path / "m.cnnlab"
    with pytest.raises(CheckpointError, match="Free some disk space"):
        with atomic_write(path):
            raise OSError(errno.ENOSPC, "No space left on device")
    assert not path.exists()


def test_callers_own_file_errors_pass_through_unchanged(tmp_path):
    path = tmp_path / "m.cnnlab"
    with pytest.raises(FileNotFoundError):
        with atomic_write(path):
            open(tmp_path / "some-input-that-is-missing")
    assert leftovers(tmp_path) == []


def test_existing_directory_as_path_is_checkpoint_error(tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(CheckpointError, match="the path is an existing directory"):
        with atomic_write(tmp_path / "out") as f:
            f.write(b"x")
    assert leftovers(tmp_path) == []


def test_read_mode_is_config_error(tmp_path):
    with pytest.raises(ConfigError, match="Received: mode='rb'"):
        with atomic_write(tmp_path / "m", "rb"):
            pass
