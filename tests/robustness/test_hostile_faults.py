"""Trust round 2 (issue #15), families "Backup state" and "Faults".

Backup state: a BackupAndRestore folder whose ``state.json`` points its tensors at devices, system files or paths
outside the folder, declares absurd sizes, epochs or RNG kinds, or whose newest generation is damaged: refused with
the file and the field named (or the previous generation used), nothing changed on disk.

Faults: file-size limits (RLIMIT_FSIZE, in one child process, since the limit is process-wide) under every
writer, Ctrl-C at several callback points, long file names, NaN weights in TensorBoard, and a PyTorch CNN that
calls ``.view`` inside ``layers.TorchModule``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from robust_record import RECORDS, check_hostile
from safetensors.torch import load_file, save_file
from torch import nn

import cnnlab
from cnnlab import callbacks, layers
from cnnlab.errors import FileFormatError

BACKUP, FAULTS = "Backup state", "Faults"
EPOCHS = 5


def _model(units: int = 3):
    model = cnnlab.Sequential([layers.Input((4,)), layers.Dense(units, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", device="cpu")
    return model


def _data(n: int = 16):
    rng = np.random.default_rng(0)
    return rng.random((n, 4), dtype=np.float32), np.arange(n) % 3


def _backup_folder(folder: Path, generations: int) -> Path:
    """A real backup: ``generations`` epochs backed up, the model's weights filled with the epoch number."""
    model = _model()
    backup = callbacks.BackupAndRestore(folder, delete_checkpoint=False)
    backup.set_model(model)
    for epoch in range(generations):
        model.set_weights([np.full(w.shape, float(epoch), w.dtype) for w in model.get_weights()])
        backup.on_epoch_end(epoch)
    return folder


@pytest.fixture(scope="module")
def templates(tmp_path_factory):
    root = tmp_path_factory.mktemp("backups")
    return {n: _backup_folder(root / f"gen{n}", n) for n in (1, 2)}


def _restore(folder: Path, model=None, epochs: int = EPOCHS):
    backup = callbacks.BackupAndRestore(folder)
    backup.set_model(model if model is not None else _model())
    backup.set_params({"epochs": epochs, "steps": 1, "verbose": 0})
    backup.on_train_begin()
    return backup


def _state(folder: Path, name: str = "state.json") -> dict:
    return json.loads((folder / name).read_text())


def _write_state(folder: Path, fields: dict, name: str = "state.json") -> None:
    (folder / name).write_text(json.dumps(fields))


def _tensors_file(folder: Path, name: str = "state.json") -> Path:
    return folder / _state(folder, name)["tensors"]


def _regular_files(folder: Path) -> tuple:
    """What a case may watch: plain files only (reading a FIFO or a link to /dev/zero would never end)."""
    return tuple(p for p in folder.iterdir() if p.is_file() and not p.is_symlink() and p.stat().st_size < 1 << 24)


# ------------------------------------------------------------------------------------ tensor paths in state.json
def _set_tensors(value):
    def mutate(folder):
        fields = _state(folder)
        fields["tensors"] = value
        _write_state(folder, fields)
        return repr(value)[:40]
    return mutate


def _make_special(path, kind: str) -> bool:
    """Make ``path`` the link, FIFO, folder or sparse file ``kind`` names; False for any other kind."""
    if kind.startswith("link to /"):
        path.symlink_to(kind.removeprefix("link to "))
    elif kind == "FIFO":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    elif kind.startswith("sparse ") and kind.endswith(" GiB file"):
        with open(path, "wb") as f:
            f.truncate(int(kind.split()[1]) << 30)
    else:
        return False
    return True


def _plant(kind: str):
    """Put something that is not a backup tensor file under a name that looks like one."""
    def mutate(folder):
        name = "state-epoch0-0badf00d.safetensors"
        target = folder / name
        if _make_special(target, kind):
            pass
        elif kind == "link to a real tensor file outside":
            outside = folder.parent / f"outside-{folder.name}.safetensors"
            shutil.copy(_tensors_file(folder), outside)
            target.symlink_to(outside)
        elif kind == "header declaring 2**40 bytes":
            target.write_bytes(struct.pack("<Q", 1 << 40) + b"{}")
        elif kind == "4-byte file":
            target.write_bytes(b"\x08\x00\x00\x00")
        fields = _state(folder)
        fields["tensors"] = name
        _write_state(folder, fields)
        return name
    mutate.__name__ = kind
    return mutate


