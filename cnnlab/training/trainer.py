"""Training, evaluation and prediction methods of ``Model`` (compile/fit/evaluate/predict)."""

from __future__ import annotations


class Trainer:
    """Mixin giving ``Model`` its Keras training API."""

    def __init__(self):
        self.optimizer = None
        self.compiled = False
        self.stop_training = False
