"""Distribution strategies (Keras's ``tf.distribute`` names) on ``torch.distributed``.

The launcher is :mod:`cnnlab.distribute.launch` (``cnnlab launch -n N script.py``).
"""

from cnnlab.distribute.strategy import (
    MirroredStrategy,
    MultiWorkerMirroredStrategy,
    ParameterServerStrategy,
    Strategy,
    StrategyUnavailableError,
    TPUStrategy,
    current,
    get_strategy,
    in_cross_replica_context,
)

__all__ = [
    "MirroredStrategy",
    "MultiWorkerMirroredStrategy",
    "ParameterServerStrategy",
    "Strategy",
    "StrategyUnavailableError",
    "TPUStrategy",
    "current",
    "get_strategy",
    "in_cross_replica_context",
]
