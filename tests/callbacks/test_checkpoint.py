import contextlib
import json
import os
import random
import warnings

import numpy as np
import pytest
import torch

from cnnlab.callbacks import BackupAndRestore, Callback, ModelCheckpoint
from cnnlab.errors import CheckpointError, ConfigError, FileFormatError


def load_epoch_marker(path):
    """The fake model saves weights filled with the epoch index that produced them."""
    with np.load(path, allow_pickle=False) as data:
        return float(data["arr_0"].flat[0])


# ---------------------------------------------------------------- ModelCheckpoint


def test_every_epoch_with_formatted_names(model, fit, tmp_path):
    pattern = str(tmp_path / "ckpt-{epoch:02d}-{val_loss:.2f}.cnnlab")
    fit(model, [ModelCheckpoint(pattern)], [{"val_loss": 0.5}, {"val_loss": 0.456}, {"val_loss": 0.7}])
    assert sorted(os.listdir(tmp_path)) == ["ckpt-01-0.50.cnnlab", "ckpt-02-0.46.cnnlab", "ckpt-03-0.70.cnnlab"]


def test_best_only_writes_exactly_when_monitor_improves(model, fit, tmp_path):
    path = str(tmp_path / "best.cnnlab")
    checkpoint = ModelCheckpoint(path, save_best_only=True)
    fit(model, [checkpoint], [{"val_loss": v} for v in (0.5, 0.6, 0.4, 0.45, 0.41)])
    # Improvements at epochs 0 (first value) and 2 only.
    assert model.saved == [path, path]
    assert load_epoch_marker(path) == 2.0
    assert checkpoint.best == 0.4


def test_best_only_with_epoch_in_name_keeps_one_file_per_improvement(model, fit, tmp_path):
    pattern = str(tmp_path / "{epoch}.cnnlab")
    fit(model, [ModelCheckpoint(pattern, monitor="val_accuracy", save_best_only=True)],
        [{"val_accuracy": a} for a in (0.5, 0.4, 0.7, 0.7)])
    # Auto mode maximises accuracy; an equal value is not an improvement.
    assert sorted(os.listdir(tmp_path)) == ["1.cnnlab", "3.cnnlab"]


def test_best_survives_a_second_fit(make_model, fit, tmp_path):
    path = str(tmp_path / "best.cnnlab")
    checkpoint = ModelCheckpoint(path, save_best_only=True)
    fit(make_model(), [checkpoint], [{"val_loss": 0.3}])
    second = make_model()
    fit(second, [checkpoint], [{"val_loss": 0.5}, {"val_loss": 0.4}])
    assert second.saved == []
    assert load_epoch_marker(path) == 0.0


def test_initial_value_threshold_must_be_beaten(model, fit, tmp_path):
    path = str(tmp_path / "best.cnnlab")
    fit(model, [ModelCheckpoint(path, save_best_only=True, initial_value_threshold=0.45)],
        [{"val_loss": v} for v in (0.5, 0.46, 0.44)])
    assert model.saved == [path]
    assert load_epoch_marker(path) == 2.0


def test_verbose_messages(model, fit, tmp_path, capsys):
    path = str(tmp_path / "best.cnnlab")
    fit(model, [ModelCheckpoint(path, save_best_only=True, verbose=1)], [{"val_loss": 0.5}, {"val_loss": 0.6}])
    out = capsys.readouterr().out
    assert f"Epoch 1: val_loss improved from None to 0.50000, saving model to {path}" in out
    assert "Epoch 2: val_loss did not improve from 0.50000" in out


def test_save_weights_only_calls_save_weights(model, fit, tmp_path):
    calls = []
    model.save = lambda path: calls.append(("save", path))
    model.save_weights = lambda path: calls.append(("save_weights", path))
    fit(model, [ModelCheckpoint(str(tmp_path / "w.bin"), save_weights_only=True)], [{"val_loss": 1.0}])
    assert calls == [("save_weights", str(tmp_path / "w.bin"))]


def test_save_freq_counts_batches_across_epochs(model, fit, tmp_path):
    pattern = str(tmp_path / "e{epoch}-b{batch}.cnnlab")
    # 3 batches per epoch, save every 2 batches: after batches 2, 4 (epoch 2 batch 1), 6 (epoch 2 batch 3).
    fit(model, [ModelCheckpoint(pattern, save_freq=2)], [{"val_loss": 1.0}] * 2, steps=3)
    assert sorted(os.listdir(tmp_path)) == ["e1-b2.cnnlab", "e2-b1.cnnlab", "e2-b3.cnnlab"]


def test_save_freq_best_only_reads_batch_tensor_logs(model, fit, tmp_path):
    path = str(tmp_path / "best.cnnlab")
    # Batch losses per epoch: 0.9, 0.5, 0.7 then 0.6, 0.4, 0.8; save_freq=1 with monitor "loss".
    table = [[0.9, 0.5, 0.7], [0.6, 0.4, 0.8]]
    fit(model, [ModelCheckpoint(path, monitor="loss", save_best_only=True, save_freq=1)],
        [{"loss": 1.0}] * 2, steps=3, batch_loss=lambda e, b: table[e][b])
    # Improvements at 0.9, 0.5, 0.4 -> three saves.
    assert len(model.saved) == 3


