"""Keras's distribution strategies, run by ``torch.distributed``.

One process drives one device (a "replica"). Processes are started by
``torchrun`` (or ``cnnlab launch``), which sets ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``; a strategy created in such
a process joins the process group (NCCL on CUDA, gloo on CPU). Created in a
plain ``python script.py`` it is a single replica and training is unchanged.

The trainer talks to the active strategy only through :func:`current`; the
collective operations themselves live in :mod:`cnnlab.distribute.replicas`.

Example:
    >>> strategy = MirroredStrategy()
    >>> strategy.num_replicas_in_sync
    1
    >>> with strategy.scope():
    ...     get_strategy() is strategy
    True
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import os
import warnings
from collections.abc import Iterator

import torch
import torch.distributed as dist

from cnnlab.distribute.replicas import ReplicaSync
from cnnlab.errors import ConfigError, StrategyUnavailableError

DOCS_PAGE = "docs/distributed.md"
# Seconds a collective may wait for the other replicas before failing. torch's
# own default (30 min for gloo) would make a dead peer look like a hang.
DEFAULT_TIMEOUT_SECONDS = 300
TIMEOUT_ENV_VAR = "CNNLAB_DISTRIBUTED_TIMEOUT"
_TORCHRUN_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


class Strategy:
    """What every strategy offers: replicas, rank, scope (Keras's ``tf.distribute.Strategy``).

    The default strategy (one replica, no process group) is what
    :func:`get_strategy` returns outside any ``scope()``.
    """

    def __init__(self) -> None:
        self.rank = 0
        self.local_rank = 0
        self.world_size = 1
        self.device = None
        self._sync: ReplicaSync | None = None

    @property
    def num_replicas_in_sync(self) -> int:
        """Number of processes (replicas) training together."""
        return self.world_size

    @property
    def is_chief(self) -> bool:
        """True on the replica that writes files and prints (rank 0)."""
        return self.rank == 0

    @contextlib.contextmanager
    def scope(self) -> Iterator[Strategy]:
        """Make this the strategy :func:`get_strategy` returns; build and compile models inside."""
        if _SCOPES and _SCOPES[-1] is not self:
            raise ConfigError(
                f"{type(self).__name__}.scope() was entered inside the scope of another strategy "
                f"({type(_SCOPES[-1]).__name__}). Use one strategy per program. Received: {self!r}"
            )
        _SCOPES.append(self)
        try:
            yield self
        finally:
            _SCOPES.pop()

    @property
    def replica_sync(self) -> ReplicaSync | None:
        """The collective operations of a multi-process run, or None with one replica."""
        return self._sync

    def barrier(self) -> None:
        """Wait until every replica reaches this point (no-op with one replica)."""
        if self._sync is not None:
            self._sync.barrier()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(rank={self.rank}, num_replicas_in_sync={self.world_size})"


class MirroredStrategy(Strategy):
    """Synchronous data parallelism: every replica holds the whole model, gradients are all-reduced.

    Run the script under ``torchrun --nproc_per_node=N`` (or ``cnnlab launch
    -n N``) to train on N processes; as a plain script it is one replica.
    ``fit``'s ``batch_size`` is the global batch: each replica takes its share
    of every batch, and the update equals the one-process update.

    Args:
        devices: optional list of device names, kept for Keras compatibility;
            its length must equal the number of processes.
        cross_device_ops: accepted for Keras compatibility and ignored (the
            all-reduce is NCCL on CUDA, gloo on CPU).
        timeout: seconds a collective waits for the other replicas before
            failing (default 300, or ``$CNNLAB_DISTRIBUTED_TIMEOUT``).

    Example:
        >>> strategy = MirroredStrategy()
        >>> # with strategy.scope():
        >>> #     model = make_model(); model.compile("sgd", "sparse_categorical_crossentropy")
        >>> # model.fit(x, y, batch_size=256)
    """

    def __init__(self, devices: list[str] | None = None, cross_device_ops: object = None, *,
                 timeout: float | None = None) -> None:
        super().__init__()
        timeout = _timeout_seconds(timeout)
        if _launched_by_torchrun():
            self._join(timeout)
        elif torch.cuda.device_count() > 1:
            warnings.warn(
                f"{type(self).__name__} in a plain Python process uses one of the {torch.cuda.device_count()} GPUs. "
                f"To use all of them run: cnnlab launch -n {torch.cuda.device_count()} script.py "
                f"(see {DOCS_PAGE}).", stacklevel=2)
        if devices is not None and len(devices) != self.world_size:
            raise ConfigError(
                f"{type(self).__name__}: devices lists {len(devices)} devices but {self.world_size} process(es) "
                f"are running; one process drives one device. Start one process per device with "
                f"`cnnlab launch -n {len(devices)} script.py`, or drop the devices argument. Received: devices={devices!r}"
            )

    def _join(self, timeout: float) -> None:
        self.rank = int(os.environ["RANK"])
        self.world_size = int(os.environ["WORLD_SIZE"])
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        use_cuda = torch.cuda.is_available() and dist.is_nccl_available()
        if use_cuda:
            torch.cuda.set_device(self.local_rank)
            # The device compile() picks: one GPU per process.
            os.environ.setdefault("CNNLAB_DEVICE", f"cuda:{self.local_rank}")
        self.device = torch.device("cuda", self.local_rank) if use_cuda else torch.device("cpu")
        if not dist.is_initialized():
            dist.init_process_group("nccl" if use_cuda else "gloo", timeout=datetime.timedelta(seconds=timeout))
            atexit.register(_destroy_process_group)
        if self.world_size > 1:
            self._sync = ReplicaSync(self.rank, self.world_size, self.device)
            global _PROCESS_STRATEGY
            _PROCESS_STRATEGY = self


class MultiWorkerMirroredStrategy(MirroredStrategy):
    """:class:`MirroredStrategy` across machines, joined through torchrun's rendezvous.

    Start the same command on every machine, e.g. ``cnnlab launch --nnodes 2
    --node-rank 0 -n 4 --rdzv-endpoint host0:29400 train.py`` (node rank 1 on
    the second machine). ``TF_CONFIG`` is not read: torchrun's rendezvous
    replaces it.

    Args:
        cluster_resolver: accepted for Keras compatibility; must be None.
        communication_options: accepted for Keras compatibility and ignored.
        timeout: seconds a collective waits for the other replicas.
    """

    def __init__(self, cluster_resolver: object = None, communication_options: object = None, *,
                 timeout: float | None = None) -> None:
        if cluster_resolver is not None:
            raise ConfigError(
                "MultiWorkerMirroredStrategy takes the cluster from torchrun's rendezvous, not from a cluster "
                f"resolver. Start each machine with `cnnlab launch --nnodes ...` (see {DOCS_PAGE}). "
                f"Received: cluster_resolver={cluster_resolver!r}"
            )
        if "TF_CONFIG" in os.environ and not _launched_by_torchrun():
            raise ConfigError(
                "TF_CONFIG is set but this process was not started by torchrun. cnnlab does not read TF_CONFIG: "
                "start every machine with `cnnlab launch --nnodes N --node-rank I -n GPUS_PER_NODE "
                f"--rdzv-endpoint HOST:PORT script.py` (see {DOCS_PAGE}). Received: TF_CONFIG set, RANK unset"
            )
        super().__init__(timeout=timeout)


class ParameterServerStrategy(Strategy):
    """Not available: cnnlab trains with all-reduce data parallelism only."""

    def __init__(self, cluster_resolver: object = None, variable_partitioner: object = None) -> None:
        raise StrategyUnavailableError(
            "ParameterServerStrategy is not available in cnnlab: torch.distributed has no parameter-server "
            "runtime, and for the CNNs cnnlab trains all-reduce data parallelism is as fast or faster. Use "
            "MirroredStrategy (one machine) or MultiWorkerMirroredStrategy (several machines), started with "
            f"`cnnlab launch`; see {DOCS_PAGE}. Received: cluster_resolver={cluster_resolver!r}"
        )


class TPUStrategy(MirroredStrategy):
    """TPU training through ``torch_xla``; unavailable when ``torch_xla`` is not installed.

    Args:
        tpu_cluster_resolver: accepted for Keras compatibility; must be None.
    """

    def __init__(self, tpu_cluster_resolver: object = None, experimental_device_assignment: object = None) -> None:
        try:
            import torch_xla.core.xla_model as xm  # noqa: F401
        except ImportError as err:
            raise StrategyUnavailableError(
                "TPUStrategy needs torch_xla, which is not installed. On a Cloud TPU VM install it "
                "(pip install torch_xla) and run the script there; elsewhere use MirroredStrategy "
                "(GPUs or CPU cores of one machine) or MultiWorkerMirroredStrategy (several machines), the same "
                f"all-reduce data parallelism; see {DOCS_PAGE}. Received: torch_xla import failed ({err})"
            ) from err
        if tpu_cluster_resolver is not None:
            raise ConfigError(f"TPUStrategy finds the TPU through torch_xla; pass no resolver. "
                              f"Received: tpu_cluster_resolver={tpu_cluster_resolver!r}")
        os.environ.setdefault("CNNLAB_DEVICE", "xla")
        super().__init__()


# Strategies whose scope is entered, innermost last.
_SCOPES: list[Strategy] = []
# The strategy that joined this process's process group (one per process).
_PROCESS_STRATEGY: Strategy | None = None
_DEFAULT = Strategy()


def get_strategy() -> Strategy:
    """The strategy whose ``scope()`` is active, else the default one-replica strategy (Keras semantics)."""
    return _SCOPES[-1] if _SCOPES else _DEFAULT


def current() -> Strategy:
    """The strategy training runs under: the scope's, else the one this process joined, else the default.

    ``fit`` usually runs outside ``scope()``; the process's strategy still
    applies, so callbacks can ask ``current().is_chief``.
    """
    if _SCOPES:
        return _SCOPES[-1]
    return _PROCESS_STRATEGY if _PROCESS_STRATEGY is not None else _DEFAULT


def in_cross_replica_context() -> bool:
    """Keras's helper: True outside replica functions, which is always the case in cnnlab."""
    return True


def _launched_by_torchrun() -> bool:
    return all(name in os.environ for name in _TORCHRUN_VARS)


def _timeout_seconds(timeout: float | None) -> float:
    if timeout is None:
        text = os.environ.get(TIMEOUT_ENV_VAR, "")
        try:
            timeout = float(text) if text else DEFAULT_TIMEOUT_SECONDS
        except ValueError as err:
            raise ConfigError(f"{TIMEOUT_ENV_VAR} must be a number of seconds. Received: {TIMEOUT_ENV_VAR}={text!r}"
                              ) from err
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ConfigError(f"timeout must be a positive number of seconds, e.g. timeout=300. Received: timeout={timeout!r}")
    return float(timeout)


def _destroy_process_group() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()
