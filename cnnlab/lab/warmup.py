"""The one-time warm-up of a lab process (:func:`warm_up`), out of :mod:`cnnlab.lab.training`'s way."""

from __future__ import annotations

from cnnlab.errors import ConfigError

_warmed_up = False


def warm_up() -> None:
    """Pay now, once per process, the set-up the first training would pay in the worker thread.

    What stalled requests during a training was CPython's full (generation 2)
    garbage collection: it walks every tracked object (~400,000 once torch,
    TensorBoard and matplotlib are loaded) while holding the GIL, 90-200 ms on an
    idle machine, more on a busy one. The first ``fit`` of a process triggers two
    or three of them with its imports (TensorBoard's writer, the graph trace's
    check that imports ``torch.distributed.tensor``, matplotlib for the report),
    and every report's figures one more. So this runs those code paths once on a
    tiny model (it stays true when torch or matplotlib move their imports), then
    freezes what exists: ``gc.freeze`` moves the long-lived objects out of the
    collector's reach, and later full collections walk only what trainings make.
    ``cnnlab lab`` calls it before it prints its URL.
    """
    global _warmed_up
    if _warmed_up:
        return
    import gc
    import io
    import tempfile
    import warnings

    import matplotlib.pyplot as plt
    import torch

    import cnnlab.cli.train  # noqa: F401  what _train imports
    import cnnlab.inspect.report  # noqa: F401
    from cnnlab import summary

    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        try:
            writer = summary.create_file_writer(folder)
        except ConfigError:  # no tensorboard: trainings skip their events too
            writer = None
        if writer is not None:
            try:
                writer.graph(torch.nn.Linear(2, 2), torch.zeros(1, 2))  # as the TensorBoard callback's graph
            finally:
                writer.close()
    figure = plt.figure(figsize=(1, 1))
    figure.text(0.5, 0.5, "0")
    figure.savefig(io.BytesIO(), format="png", dpi=90)  # Agg and the font cache, as the run's report.html
    plt.close(figure)
    gc.collect()
    gc.freeze()
    _warmed_up = True