def test_missing_monitor_warns_once_and_saves(model, fit, tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit(model, [ModelCheckpoint(str(tmp_path / "m.cnnlab"), save_best_only=True)], [{"loss": 1.0}] * 3)
    assert [str(w.message).split(" Available")[0] for w in caught] == ["Can save best model only with val_loss available."]
    assert len(model.saved) == 3


def test_unknown_name_in_filepath_is_config_error(model, fit, tmp_path):
    with pytest.raises(ConfigError, match=r"uses \{val_acc\}.*Did you mean 'val_accuracy'"):
        fit(model, [ModelCheckpoint(str(tmp_path / "{val_acc:.2f}.cnnlab"))], [{"val_accuracy": 0.5}])


def test_creates_missing_parent_directories(model, fit, tmp_path):
    path = tmp_path / "a" / "b" / "m.cnnlab"
    fit(model, [ModelCheckpoint(str(path))], [{"val_loss": 1.0}])
    assert path.exists()


def test_directory_as_filepath_is_checkpoint_error(model, fit, tmp_path):
    with pytest.raises(CheckpointError, match="is an existing directory"):
        fit(model, [ModelCheckpoint(str(tmp_path))], [{"val_loss": 1.0}])


def test_keras_format_error_from_model_save_passes_through(model, fit, tmp_path):
    with pytest.raises(FileFormatError, match=r"use a \.cnnlab path"):
        fit(model, [ModelCheckpoint(str(tmp_path / "best.h5"))], [{"val_loss": 1.0}])


@pytest.mark.parametrize("save_freq", ["batch", 0, -3, 1.5, True])
def test_bad_save_freq_is_config_error(save_freq):
    with pytest.raises(ConfigError, match="save_freq must be 'epoch' or a positive number"):
        ModelCheckpoint("m.cnnlab", save_freq=save_freq)


# ---------------------------------------------------------------- BackupAndRestore


class CrashAt(Callback):
    """Simulates a crash at the start of an epoch."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


class DrawRandom(Callback):
    """Stands in for the trainer's shuffling and Dropout: draws from every global RNG each epoch."""

    def __init__(self):
        super().__init__()
        self.draws = {}

    def on_epoch_begin(self, epoch, logs=None):
        self.draws[epoch] = (torch.rand(3).tolist(), np.random.rand(2).tolist(), random.random())


def set_seeds(seed):
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def test_backup_resume_matches_an_uninterrupted_run(make_model, fit, tmp_path):
    logs = [{"loss": 1.0 / (e + 1)} for e in range(5)]

    set_seeds(0)
    straight = DrawRandom()
    fit(make_model(), [straight], logs)

    set_seeds(0)
    backup_dir = tmp_path / "backup"
    first = DrawRandom()
    with pytest.raises(KeyboardInterrupt):
        fit(make_model(), [BackupAndRestore(backup_dir), first, CrashAt(3)], logs)
    assert (backup_dir / "state.json").exists()

    set_seeds(123)  # a fresh process would start from other RNG states
    resumed_model = make_model()
    resumed = DrawRandom()
    history = fit(resumed_model, [BackupAndRestore(backup_dir), resumed], logs)

    assert resumed_model._resume_epoch == 3
    assert history.epoch == [3, 4]
    assert {**{e: first.draws[e] for e in (0, 1, 2)}, **resumed.draws} == straight.draws
    assert not backup_dir.exists()  # deleted after a successful fit


def test_backup_round_trip_restores_weights_optimizer_and_rngs(make_model, tmp_path):
    model = make_model()
    model.train_one_epoch(7)
    model.optimizer.learning_rate = 0.123
    model.optimizer.state = {"iterations": torch.tensor(42), "momentum/0": torch.arange(6.0).reshape(2, 3),
                             "momentum/1": torch.tensor([1.0, 2.0, 3.0])}
    backup = BackupAndRestore(tmp_path)
    backup.set_model(model)
    set_seeds(5)
    backup.on_epoch_end(7)
    expected_torch, expected_numpy, expected_python = torch.rand(3), np.random.rand(3), random.random()

    set_seeds(99)
    fresh = make_model()
    restore = BackupAndRestore(tmp_path)
    restore.set_model(fresh)
    restore.on_train_begin()
    assert fresh._resume_epoch == 8
    assert all(np.all(w == 7.0) for w in fresh.get_weights())
    assert fresh.optimizer.learning_rate == 0.123
    assert fresh.optimizer.state["iterations"].item() == 42
    assert torch.equal(fresh.optimizer.state["momentum/0"], torch.arange(6.0).reshape(2, 3))
    assert torch.equal(torch.rand(3), expected_torch)
    np.testing.assert_array_equal(np.random.rand(3), expected_numpy)
    assert random.random() == expected_python


def test_backup_files_are_safetensors_and_json_only_two_generations(model, tmp_path):
    backup = BackupAndRestore(tmp_path, delete_checkpoint=False)
    backup.set_model(model)
    for epoch in range(3):
        backup.on_epoch_end(epoch)
    names = sorted(os.listdir(tmp_path))
    assert names[2:] == ["state.json", "state.previous.json"]
    assert [name.split("-")[1] for name in names[:2]] == ["epoch1", "epoch2"]  # epoch 0's file is gone
    assert all(name.endswith(".safetensors") for name in names[:2])
    with open(tmp_path / "state.json") as f:
        assert json.load(f)["epoch"] == 2
    with open(tmp_path / "state.previous.json") as f:
        assert json.load(f)["epoch"] == 1
    backup.on_train_end()
    assert len(os.listdir(tmp_path)) == 4  # delete_checkpoint=False keeps it


def test_no_backup_leaves_resume_epoch_unset(model, tmp_path):
    backup = BackupAndRestore(tmp_path / "none")
    backup.set_model(model)
    backup.on_train_begin()
    assert not hasattr(model, "_resume_epoch")


def test_crash_while_writing_a_backup_keeps_the_previous_one(make_model, tmp_path, monkeypatch):
    model = make_model()
    backup = BackupAndRestore(tmp_path)
    backup.set_model(model)
    model.train_one_epoch(0)
    backup.on_epoch_end(0)

    import cnnlab.callbacks.checkpoint as checkpoint_module

    real_atomic_write = checkpoint_module.atomic_write

    @contextlib.contextmanager
    def full_disk_for_state_json(path, mode="wb", **kwargs):
        with real_atomic_write(path, mode, **kwargs) as f:
            yield f
            if str(path).endswith("state.json"):  # the tensors were written; the disk fills with the JSON
                raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoint_module, "atomic_write", full_disk_for_state_json)
    model.train_one_epoch(1)
    with pytest.raises(CheckpointError, match="the disk is full"):
        backup.on_epoch_end(1)
    monkeypatch.undo()

    fresh = make_model()
    restore = BackupAndRestore(tmp_path)
    restore.set_model(fresh)
    restore.on_train_begin()
    assert fresh._resume_epoch == 1
    assert all(np.all(w == 0.0) for w in fresh.get_weights())


