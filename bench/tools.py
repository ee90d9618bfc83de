"""Pure functions of the benchmark: epoch medians, FLOP counts, the ratio table, the README block.

Nothing here trains or imports a framework, so it is tested fast
(tests/bench/test_bench_tools.py).
"""

from __future__ import annotations

import ast
import statistics
from collections.abc import Mapping, Sequence

README_START = "<!-- speed-table:start -->"
README_END = "<!-- speed-table:end -->"
PEERS = ("keras-tf", "keras-torch", "torch")
PEER_NAMES = {"cnnlab": "cnnlab", "cnnlab-bf16": "cnnlab, mixed_bfloat16", "cnnlab-fp16": "cnnlab, mixed_float16",
              "keras-tf": "Keras 3 / TensorFlow", "torchvision": "torchvision",
              "keras-torch": "Keras 3 / torch", "torch": "idiomatic PyTorch"}
# cnnlab's variants: the default float32 (the headline figures) and the opt-in mixed precision policy.
CNNLAB_TOOLS = ("cnnlab", "cnnlab-bf16", "cnnlab-fp16")
POLICIES = {"cnnlab": "float32", "cnnlab-bf16": "mixed_bfloat16", "cnnlab-fp16": "mixed_float16"}  # cnnlab.mixed_precision.set_global_policy(...)
OPT_IN_PREFIX = "mixed_bfloat16 (opt-in): "  # starts the figure of every cnnlab-bf16 row in the ratio table
MODEL_NAMES = {"cnn": "two-conv CNN", "lenet": "LeNet-5"}
TRAIN_FLOPS_PER_MAC = 6  # forward 1x + backward 2x the forward MACs, 2 FLOPs (multiply + add) per MAC

# Targets of issues 6 and 16: (figure, peer) -> minimum speed-up of cnnlab (or maximum, where noted). Issue 16
# set LeNet-5 against idiomatic PyTorch at 1.5x (issue 6 had asked 2x).
TRAIN_TARGETS = {("cnn", "keras-tf"): 2.0, ("cnn", "torch"): 1.5, ("lenet", "keras-tf"): 4.0, ("lenet", "torch"): 1.5}
PREDICT_TARGETS = {"keras-tf": 2.5, "torch": 1.3}
BUSY_TARGETS = {"keras-tf": 1.5}
# bench/busy_probe.py's names for the tools whose busy figures the ratio table compares
BUSY_TOOLS = {"cnnlab": "cnnlab", "keras-tf": "Keras 3 / TensorFlow", "torch": "idiomatic PyTorch"}
RSS_TARGET = 0.6  # cnnlab peak RSS during fit / Keras-TF's, at most
ACCURACY_POINTS = 0.5  # |cnnlab - peer| test accuracy, in percentage points, at most
EFFICIENCY_TARGET = 0.60  # achieved training GFLOP/s / measured matmul peak, at least (two-conv CNN, batch 128)
OVERHEAD_TARGET = 0.03  # fit time / bare-loop time - 1, below
TIME90_TARGET_S = 90.0  # main job: seconds of fit to 90% test accuracy, at most


def median_after_first(epoch_seconds: Sequence[float]) -> float:
    """Median seconds per epoch over epochs 2..n (the first holds warm-up); with one epoch, that epoch.

    Example:
        >>> median_after_first([9.0, 4.0, 6.0, 5.0])
        5.0
    """
    if not epoch_seconds:
        raise ValueError("no epochs were timed")
    rest = list(epoch_seconds[1:]) or list(epoch_seconds)
    return float(statistics.median(rest))


def train_gflops(forward_macs: int, images_per_s: float) -> float:
    """Achieved training GFLOP/s: 6 FLOPs per forward MAC per image (see ``TRAIN_FLOPS_PER_MAC``)."""
    return TRAIN_FLOPS_PER_MAC * forward_macs * images_per_s / 1e9


def fit_overhead(fit_seconds: float, bare_seconds: float) -> float:
    """Extra time of ``fit`` over the bare loop, as a fraction of the bare loop (0.02 = 2%)."""
    return fit_seconds / bare_seconds - 1.0