PATH_CASES = [
    ("tensors = '/dev/zero'", _set_tensors("/dev/zero"), r"'tensors' is '/dev/zero'"),
    ("tensors = '/etc/passwd'", _set_tensors("/etc/passwd"), r"'tensors' is '/etc/passwd'"),
    ("tensors = '../../../etc/passwd'", _set_tensors("../../../etc/passwd"), r"'tensors' is '\.\./\.\./\.\./etc"),
    ("tensors = '..' then a real name", _set_tensors("../gen1/state-epoch0-00000000.safetensors"), r"'tensors' is"),
    ("tensors = a sub-folder path", _set_tensors("sub/state-epoch0-00000000.safetensors"), r"'tensors' is 'sub/"),
    ("tensors = absolute path of a real file", None, r"'tensors' is '/"),
    ("tensors = ''", _set_tensors(""), r"'tensors' is ''"),
    ("tensors = a number", _set_tensors(12345), r"'tensors' is 12345"),
    ("tensors = null", _set_tensors(None), r"'tensors' is None"),
    ("tensors = a list", _set_tensors(["/etc/passwd"]), r"'tensors' is \['/etc/passwd'\]"),
    ("tensors = a name with a NUL byte", _set_tensors("state-epoch0-00000000.safetensors\x00x"), r"'tensors' is"),
    ("tensors = a 10,000-character name", _set_tensors("a" * 10_000), r"'tensors' is 'aaaa"),
    ("tensors = a name with an epoch in the billions", _set_tensors("state-epoch99999999999-00000000.safetensors"),
     r"'tensors' is"),
    *[(f"tensor file is a {kind}", _plant(kind), where) for kind, where in [
        ("link to /dev/zero", r"symbolic link \(to '/dev/zero'\)"),
        ("link to /etc/passwd", r"symbolic link \(to '/etc/passwd'\)"),
        ("link to a real tensor file outside", r"symbolic link"),
        ("FIFO", r"not a plain file"),
        ("folder", r"not a plain file"),
        ("sparse 64 GiB file", r"68719476736 bytes, more than the \d+ bytes"),
        ("header declaring 2**40 bytes", r"declares a 1099511627776-byte header"),
        ("4-byte file", r"truncated \(4 bytes\)"),
    ]],
]


@pytest.mark.parametrize("case, mutate, where", PATH_CASES, ids=[c[0] for c in PATH_CASES])
def test_backup_tensor_paths_stay_inside_the_folder(tmp_path, templates, case, mutate, where):
    folder = tmp_path / "gen1"
    shutil.copytree(templates[1], folder)
    if mutate is None:  # the real tensor file, named by its absolute path
        mutate = _set_tensors(str(_tensors_file(folder)))
    mutate(folder)
    model = _model()
    json_path = re.escape(str(folder / "state.json"))
    err = check_hostile(BACKUP, f"state.json {case}", lambda: _restore(folder, model), FileFormatError,
                        rf"{json_path}'?: .*{where}", watch=_regular_files(folder))
    assert "Delete that directory" in str(err)
    assert not hasattr(model, "_resume_epoch")


# --------------------------------------------------------------------------------- state.json itself, and fields
def _replace_state(kind: str):
    def mutate(folder):
        state = folder / "state.json"
        state.unlink()
        if _make_special(state, kind):
            pass
        elif kind == "link that points at itself":
            state.symlink_to(state)
    return mutate


def _field(path: str, value):
    def mutate(folder):
        fields = _state(folder)
        *parents, last = path.split(".")
        target = fields
        for key in parents:
            target = target[key]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value
        (folder / "state.json").write_text(json.dumps(fields))  # json writes NaN/Infinity as Python reads them
    return mutate


_DELETE = object()

