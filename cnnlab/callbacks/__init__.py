"""Callbacks: objects that watch ``fit``, ``evaluate`` and ``predict`` and act on them."""

from cnnlab.callbacks.base import Callback, History, LambdaCallback
from cnnlab.callbacks.callback_list import CallbackList
from cnnlab.callbacks.checkpoint import BackupAndRestore, ModelCheckpoint
from cnnlab.callbacks.early_stopping import EarlyStopping
from cnnlab.callbacks.logging import CSVLogger, ProgbarLogger, TerminateOnNaN
from cnnlab.callbacks.lr import LearningRateScheduler, ReduceLROnPlateau
from cnnlab.callbacks.tensorboard import TensorBoard

__all__ = [
    "BackupAndRestore",
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ProgbarLogger",
    "ReduceLROnPlateau",
    "TensorBoard",
    "TerminateOnNaN",
]