@pytest.mark.parametrize("damage", ["json", "tensors", "shapes"])
def test_corrupt_backup_names_directory_and_says_delete_it(make_model, tmp_path, damage):
    model = make_model()
    backup = BackupAndRestore(tmp_path, delete_checkpoint=False)
    backup.set_model(model)
    backup.on_epoch_end(0)
    if damage == "json":
        (tmp_path / "state.json").write_text("{not json")
    elif damage == "tensors":
        tensors = next(p for p in tmp_path.iterdir() if p.suffix == ".safetensors")
        tensors.write_bytes(tensors.read_bytes()[:40])
    restored = make_model(shapes=((4,),)) if damage == "shapes" else make_model()
    restore = BackupAndRestore(tmp_path)
    restore.set_model(restored)
    with pytest.raises(FileFormatError, match=rf"could not restore the backup in '{tmp_path}'.*Delete that directory"):
        restore.on_train_begin()


def test_backup_save_freq_in_batches_resumes_the_interrupted_epoch(make_model, fit, tmp_path):
    backup_dir = tmp_path / "b"
    logs = [{"loss": 1.0}] * 4
    with pytest.raises(KeyboardInterrupt):
        fit(make_model(), [BackupAndRestore(backup_dir, save_freq=3), CrashAt(2)], logs, steps=2)
    # The 3rd batch (epoch 1, batch 0) wrote the last backup, while epoch 1 was incomplete.
    resumed = make_model()
    history = fit(resumed, [BackupAndRestore(backup_dir)], logs, steps=2)
    assert history.epoch == [1, 2, 3]


def test_empty_backup_dir_is_config_error():
    with pytest.raises(ConfigError, match="Received: backup_dir=''"):
        BackupAndRestore("")


def test_backup_is_kept_when_train_end_follows_an_interruption_inside_an_epoch(model, tmp_path):
    # Some loops still call on_train_end after Ctrl-C; the backup must survive it.
    backup = BackupAndRestore(tmp_path / "b")
    backup.set_model(model)
    backup.on_train_begin()
    backup.on_epoch_begin(0)
    backup.on_epoch_end(0)
    backup.on_epoch_begin(1)  # interrupted during epoch 1
    backup.on_train_end()
    assert (tmp_path / "b" / "state.json").exists()


def test_backup_is_deleted_after_early_stopping(model, fit, tmp_path):
    from cnnlab.callbacks import EarlyStopping

    backup_dir = tmp_path / "b"
    history = fit(model, [BackupAndRestore(backup_dir), EarlyStopping(monitor="loss", patience=0)],
                  [{"loss": 0.5}, {"loss": 0.6}, {"loss": 0.7}])
    assert history.epoch == [0, 1]
    assert not backup_dir.exists()