STATE_CASES = [
    *[(f"state.json is a {kind}", _replace_state(kind), where) for kind, where in [
        ("link to /etc/passwd", r"symbolic link \(to '/etc/passwd'\)"),
        ("link to /dev/zero", r"symbolic link \(to '/dev/zero'\)"),
        ("link that points at itself", r"symbolic link"),
        ("FIFO", r"not a plain file"),
        ("folder", r"not a plain file"),
        ("sparse 8 GiB file", r"8589934592 bytes, more than the 1048576 bytes"),
    ]],
    ("epoch 10**18", _field("epoch", 10**18), r"'epoch' is 1000000000000000000; expected a whole number from -1"),
    ("epoch -5", _field("epoch", -5), r"'epoch' is -5"),
    ("epoch '3' (a string)", _field("epoch", "3"), r"'epoch' is '3'"),
    ("epoch 2.5", _field("epoch", 2.5), r"'epoch' is 2\.5"),
    ("epoch true", _field("epoch", True), r"'epoch' is True"),
    ("epoch NaN", _field("epoch", float("nan")), r"'epoch' is nan"),
    ("epoch missing", _field("epoch", _DELETE), r"'epoch' is None"),
    ("weights 10**12", _field("weights", 10**12), r"'weights' is 1000000000000"),
    ("weights -1", _field("weights", -1), r"'weights' is -1"),
    ("weights 3 for a model with 2", _field("weights", 3), r"'weights' is 3, but the model has 2"),
    ("numpy kind 'PCG64'", _field("numpy.kind", "PCG64"), r"'numpy\.kind' is 'PCG64'; NumPy's global RNG is 'MT19937'"),
    ("numpy kind ''", _field("numpy.kind", ""), r"'numpy\.kind' is ''"),
    ("numpy kind a dict", _field("numpy.kind", {"a": 1}), r"'numpy\.kind' is \{'a': 1\}"),
    ("numpy pos 10**9", _field("numpy.pos", 10**9),
     r"'numpy\.pos' is 1000000000; expected a whole number from 0 to 624"),
    ("numpy pos -1", _field("numpy.pos", -1), r"'numpy\.pos' is -1"),
    ("numpy has_gauss 2", _field("numpy.has_gauss", 2), r"'numpy\.has_gauss' is 2"),
    ("numpy cached_gaussian Infinity", _field("numpy.cached_gaussian", float("inf")),
     r"'numpy\.cached_gaussian' is inf; expected a finite number"),
    ("numpy fields a list", _field("numpy", [1, 2]), r"'numpy' is \[1, 2\]; expected a JSON object"),
    ("python RNG version 2", _field("python.version", 2), r"'python\.version' is 2"),
    ("python gauss_next a string", _field("python.gauss_next", "x"), r"'python\.gauss_next' is 'x'"),
    ("format 'other'", _field("format", "other"), r"not a cnnlab backup"),
    ("version 99", _field("version", 99), r"'version' is 99"),
    ("optimizer a string", _field("optimizer", "adam"), r"'optimizer' is 'adam'"),
    ("optimizer learning_rate Infinity", _field("optimizer.learning_rate", float("inf")),
     r"'optimizer\.learning_rate' is inf"),
    ("a JSON list, not an object", lambda f: (f / "state.json").write_text("[1, 2, 3]"), r"must hold a JSON object"),
    ("not JSON", lambda f: (f / "state.json").write_text("{not json"), r"not valid JSON"),
    ("empty file", lambda f: (f / "state.json").write_text(""), r"not valid JSON"),
    ("nested 100,000 lists deep", lambda f: (f / "state.json").write_text("[" * 100_000 + "]" * 100_000),
     r"nest|deep|depth"),
    ("invalid UTF-8", lambda f: (f / "state.json").write_bytes(b"\xff\xfe{}"), r"UnicodeDecodeError"),
]


@pytest.mark.parametrize("case, mutate, where", STATE_CASES, ids=[c[0] for c in STATE_CASES])
def test_backup_state_fields_are_checked_before_anything_is_restored(tmp_path, templates, case, mutate, where):
    folder = tmp_path / "gen1"
    shutil.copytree(templates[1], folder)
    mutate(folder)
    model = _model()
    before = model.get_weights()
    np_state = np.random.get_state()[1].copy()
    err = check_hostile(BACKUP, f"state.json {case}", lambda: _restore(folder, model), FileFormatError,
                        rf"{re.escape(str(folder / 'state.json'))}'?: .*{where}", watch=_regular_files(folder))
    assert "Delete that directory" in str(err)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))  # nothing restored half-way
    assert np.array_equal(np.random.get_state()[1], np_state)


# ------------------------------------------------------------------------------------ tensors in the tensor file
def _tensor(edit):
    def mutate(folder):
        path = _tensors_file(folder)
        tensors = load_file(path)
        edit(tensors)
        save_file(tensors, path)
    return mutate


TENSOR_CASES = [
    ("torch RNG state of the wrong length",
     _tensor(lambda t: t.update({"rng/torch": torch.zeros(7, dtype=torch.uint8)})),
     r"tensor 'rng/torch' is torch\.uint8 \(7,\)"),
    ("NumPy RNG keys above 2**32", _tensor(lambda t: t["rng/numpy_keys"].fill_(1 << 40)),
     r"tensor 'rng/numpy_keys' holds values outside 0\.\.4294967295"),
    ("NumPy RNG keys as float", _tensor(lambda t: t.update({"rng/numpy_keys": t["rng/numpy_keys"].double()})),
     r"tensor 'rng/numpy_keys' is torch\.float64"),
    ("Python RNG position 10**6", _tensor(lambda t: t["rng/python"].__setitem__(-1, 10**6)),
     r"tensor 'rng/python' ends with position 1000000"),
    ("Python RNG state missing", _tensor(lambda t: t.pop("rng/python")), r"tensor 'rng/python' is missing"),
    ("a CUDA RNG state of floats", _tensor(lambda t: t.update({"rng/cuda/0": torch.zeros(4)})),
     r"tensor 'rng/cuda/0' is torch\.float32"),
    ("weights as int64", _tensor(lambda t: t.update({"weights/00000": t["weights/00000"].long()})),
     r"tensor 'weights/00000' is int64 \(4, 3\); the model's weight 0 is float32 \(4, 3\)"),
    ("weights of another shape", _tensor(lambda t: t.update({"weights/00000": torch.zeros(40, 3)})),
     r"tensor 'weights/00000' is float32 \(40, 3\)"),
    ("a weight missing", _tensor(lambda t: t.pop("weights/00001")), r"tensor 'weights/00001' is missing"),
    ("an unknown tensor", _tensor(lambda t: t.update({"evil/payload": torch.zeros(3)})),
     r"tensor 'evil/payload' is not part of a backup of this model"),
    ("a weight index past the model's", _tensor(lambda t: t.update({"weights/00999": torch.zeros(3)})),
     r"tensor 'weights/00999' is not part"),
]