def demo_recipe(source: str, environ: Mapping[str, str]) -> dict:
    """Epochs and batch size of the main job, read from its source like the script itself would.

    The script sets ``EPOCHS = int(os.environ.get("CNNLAB_DEMO_EPOCHS", "6"))``;
    the environment variable wins over the default written there.

    Example:
        >>> demo_recipe('EPOCHS = int(os.environ.get("E", "6"))\\nBATCH_SIZE = 64', {})
        {'epochs': 6, 'batch_size': 64}
    """
    values = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name in ("EPOCHS", "BATCH_SIZE"):
                values[name] = _constant_or_env(node.value, environ)
    missing = {"EPOCHS", "BATCH_SIZE"} - set(values)
    if missing:
        raise ValueError(f"the main job's script sets no {sorted(missing)}")
    return {"epochs": values["EPOCHS"], "batch_size": values["BATCH_SIZE"]}


def _constant_or_env(node: ast.expr, environ: Mapping[str, str]) -> int:
    if isinstance(node, ast.Constant):
        return int(node.value)
    for call in ast.walk(node):
        # os.environ.get("NAME", "default") inside int(...)
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "get" \
                and len(call.args) == 2 and all(isinstance(a, ast.Constant) for a in call.args):
            name, default = call.args[0].value, call.args[1].value
            return int(environ.get(name, default))
    raise ValueError(f"cannot read a number from {ast.unparse(node)!r}")


# ---------------------------------------------------------------------------- ratio table
def _find(runs: Sequence[Mapping], tool: str, model: str, batch_size: int, seed: int = 0) -> Mapping | None:
    for run in runs:
        if (run.get("tool"), run.get("model"), run.get("batch_size"), run.get("seed", 0)) == \
                (tool, model, batch_size, seed) and "error" not in run:
            return run
    return None


def _row(figure: str, peer: str, ours, theirs, ratio, target_text: str, met, tool: str = "cnnlab") -> dict:
    return {"figure": figure, "peer": peer, "cnnlab": ours, "peer_value": theirs, "ratio": ratio,
            "target": target_text, "met": met, "tool": tool}


def ratio_rows(result: Mapping) -> list[dict]:
    """One row per (figure, peer): cnnlab's value, the peer's, the ratio, the target and whether it is met.

    Speed ratios are ``peer time / cnnlab time`` (or ``cnnlab rate / peer
    rate``): above 1 means cnnlab is faster. ``met`` is None where the issue
    sets no target (Keras on torch) and for figures that were not measured.

    The rows of cnnlab's default float32 come first; then, when the job ran
    it, the same training, accuracy, memory and main-job rows for cnnlab under
    the opt-in ``mixed_bfloat16`` policy (``tool`` is ``"cnnlab-bf16"``, the
    figure starts with ``OPT_IN_PREFIX``), with the same targets, plus its
    speed and accuracy against float32 cnnlab.
    """
    runs = result.get("runs", [])
    rows = _train_rows(runs, "cnnlab")
    ours = _find(runs, "cnnlab", "cnn", 128)
    if ours is not None:
        rows.extend(_predict_rows(runs, ours))
        rows.extend(_rss_rows(runs, ours, "cnnlab"))
        peak = result.get("matmul_peak_gflops")
        if peak and ours.get("train_gflops"):
            share = ours["train_gflops"] / peak
            rows.append(_row("training GFLOP/s / matmul peak, two-conv CNN b128", "machine", ours["train_gflops"],
                             peak, share, f">= {EFFICIENCY_TARGET:.0%}", share >= EFFICIENCY_TARGET))
    overhead = result.get("overhead")
    if overhead:
        value = overhead["overhead"]
        rows.append(_row("fit overhead over a bare loop", "bare loop", overhead["fit_seconds"],
                         overhead["bare_seconds"], value, f"< {OVERHEAD_TARGET:.0%}", value < OVERHEAD_TARGET))
    rows.extend(busy_rows(result.get("busy")))
    rows.extend(apps_rows(result.get("apps")))
    time90 = result.get("time_to_90", {})
    rows.extend(_time90_rows(time90, "cnnlab"))
    rows.extend(_opt_in_rows(runs, time90))
    return rows


