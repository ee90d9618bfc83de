"""The collective operations a multi-process ``fit``/``evaluate`` needs, and nothing else.

The trainer calls :class:`ReplicaSync` at a few fixed points, only when more
than one replica runs (so a one-process run pays nothing):

* ``distribute_data``: every epoch's permutation is drawn on rank 0 and
  broadcast, and each global batch is split into contiguous per-rank shards;
* ``start_training``: weights are broadcast from rank 0;
* ``all_reduce_gradients``: after ``backward``, before ``optimizer.step``;
* ``reduce_metric_states`` / ``end_epoch``: metric state tensors are summed so
  every rank logs the same numbers; BatchNorm moving statistics are averaged.

Why a bucketed all-reduce after ``backward`` rather than
``DistributedDataParallel``: each replica's gradient is weighted by its share
of the global batch, so an uneven last batch (even a replica with no sample)
gives exactly the one-process update; the model stays the user's own object
(no wrapper between ``model`` and ``model.save``); and an overridden
``train_step`` keeps working. The price is that communication does not
overlap the backward pass, which matters for large models on GPUs, not for
the CNNs trained here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
import torch.distributed as dist

from cnnlab.errors import ConfigError

# Largest flat buffer of one all-reduce, in bytes: DistributedDataParallel's
# default bucket_cap_mb=25 (torch/nn/parallel/distributed.py).
BUCKET_BYTES = 25 * 1024 * 1024


def shard_bounds(global_size: int, rank: int, world_size: int) -> tuple[int, int]:
    """Start and end of ``rank``'s contiguous share of a batch of ``global_size`` samples.

    The first ``global_size % world_size`` ranks take one sample more; a rank
    may get none when the batch is smaller than ``world_size``.

    Example:
        >>> [shard_bounds(5, r, 2) for r in range(2)]
        [(0, 3), (3, 5)]
    """
    base, extra = divmod(global_size, world_size)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


def _buckets(tensors: Sequence[torch.Tensor]) -> Iterator[list[torch.Tensor]]:
    """Consecutive groups of same-dtype tensors of at most ``BUCKET_BYTES`` each."""
    bucket: list[torch.Tensor] = []
    size = 0
    for tensor in tensors:
        nbytes = tensor.numel() * tensor.element_size()
        if bucket and (size + nbytes > BUCKET_BYTES or tensor.dtype != bucket[0].dtype):
            yield bucket
            bucket, size = [], 0
        bucket.append(tensor)
        size += nbytes
    if bucket:
        yield bucket


def _metric_states(metric) -> list[torch.Tensor]:
    """State tensors of a metric, including those of metrics it wraps (e.g. ``accuracy``)."""
    from cnnlab.metrics import Metric

    states = list(metric.variables)
    for value in vars(metric).values():
        if isinstance(value, Metric):
            states.extend(_metric_states(value))
    return states


class ReplicaSync:
    """Collectives over the default process group for one replica.

    Args:
        rank: this process's rank.
        world_size: number of replicas (more than 1).
        device: where collective buffers live (CUDA for NCCL, CPU for gloo).
    """

    def __init__(self, rank: int, world_size: int, device: torch.device) -> None:
        self.rank = rank
        self.world_size = world_size
        self.device = device
        # This replica's share of the current global batch; set by the sharded adapter.
        self.step_weight = 1.0
        self._sum_reduced_loss = False

    # ----------------------------------------------------------------- basics
    def barrier(self) -> None:
        dist.barrier()

    def any_rank(self, flag: bool) -> bool:
        """True on every rank if ``flag`` is True on any rank (so all stop together)."""
        value = torch.tensor([1 if flag else 0], device=self.device)
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item())

    def _all_reduce_flat(self, tensors: Sequence[torch.Tensor], scale: float = 1.0) -> None:
        """Sum ``tensors`` over ranks in place (after multiplying by ``scale``), bucket by bucket."""
        for bucket in _buckets(tensors):
            flat = torch.cat([t.reshape(-1) for t in bucket]).to(self.device)
            if scale != 1.0:
                flat.mul_(scale)
            dist.all_reduce(flat)
            self._unflatten(flat, bucket)

    def _broadcast_flat(self, tensors: Sequence[torch.Tensor]) -> None:
        for bucket in _buckets(tensors):
            flat = torch.cat([t.detach().reshape(-1) for t in bucket]).to(self.device)
            dist.broadcast(flat, src=0)
            self._unflatten(flat, bucket)

    @staticmethod
    def _unflatten(flat: torch.Tensor, tensors: Sequence[torch.Tensor]) -> None:
        offset = 0
        with torch.no_grad():
            for tensor in tensors:
                n = tensor.numel()
                tensor.copy_(flat[offset:offset + n].view_as(tensor))
                offset += n

    # ------------------------------------------------------------------ data
    def distribute_data(self, adapter, training: bool):
        """Wrap an adapter so this rank gets its shard of every global batch."""
        return ShardedAdapter(adapter, self, training)

    def broadcast_permutation(self, n: int) -> torch.Tensor:
        """A permutation of ``range(n)`` drawn from rank 0's global torch RNG, the same on every rank."""
        perm = torch.randperm(n) if self.rank == 0 else torch.empty(n, dtype=torch.int64)
        perm = perm.to(self.device)
        dist.broadcast(perm, src=0)
        return perm

    # -------------------------------------------------------------- training
    def start_training(self, model) -> None:
        """Give every rank rank 0's weights; check that all ranks resume from the same epoch."""
        self._broadcast_flat([v.value for v in model.weights])
        losses = getattr(model, "_losses", None) or []
        # A loss reduced by "sum" has gradients that add up across replicas;
        # the default "sum_over_batch_size" needs each replica weighted by its share.
        self._sum_reduced_loss = bool(losses) and all(getattr(l, "reduction", None) == "sum" for l in losses)
        resume = getattr(model, "_resume_epoch", None)
        mine = -1 if resume is None else int(resume)
        bounds = torch.tensor([mine, -mine], device=self.device)
        dist.all_reduce(bounds, op=dist.ReduceOp.MAX)
        if int(bounds[0]) != -int(bounds[1]):
            raise ConfigError(
                f"BackupAndRestore: replicas would resume from different epochs (rank {self.rank} from "
                f"{mine + 1 if mine >= 0 else 'scratch'}). Every replica must read the same backup: put backup_dir on "
                f"a file system shared by all machines. Received: resume epochs from {-int(bounds[1])} to "
                f"{int(bounds[0])}"
            )

    def all_reduce_gradients(self, params: Sequence[torch.Tensor]) -> None:
        """Replace each ``param.grad`` by the gradient of the global batch's loss.

        Each replica's gradient is of the mean loss over its own samples;
        weighting it by its share of the global batch and summing gives the
        gradient of the mean over the global batch, as one process computes.
        """
        for p in params:
            if p.grad is None:  # unused here, maybe used on another rank
                p.grad = torch.zeros_like(p)
        scale = 1.0 if self._sum_reduced_loss else self.step_weight
        self._all_reduce_flat([p.grad for p in params], scale)

    def idle_step(self, model) -> dict:
        """A training step for a rank whose shard of the batch is empty: it still joins the all-reduce."""
        params = model._trainable_params
        for p in params:
            p.grad = torch.zeros_like(p)
        self.step_weight = 0.0
        self.all_reduce_gradients(params)
        model.optimizer.step(params)
        for p in params:
            p.grad = None
        model._apply_constraints()
        return model.get_metrics_result()

    def reduce_metric_states(self, metrics: Sequence) -> None:
        """Sum every metric's state tensors over ranks, in place; results become global."""
        states = [s for m in metrics for s in _metric_states(m)]
        if states:
            self._all_reduce_flat(states)

    def end_epoch(self, model, metrics: Sequence) -> None:
        """Reduce the epoch's metrics and average float non-trainable weights (BatchNorm statistics)."""
        self.reduce_metric_states(metrics)
        buffers = [v.value for v in model.non_trainable_weights if v.value.is_floating_point()]
        if buffers:
            self._all_reduce_flat(buffers, 1.0 / self.world_size)