@pytest.mark.parametrize("case, mutate, where", TENSOR_CASES, ids=[c[0] for c in TENSOR_CASES])
def test_backup_tensors_are_checked_against_the_model(tmp_path, templates, case, mutate, where):
    folder = tmp_path / "gen1"
    shutil.copytree(templates[1], folder)
    mutate(folder)
    check_hostile(BACKUP, f"tensor file: {case}", lambda: _restore(folder), FileFormatError,
                  rf"{re.escape(str(folder / 'state.json'))}'?: .*{where}", watch=_regular_files(folder))


# ---------------------------------------------------------------------------------- two generations: fall back
FALLBACK_CASES = [
    ("newest state.json missing", lambda f: (f / "state.json").unlink()),
    ("newest state.json not JSON", lambda f: (f / "state.json").write_text("{trunc")),
    ("newest state.json empty", lambda f: (f / "state.json").write_text("")),
    ("newest tensor file truncated", lambda f: _tensors_file(f).write_bytes(_tensors_file(f).read_bytes()[:100])),
    ("newest tensor file deleted", lambda f: _tensors_file(f).unlink()),
    ("newest tensors point at /etc/passwd", _set_tensors("/etc/passwd")),
    ("newest epoch 10**18", _field("epoch", 10**18)),
    ("newest numpy kind 'PCG64'", _field("numpy.kind", "PCG64")),
    ("newest weights of another shape", _tensor(lambda t: t.update({"weights/00000": torch.zeros(40, 3)}))),
]


@pytest.mark.parametrize("case, mutate", FALLBACK_CASES, ids=[c[0] for c in FALLBACK_CASES])
def test_a_damaged_newest_backup_falls_back_to_the_previous_one(tmp_path, templates, case, mutate):
    folder = tmp_path / "gen2"
    shutil.copytree(templates[2], folder)
    mutate(folder)
    model = _model()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_hostile(BACKUP, f"two generations, {case}: the previous one is used", lambda: _restore(folder, model),
                      None, watch=_regular_files(folder))
    assert model._resume_epoch == 1  # the previous generation holds epoch 0
    assert all(np.all(w == 0.0) for w in model.get_weights())
    message = " ".join(str(w.message) for w in caught)
    assert "resuming from the previous one" in message and str(folder / "state.previous.json") in message


def test_both_generations_damaged_names_both_files(tmp_path, templates):
    folder = tmp_path / "gen2"
    shutil.copytree(templates[2], folder)
    _set_tensors("/dev/zero")(folder)
    (folder / "state.previous.json").write_text("{")
    check_hostile(BACKUP, "two generations, both damaged", lambda: _restore(folder), FileFormatError,
                  rf"state\.json'?: 'tensors' is '/dev/zero'.*state\.previous\.json'?: .*not valid JSON",
                  watch=_regular_files(folder))


def test_a_backup_of_a_finished_training_says_so_and_trains_nothing(tmp_path, templates):
    folder = tmp_path / "gen2"
    shutil.copytree(templates[2], folder)
    model = _model()
    with pytest.warns(UserWarning, match=r"holds epoch 2 and fit was given epochs=2: that training had finished"):
        check_hostile(BACKUP, "epoch of a finished training (epoch + 1 == epochs): warned, nothing trained",
                      lambda: _restore(folder, model, epochs=2), None, watch=_regular_files(folder))
    assert model._resume_epoch == 2


def test_rotation_keeps_the_previous_generation_restorable(tmp_path):
    folder = _backup_folder(tmp_path / "b", 3)
    assert _state(folder)["epoch"] == 2 and _state(folder, "state.previous.json")["epoch"] == 1
    assert len(list(folder.glob("state-epoch*.safetensors"))) == 2
    (folder / "state.json").unlink()
    model = _model()
    with pytest.warns(UserWarning, match="previous one"):
        _restore(folder, model)
    assert model._resume_epoch == 2 and all(np.all(w == 1.0) for w in model.get_weights())