def busy_rows(busy: Mapping | None) -> list[dict]:
    """The two-conv CNN b128 beside one CPU-bound process (bench/busy_probe.py): ms/step against each peer."""
    if not busy or "error" in busy:
        return []
    ours = busy.get(BUSY_TOOLS["cnnlab"], {}).get("busy")
    rows = []
    for peer in ("keras-tf", "torch"):
        theirs = busy.get(BUSY_TOOLS[peer], {}).get("busy")
        if ours is None or theirs is None:
            continue
        speed = theirs / ours
        target = BUSY_TARGETS.get(peer)
        rows.append(_row("busy machine: train ms/step, two-conv CNN b128 beside a CPU-bound process", peer, ours,
                         theirs, speed, f">= {target}x" if target else "-", None if target is None else speed >= target))
    return rows


def step_ms(run: Mapping) -> float:
    """A training run's milliseconds per step: seconds per epoch over its batches per epoch."""
    return run["seconds_per_epoch"] / -(-run["samples"] // run["batch_size"]) * 1e3


def _floor(rows, model: str, batch: int, task: str, threads: int | None) -> Mapping | None:
    for row in rows or ():
        if (row["model"], row["batch_size"], row["task"]) == (model, batch, task) and \
                (threads is None or row["threads"] == threads):
            return row
    return None


def floor_rows(result: Mapping) -> list[dict]:
    """What bounds each speed target (bench/floor_probe.py against the peers' figures of the same job).

    For each target: the step it asks for (the peer's step over the target ratio, or the matmul-peak share's
    FLOPs at that share), torch's kernels alone at those shapes (a lower bound for any eager step on them), the
    leanest eager loop over them, and cnnlab. ``bound`` says whether the target is out of reach of the kernels
    alone, of eager PyTorch, or neither.
    """
    floor = result.get("floor")
    if not floor or "error" in floor:
        return []
    runs, rows = result.get("runs", []), []
    threads = max((r["threads"] for r in floor), default=1)

    def add(target: str, peer_text: str, needs_ms: float, probe: Mapping | None):
        if probe is None:
            return
        kernels, bare = probe["kernels_ms"], probe.get("bare_ms")
        if kernels > needs_ms:
            bound = "the kernels alone take longer"
        elif bare is not None and bare > needs_ms:
            bound = "below eager PyTorch only"
        else:
            bound = "no"
        rows.append({"target": target, "peer": peer_text, "needs_ms": needs_ms, "kernels_ms": kernels,
                     "bare_ms": bare, "cnnlab_ms": probe["cnnlab_ms"], "bound": bound})

    for model, batch, peer in (("cnn", 128, "keras-tf"), ("lenet", 32, "torch"), ("lenet", 32, "keras-tf")):
        theirs, ratio = _find(runs, peer, model, batch), TRAIN_TARGETS[(model, peer)]
        if theirs is not None:
            add(f"{MODEL_NAMES[model]} b{batch} train >= {ratio}x {PEER_NAMES[peer]}",
                f"{step_ms(theirs):.2f} ms/step", step_ms(theirs) / ratio, _floor(floor, model, batch, "train",
                                                                                  threads))
    peak, macs = result.get("matmul_peak_gflops"), result.get("forward_macs", {}).get("cnn")
    if peak and macs:
        flops = TRAIN_FLOPS_PER_MAC * macs * 128
        add(f"{MODEL_NAMES['cnn']} b128 train >= {EFFICIENCY_TARGET:.0%} of the matmul peak",
            f"peak {peak:.0f} GFLOP/s", flops / (EFFICIENCY_TARGET * peak * 1e9) * 1e3,
            _floor(floor, "cnn", 128, "train", threads))
    theirs = _find(runs, "keras-tf", "cnn", 128)
    if theirs is not None and theirs.get("predict_images_per_s"):
        ratio = PREDICT_TARGETS["keras-tf"]
        per_batch = 128 / theirs["predict_images_per_s"] * 1e3
        add(f"{MODEL_NAMES['cnn']} predict b128 >= {ratio}x {PEER_NAMES['keras-tf']}", f"{per_batch:.2f} ms/batch",
            per_batch / ratio, _floor(floor, "cnn", 128, "predict", threads))
    busy = result.get("busy") or {}
    tf_busy = busy.get(BUSY_TOOLS["keras-tf"], {}).get("busy") if "error" not in busy else None
    if tf_busy:
        ratio = BUSY_TARGETS["keras-tf"]
        add(f"{MODEL_NAMES['cnn']} b128 beside a CPU-bound process >= {ratio}x {PEER_NAMES['keras-tf']} "
            "(cnnlab keeps one core: one thread)", f"{tf_busy:.2f} ms/step busy", tf_busy / ratio,
            _floor(floor, "cnn", 128, "train", 1))
    return rows


def render_floor_table(rows: Sequence[Mapping]) -> str:
    """``floor_rows`` in Markdown."""
    lines = ["| target | peer, this job | step it needs (ms) | torch kernels alone (ms) | leanest eager loop (ms) | "
             "cnnlab (ms) | out of reach of |", "| --- | --- | ---: | ---: | ---: | ---: | --- |"]
    for row in rows:
        bare = "-" if row["bare_ms"] is None else f"{row['bare_ms']:.2f}"
        lines.append(f"| {row['target']} | {row['peer']} | {row['needs_ms']:.2f} | {row['kernels_ms']:.2f} | {bare} | "
                     f"{row['cnnlab_ms']:.2f} | {row['bound']} |")
    return "\n".join(lines)


# bench/apps_probe.py: its model names, and the peers whose predict images/s it measures (no targets are set)
APPS_MODELS = {"mobilenet_v2": "MobileNetV2", "resnet50": "ResNet50"}
APPS_PEERS = ("keras-tf", "torchvision")


def apps_rows(apps: Mapping | None) -> list[dict]:
    """Predict images/s of Keras's architectures (bench/apps_probe.py): cnnlab against each peer that ran.

    The ratio is ``cnnlab rate / peer rate`` (above 1: cnnlab is faster); the issue sets no target, so
    ``met`` is None.
    """
    if not apps or "error" in apps:
        return []
    size, batch = apps.get("size", 224), apps.get("batch_size", 32)
    rows = []
    for model, rates in apps.get("results", {}).items():
        ours = rates.get("cnnlab")
        for peer in APPS_PEERS:
            theirs = rates.get(peer)
            if ours is None or theirs is None:
                continue
            rows.append(_row(f"predict img/s, {APPS_MODELS.get(model, model)} {size}x{size} b{batch}", peer, ours,
                             theirs, ours / theirs, "-", None))
    return rows


def _opt_in_rows(runs: Sequence[Mapping], time90: Mapping) -> list[dict]:
    """cnnlab under ``mixed_bfloat16``: the float32 rows that the policy changes, then the cost against float32.

    Predict is left out (the policy keeps ``predict`` in float32), and so is
    the share of the matmul peak (that peak is float32's).
    """
    rows = _train_rows(runs, "cnnlab-bf16")
    ours = _find(runs, "cnnlab-bf16", "cnn", 128)
    if ours is not None:
        rows.extend(_rss_rows(runs, ours, "cnnlab-bf16"))
    rows.extend(_time90_rows(time90, "cnnlab-bf16"))
    rows.extend(_train_rows(runs, "cnnlab-bf16", peers=("cnnlab",)))
    return rows


def _train_rows(runs: Sequence[Mapping], tool: str, peers: Sequence[str] = PEERS) -> list[dict]:
    """Train s/epoch and test accuracy of ``tool`` against each of ``peers``, for every config ``tool`` ran."""
    rows: list[dict] = []
    prefix = OPT_IN_PREFIX if tool != "cnnlab" else ""
    configs = sorted({(r["model"], r["batch_size"]) for r in runs if r.get("tool") == tool and "error" not in r},
                     key=lambda c: (c[0] != "cnn", -c[1]))
    for model, batch in configs:
        ours = _find(runs, tool, model, batch)
        if ours is None:
            continue
        label = f"{MODEL_NAMES.get(model, model)} b{batch}"
        for peer in peers:
            theirs = _find(runs, peer, model, batch)
            if theirs is None:
                continue
            speed = theirs["seconds_per_epoch"] / ours["seconds_per_epoch"]
            target = TRAIN_TARGETS.get((model, peer))
            rows.append(_row(f"{prefix}train s/epoch, {label}", peer, ours["seconds_per_epoch"],
                             theirs["seconds_per_epoch"], speed, f">= {target}x" if target else "-",
                             None if target is None else speed >= target, tool))
            ours_accs, their_accs = accuracies(runs, tool, model, batch), accuracies(runs, peer, model, batch)
            seeds = min(len(ours_accs), len(their_accs))
            if seeds > 1:  # compare means over the seeds both ran: one seed's test accuracy is noise-sized
                ours_acc, their_acc = statistics.mean(ours_accs[:seeds]), statistics.mean(their_accs[:seeds])
                what = f"test accuracy (points, mean of {seeds} seeds)"
            else:
                ours_acc, their_acc, what = ours["test_accuracy"], theirs["test_accuracy"], "test accuracy (points)"
            diff = 100 * (ours_acc - their_acc)
            rows.append(_row(f"{prefix}{what}, {label}", peer, 100 * ours_acc, 100 * their_acc, diff,
                             f"within {ACCURACY_POINTS}", abs(diff) <= ACCURACY_POINTS, tool))
    return rows


def accuracies(runs: Sequence[Mapping], tool: str, model: str, batch_size: int) -> list[float]:
    """Test accuracies of ``tool`` on one config, in seed order (seed 0 first), failed runs left out."""
    found = sorted((r.get("seed", 0), r["test_accuracy"]) for r in runs
                   if (r.get("tool"), r.get("model"), r.get("batch_size")) == (tool, model, batch_size)
                   and "error" not in r)
    return [acc for _, acc in found]


def _predict_rows(runs: Sequence[Mapping], ours: Mapping) -> list[dict]:
    rows = []
    for peer in PEERS:
        theirs = _find(runs, peer, "cnn", 128)
        if theirs is None:
            continue
        speed = ours["predict_images_per_s"] / theirs["predict_images_per_s"]
        target = PREDICT_TARGETS.get(peer)
        rows.append(_row("predict images/s (b128)", peer, ours["predict_images_per_s"],
                         theirs["predict_images_per_s"], speed, f">= {target}x" if target else "-",
                         None if target is None else speed >= target))
    return rows


def _rss_rows(runs: Sequence[Mapping], ours: Mapping, tool: str) -> list[dict]:
    tf_run = _find(runs, "keras-tf", "cnn", 128)
    if tf_run is None:
        return []
    prefix = OPT_IN_PREFIX if tool != "cnnlab" else ""
    ratio = ours["rss_fit_peak_mb"] / tf_run["rss_fit_peak_mb"]
    return [_row(f"{prefix}peak RSS during fit (MiB), two-conv CNN b128", "keras-tf", ours["rss_fit_peak_mb"],
                 tf_run["rss_fit_peak_mb"], ratio, f"<= {RSS_TARGET}x", ratio <= RSS_TARGET, tool)]


def _time90_rows(time90: Mapping, tool: str) -> list[dict]:
    ours = time90.get(tool)
    if not ours:
        return []
    figure = f"{OPT_IN_PREFIX if tool != 'cnnlab' else ''}main job: fit seconds to 90% test accuracy"
    ours_s = ours.get("seconds_to_target")
    rows = [_row(figure, "target", ours_s, TIME90_TARGET_S, None if ours_s is None else TIME90_TARGET_S / ours_s,
                 f"<= {TIME90_TARGET_S:g} s", ours_s is not None and ours_s <= TIME90_TARGET_S, tool)]
    theirs = time90.get("keras-tf")
    if theirs:
        theirs_s = theirs.get("seconds_to_target")
        ratio = theirs_s / ours_s if ours_s and theirs_s else None
        rows.append(_row(figure, "keras-tf", ours_s, theirs_s, ratio, "-", None, tool))
    return rows


def _number(value, kind: str) -> str:
    if value is None:
        return "n/a"
    if kind == "ratio":
        return f"{value:.2f}x"
    if kind == "share":
        return f"{value:.0%}"
    if kind == "points":
        return f"{value:+.2f}"
    if abs(value) < 10:
        return f"{value:.2f}"
    return f"{value:,.1f}" if abs(value) < 1000 else f"{value:,.0f}"


def _kind(row: Mapping) -> str:
    figure = row["figure"].removeprefix(OPT_IN_PREFIX)
    if figure.startswith("test accuracy"):
        return "points"
    if figure.startswith(("training GFLOP/s", "fit overhead")):
        return "share"
    return "ratio"


def _peer_label(row: Mapping) -> str:
    if row["peer"] == "cnnlab" and row.get("tool", "cnnlab") != "cnnlab":
        return "cnnlab, float32"  # the opt-in policy against cnnlab's default
    return PEER_NAMES.get(row["peer"], row["peer"])


def render_table(rows: Sequence[Mapping]) -> str:
    """The ratio table in Markdown: figure, peer, both values, ratio, target and ✔/✘ (– without a target)."""
    lines = ["| figure | vs | cnnlab | peer | ratio | target | met |", "| --- | --- | ---: | ---: | ---: | --- | :-: |"]
    for row in rows:
        mark = "–" if row["met"] is None else ("✔" if row["met"] else "✘")
        lines.append(f"| {row['figure']} | {_peer_label(row)} | "
                     f"{_number(row['cnnlab'], 'value')} | {_number(row['peer_value'], 'value')} | "
                     f"{_number(row['ratio'], _kind(row))} | {row['target']} | {mark} |")
    return "\n".join(lines)


def opt_in_note(rows: Sequence[Mapping]) -> str:
    """The sentence under the table that says what its ``mixed_bfloat16`` rows are; empty when it has none."""
    if not any(row.get("tool", "cnnlab") != "cnnlab" for row in rows):
        return ""
    return ("Rows without a prefix are cnnlab's default float32: the headline figures. Rows starting "
            f"`{OPT_IN_PREFIX.strip()}` are the same cnnlab code with "
            "`cnnlab.mixed_precision.set_global_policy(\"mixed_bfloat16\")` (bfloat16 training steps, float32 "
            "weights; `predict` stays float32), a policy the user opts into, measured in the same job.")


def machine_line(result: Mapping) -> str:
    """``AMD EPYC, 2 cores, torch 2.13.0, TensorFlow 2.21.0, Keras 3.15.1 (host, date, mode)``."""
    m = result.get("machine", {})
    versions = ", ".join(f"{k} {v}" for k, v in m.get("versions", {}).items())
    peak = result.get("matmul_peak_gflops")
    peak_text = f"; fp32 matmul peak {peak:.0f} GFLOP/s" if peak else ""
    engines = {name: result.get(f"matmul_{name}_gflops") for name in ("onednn", "blas")}
    if peak and all(engines.values()):
        peak_text += (f" (the faster of oneDNN, {engines['onednn']:.0f}, and the BLAS behind torch.mm, "
                      f"{engines['blas']:.0f})")
    return (f"{m.get('cpu', '?')}, {m.get('cores', '?')} cores ({m.get('host', '?')}, {result.get('date', '?')}, "
            f"`make bench{'-quick' if result.get('mode') == 'quick' else ''}`); {versions}{peak_text}")


def readme_block(result: Mapping, result_name: str) -> str:
    """The README's speed section body: machine, table, what was not run, link to the full result."""
    rows = ratio_rows(result)
    parts = [f"Measured on {machine_line(result)}.", "", render_table(rows), ""]
    if opt_in_note(rows):
        parts += [opt_in_note(rows), ""]
    skipped = result.get("not_run", [])
    if skipped:
        parts += ["Not run: " + "; ".join(skipped) + ".", ""]
    parts.append(f"Raw figures and chart: `bench/results/{result_name}.json`, `.md`, `.png` "
                 "(generated by `bench/update_readme.py`; do not edit by hand).")
    return "\n".join(parts)


def replace_block(text: str, block: str) -> str:
    """``text`` with everything between the speed-table markers replaced by ``block``.

    When the markers are absent they are appended at the end, around the block.

    Raises:
        ValueError: the markers appear more than once or out of order.
    """
    starts, ends = text.count(README_START), text.count(README_END)
    if starts == ends == 0:
        sep = "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
        return f"{text}{sep}{README_START}\n{block}\n{README_END}\n"
    if starts != 1 or ends != 1 or text.index(README_START) > text.index(README_END):
        raise ValueError(f"README must hold exactly one {README_START} followed by one {README_END}; "
                         f"found {starts} start and {ends} end marker(s)")
    head, rest = text.split(README_START)
    _, tail = rest.split(README_END)
    return f"{head}{README_START}\n{block}\n{README_END}{tail}"
