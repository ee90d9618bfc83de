"""``cnnlab launch``: start a training script on N processes with torchrun's own launcher.

A thin layer over ``torch.distributed.run``: it builds torchrun's arguments,
runs its launcher in this process, and turns its two opaque failures into
messages that say what happened and what to check:

* a worker that dies: which rank, its exit code or signal; the launcher
  stops the others at once, so nothing hangs;
* a rendezvous that cannot complete: which endpoint, how many nodes arrived
  of how many expected, and what to check.

Example:
    $ cnnlab launch -n 2 train.py --epochs 5
    $ python -m cnnlab.distribute.launch -n 2 train.py      # the same
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator, Sequence

from cnnlab.errors import CnnlabError, ConfigError, LaunchError, RendezvousTimeoutError, WorkerFailedError

DOCS_PAGE = "docs/distributed.md"
# torchrun's default port for the c10d rendezvous (torch/distributed/run.py, --rdzv-endpoint).
DEFAULT_RDZV_PORT = 29400
# Seconds between looks at the rendezvous state while waiting for nodes.
_WATCH_INTERVAL = 0.2


def torchrun_args(script: str, script_args: Sequence[str] = (), nproc_per_node: int = 1, nnodes: int = 1,
                  node_rank: int | None = None, rdzv_endpoint: str | None = None, rdzv_id: str | None = None,
                  join_timeout: float | None = None, max_restarts: int = 0, module: bool = False) -> list[str]:
    """The ``torchrun`` argument list for a run (also what to type by hand).

    One node without an endpoint runs ``--standalone`` (a free local port);
    several nodes use the c10d rendezvous at ``rdzv_endpoint``.

    Example:
        >>> torchrun_args("train.py", nproc_per_node=2)
        ['--nproc-per-node', '2', '--max-restarts', '0', '--standalone', 'train.py']
    """
    for name, value in (("nproc_per_node", nproc_per_node), ("nnodes", nnodes)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be a positive number of processes/machines. Received: {name}={value!r}")
    args = ["--nproc-per-node", str(nproc_per_node), "--max-restarts", str(max_restarts)]
    if nnodes == 1 and rdzv_endpoint is None:
        args.append("--standalone")
    else:
        if rdzv_endpoint is None:
            raise ConfigError(
                f"a run on {nnodes} machines needs the rendezvous address every machine can reach, e.g. "
                f"rdzv_endpoint='node0.example.com:{DEFAULT_RDZV_PORT}' (--rdzv-endpoint on the command line). "
                "Received: rdzv_endpoint=None"
            )
        args += ["--nnodes", str(nnodes), "--rdzv-backend", "c10d", "--rdzv-endpoint", rdzv_endpoint,
                 "--rdzv-id", rdzv_id or "cnnlab"]
        if node_rank is not None:
            args += ["--node-rank", str(node_rank)]
        if join_timeout is not None:
            args += ["--rdzv-conf", f"join_timeout={int(join_timeout)}"]
    if module:
        args.append("--module")
    return [*args, script, *script_args]


def launch(script: str, script_args: Sequence[str] = (), nproc_per_node: int = 1, nnodes: int = 1,
           node_rank: int | None = None, rdzv_endpoint: str | None = None, rdzv_id: str | None = None,
           join_timeout: float | None = None, max_restarts: int = 0, module: bool = False) -> None:
    """Run ``script`` on ``nproc_per_node`` processes of this machine (one node of ``nnodes``).

    Args:
        script: the Python script to run; it uses ``MirroredStrategy`` or
            ``MultiWorkerMirroredStrategy`` unchanged.
        script_args: arguments passed to the script.
        nproc_per_node: processes on this machine (one per GPU, or per core group on CPU).
        nnodes: number of machines; run the same command on each.
        node_rank: this machine's index (optional with the c10d rendezvous).
        rdzv_endpoint: ``host:port`` of the rendezvous, reachable from every machine.
        rdzv_id: a name shared by the machines of one run.
        join_timeout: seconds to wait for every machine to join (torchrun's default 600).
        max_restarts: times torchrun restarts all workers after a failure.
        module: ``script`` is a module name run as ``python -m`` (e.g. ``"cnnlab.cli.main"``).

    Raises:
        WorkerFailedError: a worker exited with an error.
        RendezvousTimeoutError: not every machine joined in time.
        LaunchError: the rendezvous failed otherwise (address unreachable, ...).
    """
    from torch.distributed import run as torchrun
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.elastic.rendezvous.api import RendezvousError
    from torch.distributed.elastic.rendezvous.api import RendezvousTimeoutError as TorchRendezvousTimeout

    argv = torchrun_args(script, script_args, nproc_per_node, nnodes, node_rank, rdzv_endpoint, rdzv_id,
                         join_timeout, max_restarts, module)
    with _watch_rendezvous() as watch:
        try:
            torchrun.main(argv)
        except ChildFailedError as err:
            raise WorkerFailedError(_worker_failure_message(err.failures, script)) from err
        except TorchRendezvousTimeout as err:
            raise RendezvousTimeoutError(
                _rendezvous_message(rdzv_endpoint, nnodes, nproc_per_node, watch.nodes_seen, join_timeout)
            ) from err
        except RendezvousError as err:
            raise LaunchError(
                f"the rendezvous at {rdzv_endpoint} failed: {err}. Check that the address is node 0's and is "
                "reachable from this machine, that the port is open, and that every machine uses the same "
                f"--rdzv-id. See {DOCS_PAGE}. Received: rdzv_endpoint={rdzv_endpoint!r}"
            ) from err


def _worker_failure_message(failures: dict, script: str) -> str:
    """Name the first failed rank and its cause; list the ranks the launcher then stopped."""
    stopped = {rank: f for rank, f in failures.items() if f.exitcode == -signal.SIGTERM}
    failed = {rank: f for rank, f in failures.items() if rank not in stopped} or failures
    lines = []
    for rank, failure in sorted(failed.items()):
        message = failure.error_file_data.get("message") if isinstance(failure.error_file_data, dict) else None
        detail = f": {message}" if isinstance(message, str) and message != "<NONE>" else ""
        lines.append(f"rank {rank} (local rank {failure.local_rank}, pid {failure.pid}) {_cause(failure.exitcode)}"
                     f"{detail}")
    text = f"{script}: worker {'; '.join(lines)}."
    if stopped:
        text += f" The launcher then stopped rank(s) {', '.join(map(str, sorted(stopped)))}."
    return (f"{text} The worker's own traceback, if any, is printed above with the prefix [rank<N>]. An exit "
            "without a traceback usually means the process was killed (out of memory, os._exit, a signal). "
            f"See {DOCS_PAGE}.")


def _cause(exitcode: int) -> str:
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"was killed by {name}" + (" (often out of memory)" if name == "SIGKILL" else "")
    return f"exited with exit code {exitcode}"


def _rendezvous_message(endpoint: str | None, nnodes: int, nproc: int, nodes_seen: int | None,
                        join_timeout: float | None) -> str:
    arrived = (f"{nodes_seen} of {nnodes} nodes ({nodes_seen * nproc} of {nnodes * nproc} worker processes) "
               "arrived" if nodes_seen is not None else f"fewer than {nnodes} nodes arrived")
    waited = f"{join_timeout:g} s" if join_timeout is not None else "the join timeout (default 600 s)"
    return (
        f"the rendezvous at {endpoint} did not complete within {waited}: {arrived}. Check that the same command "
        f"(with --nnodes {nnodes} and the same --rdzv-id and --rdzv-endpoint) was started on every machine, that "
        f"{endpoint} is node 0's address as the other machines see it, and that no firewall blocks its port. "
        f"See {DOCS_PAGE}. Received: rdzv_endpoint={endpoint!r}, nnodes={nnodes}"
    )


class _RendezvousWatch:
    nodes_seen: int | None = None


@contextlib.contextmanager
def _watch_rendezvous() -> Iterator[_RendezvousWatch]:
    """Record how many nodes the c10d rendezvous saw, for the timeout message.

    torchrun clears the rendezvous state when it times out, so the count is
    taken while it waits. This reads private parts of torch's elastic
    rendezvous; if they change, the message falls back to "fewer than N".
    """
    watch = _RendezvousWatch()
    try:
        from torch.distributed.elastic.rendezvous import rendezvous_handler_registry as registry

        original = registry._registry["c10d"]
    except (ImportError, AttributeError, KeyError):
        yield watch
        return
    handlers: list = []
    done = threading.Event()

    def creator(params):
        handler = original(params)
        handlers.append(handler)
        return handler

    def poll() -> None:
        while not done.wait(_WATCH_INTERVAL):
            try:
                state = handlers[0]._state_holder.state
                count = len(state.participants) + len(state.wait_list)
            except (IndexError, AttributeError):
                continue
            if count:
                watch.nodes_seen = max(watch.nodes_seen or 0, count)

    registry._registry["c10d"] = creator
    thread = threading.Thread(target=poll, name="cnnlab-rendezvous-watch", daemon=True)
    thread.start()
    try:
        yield watch
    finally:
        done.set()
        registry._registry["c10d"] = original


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``cnnlab launch`` options, on ``parser``."""
    parser.add_argument("-n", "--nproc-per-node", type=int, default=1, help="processes on this machine")
    parser.add_argument("--nnodes", type=int, default=1, help="number of machines")
    parser.add_argument("--node-rank", type=int, default=None, help="this machine's index, from 0")
    parser.add_argument("--rdzv-endpoint", default=None, help=f"host:port of the rendezvous (port {DEFAULT_RDZV_PORT})")
    parser.add_argument("--rdzv-id", default=None, help="a name shared by the machines of one run")
    parser.add_argument("--join-timeout", type=float, default=None, help="seconds to wait for all machines")
    parser.add_argument("--max-restarts", type=int, default=0, help="restarts of all workers after a failure")
    parser.add_argument("script", help="the training script")
    parser.add_argument("script_args", nargs=argparse.REMAINDER, help="arguments for the script")


def run(args: argparse.Namespace) -> None:
    """Launch what parsed ``cnnlab launch`` arguments describe."""
    launch(args.script, args.script_args, args.nproc_per_node, args.nnodes, args.node_rank, args.rdzv_endpoint,
           args.rdzv_id, args.join_timeout, args.max_restarts)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: ``cnnlab launch ...``; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="cnnlab launch", description="Run a training script on several processes (and machines) with torchrun.",
        epilog=f"Example: cnnlab launch -n 2 train.py --epochs 5. See {DOCS_PAGE}.")
    add_arguments(parser)
    try:
        run(parser.parse_args(argv))
    except CnnlabError as err:
        sys.stderr.write(f"cnnlab launch: error: {err}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