# =========================================================================================================== Faults
class _InterruptAt(callbacks.Callback):
    """Ctrl-C at one callback point of epoch 1, placed after BackupAndRestore in the list."""

    def __init__(self, hook: str):
        super().__init__()
        self.hook, self.epoch = hook, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self._maybe("on_epoch_begin")

    def on_train_batch_end(self, batch, logs=None):
        self._maybe("on_train_batch_end")

    def on_test_begin(self, logs=None):
        self._maybe("on_test_begin")

    def on_epoch_end(self, epoch, logs=None):
        self._maybe("on_epoch_end")

    def _maybe(self, hook):
        if hook == self.hook and self.epoch == 1:
            raise KeyboardInterrupt


class _InterruptedCheckpoint(callbacks.ModelCheckpoint):
    """Ctrl-C while ModelCheckpoint saves epoch 1 (after the file is written)."""

    def _save(self, epoch, batch, logs):
        super()._save(epoch, batch, logs)
        if epoch == 1:
            raise KeyboardInterrupt


INTERRUPTS = ["on_epoch_begin", "on_train_batch_end", "on_test_begin", "on_epoch_end", "ModelCheckpoint save"]


@pytest.mark.parametrize("point", INTERRUPTS)
def test_ctrl_c_in_a_later_callback_keeps_the_backup(tmp_path, point):
    x, y = _data()
    model = _model()
    later = _InterruptedCheckpoint(str(tmp_path / "m.cnnlab")) if point == "ModelCheckpoint save" \
        else _InterruptAt(point)
    cbs = [callbacks.BackupAndRestore(tmp_path / "backup"), later]
    check_hostile(FAULTS, f"Ctrl-C in a later callback's {point} (epoch 2 of 4)",
                  lambda: model.fit(x, y, epochs=4, verbose=0, validation_split=0.25, callbacks=cbs),
                  KeyboardInterrupt)
    assert (tmp_path / "backup" / "state.json").is_file()
    resumed = _model()
    history = resumed.fit(x, y, epochs=4, verbose=0, callbacks=[callbacks.BackupAndRestore(tmp_path / "backup")])
    done = 2 if point in ("on_epoch_end", "ModelCheckpoint save") else 1  # epochs backed up before the Ctrl-C
    assert history.epoch == list(range(done, 4))
    assert not (tmp_path / "backup").exists()  # a training that really finished removes it


def test_epoch_in_the_billions_is_refused_not_a_silent_no_op(tmp_path, templates):
    folder = tmp_path / "gen1"
    shutil.copytree(templates[1], folder)
    _field("epoch", 10**18)(folder)
    x, y = _data()
    model = _model()
    check_hostile(FAULTS, "fit with a backup whose epoch is 10**18", lambda: model.fit(
        x, y, epochs=3, verbose=0, callbacks=[callbacks.BackupAndRestore(folder)]), FileFormatError,
        r"state\.json'?: 'epoch' is 1000000000000000000", watch=_regular_files(folder))


# -------------------------------------------------------------------------------------------------- long names
def _name(total_bytes: int, suffix: str, char: str = "a") -> str:
    """A file name of exactly ``total_bytes`` UTF-8 bytes ending in ``suffix``."""
    width = len(char.encode())
    stem, pad = divmod(total_bytes - len(suffix.encode()), width)
    return char * stem + "b" * pad + suffix


LONG_NAMES = [(n, suffix, char) for n in (240, 248, 255) for suffix, char in [
    (".cnnlab", "a"), (".keras", "a"), (".h5", "é"), (".weights.h5", "a"), (".weights.safetensors", "é")]]


@pytest.mark.parametrize("size, suffix, char", LONG_NAMES, ids=[f"{n}B{s}{'-utf8' if c != 'a' else ''}"
                                                               for n, s, c in LONG_NAMES])
def test_long_but_legal_file_names_save(tmp_path, size, suffix, char):
    model = _model()
    path = tmp_path / _name(size, suffix, char)
    assert len(path.name.encode()) == size
    save = model.save_weights if suffix.startswith(".weights") else model.save
    check_hostile(FAULTS, f"save to a {size}-byte file name ({suffix}{', 2-byte characters' if char != 'a' else ''})",
                  lambda: save(path), None)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left
    if suffix.startswith(".weights"):
        _model().load_weights(path)
    else:
        cnnlab.load_model(path)