class ShardedAdapter:
    """This rank's share of every batch another adapter defines.

    Arrays: one permutation per epoch drawn on rank 0 and broadcast, batches
    of ``batch_size`` global samples, each split by :func:`shard_bounds`.
    Iterables and DataLoaders: every rank must yield the same batches (seed
    them); each batch is split the same way.

    In training every rank yields every step, empty shards included, so all
    take part in each all-reduce; in evaluation empty shards are skipped.
    """

    def __init__(self, adapter, sync: ReplicaSync, training: bool) -> None:
        self.adapter = adapter
        self.sync = sync
        self.training = training
        self.full_steps = getattr(adapter, "full_steps", None)

    def first_inputs(self):
        """The inputs of one sample, to build a model that is not built yet."""
        return self.adapter.first_inputs()

    def __iter__(self) -> Iterator[tuple]:
        from cnnlab.training.data_adapters import ArrayAdapter

        if isinstance(self.adapter, ArrayAdapter):
            yield from self._array_batches(self.adapter)
            return
        for batch in self.adapter:
            local = self._take(batch, len(_first_leaf(batch[0])))
            if local is not None:
                yield local

    def _array_batches(self, adapter) -> Iterator[tuple]:
        if adapter.shuffle:
            order = self.sync.broadcast_permutation(adapter.n)
        else:
            order = torch.arange(adapter.n, device=self.sync.device)
        data_device = _first_leaf(adapter.x).device
        order = order.to(data_device)
        bs = adapter.batch_size
        for step in range(adapter.steps):
            idx = order[step * bs:(step + 1) * bs]
            start, end = shard_bounds(len(idx), self.sync.rank, self.sync.world_size)
            if end == start and not self.training:
                continue
            self.sync.step_weight = (end - start) / len(idx)
            local = idx[start:end]
            yield tuple(None if part is None else _map(part, lambda t: t.index_select(0, local))
                        for part in (adapter.x, adapter.y, adapter.sample_weight))

    def _take(self, batch: tuple, size: int) -> tuple | None:
        start, end = shard_bounds(size, self.sync.rank, self.sync.world_size)
        if end == start and not self.training:
            return None
        self.sync.step_weight = (end - start) / size
        return tuple(None if part is None else _map(part, lambda t: t[start:end]) for part in batch)


def _first_leaf(value) -> torch.Tensor:
    if isinstance(value, (list, tuple)):
        return value[0]
    if isinstance(value, dict):
        return next(iter(value.values()))
    return value


def _map(value, fn):
    if isinstance(value, (list, tuple)):
        return type(value)(fn(v) for v in value)
    if isinstance(value, dict):
        return {k: fn(v) for k, v in value.items()}
    return fn(value)
