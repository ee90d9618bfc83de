import pytest
import torch

from cnnlab.callbacks import (
    Callback,
    CallbackList,
    EarlyStopping,
    History,
    LambdaCallback,
    ProgbarLogger,
    ReduceLROnPlateau,
)
from cnnlab.errors import ArgumentTypeError


class Recorder(Callback):
    def __init__(self, name, journal):
        super().__init__()
        self.name, self.journal = name, journal

    def on_epoch_end(self, epoch, logs=None):
        self.journal.append((self.name, epoch, sorted(logs)))


def test_history_then_progbar_are_appended_after_user_callbacks(model):
    user = Callback()
    cbs = CallbackList([user], add_history=True, add_progbar=True, model=model, epochs=1, steps=1, verbose=0)
    assert cbs.callbacks[0] is user
    assert isinstance(cbs.callbacks[1], History)
    assert isinstance(cbs.callbacks[2], ProgbarLogger)
    assert cbs.history is cbs.callbacks[1]
    assert model.history is cbs.history


def test_existing_history_and_progbar_are_not_duplicated(model):
    history, progbar = History(), ProgbarLogger()
    cbs = CallbackList([history, progbar], add_history=True, add_progbar=True, model=model)
    assert cbs.callbacks == [history, progbar]
    assert cbs.history is history


def test_params_and_model_reach_every_callback(model):
    user = Callback()
    cbs = CallbackList([user], model=model, epochs=3, steps=10, verbose=2)
    assert user.model is model
    assert user.params == {"epochs": 3, "steps": 10, "verbose": 2}
    assert cbs.history.params == {"epochs": 3, "steps": 10, "verbose": 2}


def test_history_records_floats_per_epoch(model, fit):
    history = fit(model, [], [{"loss": 0.9, "val_loss": 1.1}, {"loss": 0.7, "val_loss": 1.0}])
    assert history.history == {"loss": [0.9, 0.7], "val_loss": [1.1, 1.0]}
    assert history.epoch == [0, 1]
    assert history.model is model


def test_learning_rate_added_by_a_callback_reaches_history_but_not_the_trainer_dict(model):
    cbs = CallbackList([ReduceLROnPlateau()], model=model, epochs=1, steps=1, verbose=0)
    trainer_logs = {"val_loss": 1.0}
    cbs.on_train_begin()
    cbs.on_epoch_end(0, trainer_logs)
    assert cbs.history.history["learning_rate"] == [0.01]
    assert trainer_logs == {"val_loss": 1.0}


def test_callbacks_run_in_list_order(model):
    journal = []
    cbs = CallbackList([Recorder("a", journal), Recorder("b", journal)], model=model)
    cbs.on_epoch_end(0, {"loss": 1.0})
    assert journal == [("a", 0, ["loss"]), ("b", 0, ["loss"])]


def test_every_hook_is_dispatched(model):
    called = []
    hooks = {name: (lambda *a, name=name: called.append(name)) for name in (
        "on_train_begin", "on_train_end", "on_test_begin", "on_test_end", "on_predict_begin", "on_predict_end",
        "on_epoch_begin", "on_epoch_end", "on_train_batch_begin", "on_train_batch_end", "on_test_batch_begin",
        "on_test_batch_end", "on_predict_batch_begin", "on_predict_batch_end")}
    cbs = CallbackList([LambdaCallback(**hooks)], add_history=False, model=model)
    for name in hooks:
        method = getattr(cbs, name)
        method(0) if "batch" in name or "epoch" in name else method()
    assert called == list(hooks)


def test_default_train_batch_hooks_call_legacy_batch_hooks():
    seen = []

    class Legacy(Callback):
        def on_batch_begin(self, batch, logs=None):
            seen.append(("begin", batch))

        def on_batch_end(self, batch, logs=None):
            seen.append(("end", batch, float(logs["loss"])))

    cbs = CallbackList([Legacy()], add_history=False)
    cbs.on_train_batch_begin(4)
    cbs.on_train_batch_end(4, {"loss": torch.tensor(0.25)})
    assert seen == [("begin", 4), ("end", 4, 0.25)]


def test_batch_logs_are_passed_as_tensors_without_conversion():
    received = []
    cbs = CallbackList([LambdaCallback(on_train_batch_end=lambda batch, logs: received.append(logs["loss"]))],
                       add_history=False)
    loss = torch.tensor(0.5)
    cbs.on_train_batch_end(0, {"loss": loss})
    assert received[0] is loss


def test_lambda_callback_epoch_and_train_hooks(model, fit):
    events = []
    cb = LambdaCallback(
        on_train_begin=lambda logs: events.append("train_begin"),
        on_epoch_end=lambda epoch, logs: events.append(("epoch_end", epoch, logs["loss"])),
        on_train_end=lambda logs: events.append("train_end"),
    )
    fit(model, [cb], [{"loss": 0.5}, {"loss": 0.25}])
    assert events == ["train_begin", ("epoch_end", 0, 0.5), ("epoch_end", 1, 0.25), "train_end"]


def test_lambda_callback_unknown_hook_suggests_the_right_one():
    with pytest.raises(ArgumentTypeError, match="unknown hook 'on_epoch_ends'. Did you mean 'on_epoch_end'"):
        LambdaCallback(on_epoch_ends=print)


def test_callback_class_instead_of_instance_is_explained():
    with pytest.raises(ArgumentTypeError, match=r"callbacks\[0\] is the class EarlyStopping, not an instance"):
        CallbackList([EarlyStopping])


def test_non_callback_in_list_is_type_error():
    with pytest.raises(ArgumentTypeError, match=r"callbacks\[1\] is a str, not a Callback"):
        CallbackList([Callback(), "early_stopping"])


def test_none_and_single_callback_are_accepted():
    assert CallbackList(None, add_history=False).callbacks == []
    single = Callback()
    assert CallbackList(single, add_history=False).callbacks == [single]