@pytest.mark.parametrize("size", [240, 255])
def test_long_names_for_callbacks_files(tmp_path, size):
    x, y = _data()
    model = _model()
    ckpt = tmp_path / _name(size, ".cnnlab")
    csv_file = tmp_path / _name(size, ".csv")
    tb_dir, backup_dir = tmp_path / _name(size, "", "t"), tmp_path / _name(size, "", "k")
    cbs = [callbacks.ModelCheckpoint(str(ckpt)), callbacks.CSVLogger(str(csv_file)),
           callbacks.TensorBoard(str(tb_dir), histogram_freq=1, write_graph=False),
           callbacks.BackupAndRestore(backup_dir, delete_checkpoint=False)]
    check_hostile(FAULTS, f"ModelCheckpoint, CSVLogger, TensorBoard and BackupAndRestore with {size}-byte names",
                  lambda: model.fit(x, y, epochs=2, verbose=0, callbacks=cbs), None)
    cnnlab.load_model(ckpt)
    assert len(csv_file.read_text().splitlines()) == 3
    assert any((tb_dir / "train").iterdir()) and (backup_dir / "state.json").is_file()


# --------------------------------------------------------------------------------------- TensorBoard, NaN weights
def test_tensorboard_skips_histograms_of_nan_weights_with_one_warning_per_tag(tmp_path):
    x, y = _data()
    model = _model()
    model.set_weights([np.full(w.shape, np.nan, w.dtype) for w in model.get_weights()])
    tb = callbacks.TensorBoard(str(tmp_path / "logs"), histogram_freq=1, write_graph=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_hostile(FAULTS, "TensorBoard histograms of NaN weights (3 epochs)",
                      lambda: model.fit(x, y, epochs=3, verbose=0, callbacks=[tb]), None)
    nan_warnings = [str(w.message) for w in caught if "NaN or infinite" in str(w.message)]
    assert len(nan_warnings) == 2 and all("not written" in m for m in nan_warnings)  # kernel and bias, once each


# ------------------------------------------------------------------------------- TorchModule: seed note 002's CNN
class SeedNoteCNN(nn.Module):
    """The PyTorch CNN of seed note 002, as written there: it flattens with ``.view``."""

    def __init__(self):
        super().__init__()
        self.layer1 = nn.Sequential(nn.Conv2d(1, 32, kernel_size=3, stride=1, padding=1), nn.ReLU(),
                                    nn.MaxPool2d(kernel_size=2, stride=2))
        self.layer2 = nn.Sequential(nn.Conv2d(32, 64, kernel_size=3, stride=1, padding=1), nn.ReLU(),
                                    nn.MaxPool2d(kernel_size=2, stride=2))
        self.layer3 = nn.Sequential(nn.Conv2d(64, 64, kernel_size=3, stride=1, padding=1), nn.ReLU(),
                                    nn.MaxPool2d(kernel_size=2, stride=2))
        self.fc = nn.Linear(3 * 3 * 64, 10, bias=True)

    def forward(self, x):
        out = self.layer3(self.layer2(self.layer1(x)))
        out = out.view(out.size(0), -1)
        return self.fc(out)


def test_seed_note_cnn_with_view_trains_inside_torch_module():
    torch.manual_seed(0)
    net = SeedNoteCNN()
    rng = np.random.default_rng(0)
    x, y = rng.random((32, 28, 28, 1), dtype=np.float32), np.arange(32) % 10

    def build_fit_predict():
        model = cnnlab.Sequential([layers.Input((28, 28, 1)), layers.TorchModule(net)])
        model.compile("adam", cnnlab.losses.SparseCategoricalCrossentropy(from_logits=True), device="cpu")
        model.fit(x, y, epochs=1, batch_size=16, verbose=0)
        return model.predict(x, verbose=0)

    got = check_hostile(FAULTS, "TorchModule around seed note 002's CNN (forward uses .view)", build_fit_predict,
                        None)
    assert got is None
    net.eval()
    with torch.no_grad():
        # Plain NCHW strides (with one channel, .contiguous() would keep the permuted strides, and .view fail)
        expected = net(torch.from_numpy(x).permute(0, 3, 1, 2).clone(memory_format=torch.contiguous_format))
    model = cnnlab.Sequential([layers.Input((28, 28, 1)), layers.TorchModule(net)])
    np.testing.assert_allclose(model.predict(x, verbose=0), expected.numpy(), rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------ file-size limit (RLIMIT_FSIZE), in one child
# The limit is per process, so these cases run in one child process (started once, ~3 s), each under
# check_hostile there; the child sends back its records and any failure, one test per case here.
FSIZE_SAVES = [(".cnnlab", "save"), (".keras", "save"), (".h5", "save"), (".weights.h5", "save_weights"),
               (".weights.safetensors", "save_weights")]
FSIZE_CASES = [f"model.{how} to {suffix}" for suffix, how in FSIZE_SAVES] + [
    "ModelCheckpoint in fit", "BackupAndRestore in fit", "CSVLogger in fit, BackupAndRestore after it",
    "CSVLogger in fit, no callback saves the model", "TensorBoard in fit, ModelCheckpoint after it"]


def _fsize_limit(limit):
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def _limit_at_epoch(epoch, limit_of, undo):
    def begin(e, logs):
        if e == epoch:
            undo.append(_fsize_limit(limit_of()))
    return callbacks.LambdaCallback(on_epoch_begin=begin)


def _fsize_case(name: str, work: Path) -> None:
    from cnnlab.errors import CheckpointError

    family, x, y = FAULTS, *_data()
    undo: list = []
    limited = f"under a file-size limit (RLIMIT_FSIZE): {name}"
    try:
        if name.startswith("model."):
            suffix = name.rsplit(" ", 1)[1]
            path = work / f"m{suffix}"
            model = _model(64)
            save = model.save_weights if "weights" in suffix else model.save
            save(path)
            before = model.get_weights()
            model.set_weights([w + 1 for w in before])
            undo.append(_fsize_limit(path.stat().st_size // 2))
            check_hostile(family, limited, lambda: save(path), CheckpointError,
                          rf"{re.escape(str(path))}'?: the file would exceed the file-size limit", watch=(path,))
            undo.pop()()
            loaded = _model(64) if "weights" in suffix else None
            loaded = loaded.load_weights(path) or loaded if loaded else cnnlab.load_model(path)
            assert all(np.array_equal(a, b) for a, b in zip(loaded.get_weights(), before)), "previous file changed"
            return
        model, dumps = _model(64), []
        dump = callbacks.LambdaCallback(on_epoch_end=lambda e, logs: dumps.append(model.get_weights()))
        ckpt, backup, csv_path = work / "c.cnnlab", work / "backup", work / "log.csv"
        if name == "ModelCheckpoint in fit":
            cbs = [dump, callbacks.ModelCheckpoint(str(ckpt)), _limit_at_epoch(1, lambda: ckpt.stat().st_size // 2,
                                                                                  undo)]
            where = rf"{re.escape(str(ckpt))}'?: the file would exceed.*state kept: ModelCheckpoint saved epoch 1 to"
        elif name == "BackupAndRestore in fit":
            cbs = [dump, callbacks.BackupAndRestore(backup),
                   _limit_at_epoch(1, lambda: max(p.stat().st_size for p in backup.iterdir()) // 2, undo)]
            where = rf"state-epoch1-.*the file would exceed the file-size limit"
        elif name.startswith("CSVLogger"):
            keep = name.endswith("after it")
            limit = 1 << 20  # far above a backup of this model (~100 kB); the CSV file is grown to just below it
            csv_path.write_text("epoch,loss\n" + "0,0.5\n" * ((limit - 20) // 6))
            cbs = [dump, callbacks.CSVLogger(str(csv_path), append=True),
                   *([callbacks.BackupAndRestore(backup)] if keep else []), _limit_at_epoch(0, lambda: limit, undo)]
            where = rf"{re.escape(str(csv_path))}'?: the file would exceed.*" + (
                r"BackupAndRestore backed up epoch 1" if keep else "no BackupAndRestore or ModelCheckpoint")
        else:  # TensorBoard: its event file outgrows a limit set just above the checkpoint's size
            model = cnnlab.Sequential([layers.Input((16, 16, 1)), layers.Conv2D(64, 9), layers.GlobalAveragePooling2D(),
                                       layers.Dense(3, activation="softmax")])
            model.compile("adam", "sparse_categorical_crossentropy", device="cpu")
            x = np.random.default_rng(0).random((16, 16, 16, 1), dtype=np.float32)
            cbs = [callbacks.TensorBoard(str(work / "tb"), write_images=True, histogram_freq=1, write_graph=False),
                   callbacks.ModelCheckpoint(str(ckpt)), _limit_at_epoch(1, lambda: ckpt.stat().st_size + 4096, undo)]
            where = rf"{re.escape(str(work / 'tb'))}'?: the file would exceed.*ModelCheckpoint saved epoch \d+ to"
        check_hostile(family, limited, lambda: model.fit(x, y, epochs=20, verbose=0, callbacks=cbs),
                      CheckpointError, where, seconds=5.0)
        for restore in undo:
            restore()
        undo.clear()
        assert not list(work.rglob("*.tmp")), "a temp file was left"
        if name == "ModelCheckpoint in fit":
            assert all(np.array_equal(a, b) for a, b in zip(cnnlab.load_model(ckpt).get_weights(), dumps[0]))
        if (backup / "state.json").exists():
            resumed = _model(64)
            _restore(backup, resumed, epochs=20)
            assert all(np.array_equal(a, b) for a, b in zip(resumed.get_weights(), dumps[resumed._resume_epoch - 1]))
        if name.startswith("CSVLogger"):
            assert csv_path.read_text().endswith("0,0.5\n"), "a partial row was left in the CSV file"
    finally:
        for restore in undo:
            restore()


def _fsize_child(out: str) -> None:
    import signal
    import tempfile
    import traceback

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() then fails with EFBIG instead of killing the process
    results = {}
    for name in FSIZE_CASES:
        with tempfile.TemporaryDirectory() as work:
            try:
                _fsize_case(name, Path(work))
                results[name] = "ok"
            except BaseException:  # noqa: BLE001  reported to the parent test
                results[name] = traceback.format_exc()[-3000:]
    Path(out).write_text(json.dumps({"results": results, "records": RECORDS}))


@pytest.fixture(scope="module")
def fsize_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("fsize") / "results.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.getcwd(), str(Path(__file__).parent)])}
    proc = subprocess.run([sys.executable, __file__, str(out)], env=env, capture_output=True, timeout=300)
    assert out.exists(), proc.stderr.decode()[-3000:]
    return json.loads(out.read_text())


@pytest.mark.parametrize("name", FSIZE_CASES)
def test_file_size_limit_gives_a_clear_error_and_keeps_the_previous_state(fsize_results, name):
    assert fsize_results["results"][name] == "ok", fsize_results["results"][name]
    RECORDS.extend(r for r in fsize_results["records"] if r.get("case", "").endswith(f": {name}"))



# --------------------------------------------------------------------------------- backup memory and its format
MEMORY = "Save and load memory"
BACKUP_MIB = 64


@pytest.fixture(scope="module")
def big_backup_model():
    units = BACKUP_MIB * (1 << 20) // 4 // 1024
    model = cnnlab.Sequential([layers.Input((1024,)), layers.Dense(units, use_bias=False)])
    model.compile(optimizer=cnnlab.optimizers.SGD(momentum=0.9), loss="mse", device="cpu")
    model.optimizer.build([v.value for v in model.trainable_weights])  # its momentum: another 64 MiB to back up
    return model


def test_backup_of_a_64_mib_model_streams_its_tensors_in_bounded_memory(big_backup_model, tmp_path):
    folder = tmp_path / "backup"
    backup = callbacks.BackupAndRestore(folder, delete_checkpoint=False)
    backup.set_model(big_backup_model)
    # The weights are written from their own memory: the safetensors library built the whole file in memory
    # first (3x the model without momentum, and exit 134 under memory pressure). The momentum is still copied
    # once, by optimizer.state_dict(), which returns clones.
    check_hostile(MEMORY, f"BackupAndRestore: back up a {BACKUP_MIB} MiB model with its momentum (peak growth "
                  "< 1.25x the model)", lambda: backup.on_epoch_end(0), None, seconds=5, mib=BACKUP_MIB * 1.25)
    assert _tensors_file(folder).stat().st_size > 2 * BACKUP_MIB << 20
    expected = [w.copy() for w in big_backup_model.get_weights()]
    big_backup_model.set_weights([np.zeros_like(w) for w in expected])
    # Restoring reads each tensor once into its own memory (the library read the file, then copied it twice).
    check_hostile(MEMORY, f"BackupAndRestore: restore a {BACKUP_MIB} MiB model with its momentum (< 2.5x)",
                  lambda: _restore(folder, big_backup_model), None, seconds=5, mib=BACKUP_MIB * 2.5,
                  watch=(folder,))
    np.testing.assert_array_equal(big_backup_model.get_weights()[0], expected[0])


def test_backup_tensor_file_is_read_by_the_safetensors_library(tmp_path):
    model = _model()
    model.fit(*_data(), epochs=1, verbose=0)  # Adam's slots and step count are backed up too
    folder = _backup_folder_of(model, tmp_path / "backup")
    stored = load_file(_tensors_file(folder))
    for i, weight in enumerate(model.get_weights()):
        np.testing.assert_array_equal(stored[f"weights/{i:05d}"].numpy(), weight)
    for key, value in model.optimizer.state_dict().items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(stored[f"optimizer/{key}"], value.detach())
    assert torch.equal(stored["rng/torch"], torch.get_rng_state())


def test_backup_written_by_the_safetensors_library_still_restores(tmp_path):
    model = _model()
    folder = _backup_folder_of(model, tmp_path / "backup")
    path = _tensors_file(folder)
    save_file(load_file(path), path)  # the library's own layout: sorted names, its own header
    restored = _model()
    _restore(folder, restored)
    for got, want in zip(restored.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(got, want)


def _backup_folder_of(model, folder: Path) -> Path:
    backup = callbacks.BackupAndRestore(folder, delete_checkpoint=False)
    backup.set_model(model)
    backup.on_epoch_end(0)
    return folder


if __name__ == "__main__":
    _fsize_child(sys.argv[1])
