"""Turn a benchmark result into its files: raw JSON, the Markdown ratio table and a bar chart."""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping
from pathlib import Path

if __package__:  # imported as bench.report (the tests)
    from bench import tools
else:  # imported by bench/run.py
    import tools

TOOL_ORDER = ("cnnlab", "cnnlab-bf16", "cnnlab-fp16", "keras-tf", "keras-torch", "torch")
TOOL_COLOURS = {"cnnlab": "#d1495b", "cnnlab-bf16": "#eb9aa6", "cnnlab-fp16": "#f4c7ce", "keras-tf": "#edae49", "keras-torch": "#66a182",
                "torch": "#00798c"}


def add_derived(result: dict) -> None:
    """Add achieved training GFLOP/s (and its share of the matmul peak) to every successful run."""
    macs = result.get("forward_macs", {})
    peak = result.get("matmul_peak_gflops")
    for run in result["runs"]:
        if "error" in run or run.get("model") not in macs:
            continue
        images_per_s = run["samples"] / run["seconds_per_epoch"]
        run["train_images_per_s"] = images_per_s
        run["train_gflops"] = tools.train_gflops(macs[run["model"]], images_per_s)
        if peak:
            run["share_of_matmul_peak"] = run["train_gflops"] / peak
    result["seed_spread"] = seed_spread(result["runs"])


def seed_spread(runs) -> dict:
    """Test accuracy over seeds for every config run with more than one seed, per tool: values, mean, min, max."""
    out = {}
    configs = sorted({(r["model"], r["batch_size"]) for r in runs if "error" not in r and r.get("seed", 0)},
                     key=lambda c: (c[0] != "cnn", -c[1]))
    for model, batch in configs:
        for tool in TOOL_ORDER:
            accs = tools.accuracies(runs, tool, model, batch)
            if len(accs) > 1:
                out[f"{tool} {model} b{batch}"] = {"tool": tool, "model": model, "batch_size": batch,
                                                   "accuracies": accs, "mean": statistics.mean(accs),
                                                   "min": min(accs), "max": max(accs)}
    return out


def _figures_table(result: Mapping) -> str:
    lines = [("| tool | model | batch | s/epoch | epochs (s) | test acc | predict img/s | peak RSS fit (MiB) | "
              "train GFLOP/s | % of peak |"), "| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
    for run in result["runs"]:
        if "error" in run:
            lines.append(f"| {run.get('label', '?')} | failed: {run['error'].splitlines()[-1][:80]} | | | | | | | | |")
            continue
        if run.get("seed", 0) != 0:
            continue
        epochs = ", ".join(f"{s:.1f}" for s in run["epoch_seconds"])
        share = run.get("share_of_matmul_peak")
        lines.append(
            f"| {tools.PEER_NAMES[run['tool']]} | {tools.MODEL_NAMES[run['model']]} | {run['batch_size']} | "
            f"{run['seconds_per_epoch']:.2f} | {epochs} | {100 * run['test_accuracy']:.2f} | "
            f"{run['predict_images_per_s']:,.0f} | {run['rss_fit_peak_mb']:,.0f} | {run.get('train_gflops', 0):.1f} | "
            f"{'' if share is None else f'{share:.0%}'} |")
    return "\n".join(lines)


def markdown(result: Mapping) -> str:
    """The whole Markdown report: machine, ratio table, raw figures, seeds, main job, overhead, what was not run."""
    rows = tools.ratio_rows(result)
    parts = [f"# cnnlab benchmark, {result['date']}", "", tools.machine_line(result), "",
             "## Ratios (cnnlab vs each peer, same job)", "", tools.render_table(rows), ""]
    if tools.opt_in_note(rows):
        parts += [tools.opt_in_note(rows), ""]
    parts += ["## Raw figures (seed 0)", "", _figures_table(result), ""]
    floor = tools.floor_rows(result)
    if floor:
        parts += ["## What bounds each target (bench/floor_probe.py)", "",
                  "The step each target asks for, against torch's kernels timed alone at the model's shapes (a "
                  "lower bound for any eager step on them: no loss, optimizer, dispatch or autograd), the leanest "
                  "eager loop over the same kernels, and cnnlab, all in this job.", "",
                  tools.render_floor_table(floor), ""]
    elif isinstance(result.get("floor"), Mapping):
        parts += [f"- floor probe: failed ({result['floor']['error'].splitlines()[-1]})", ""]
    spread = result.get("seed_spread")
    if spread:
        parts += ["## Test accuracy over seeds", "", "The accuracy rows above compare these means.", "",
                  "| model | batch | tool | accuracies (seed 0, 1, ...) | mean | spread |",
                  "| --- | ---: | --- | --- | ---: | ---: |"]
        for s in spread.values():
            parts.append(f"| {tools.MODEL_NAMES[s['model']]} | {s['batch_size']} | {tools.PEER_NAMES[s['tool']]} | "
                         f"{', '.join(f'{100 * a:.2f}' for a in s['accuracies'])} | {100 * s['mean']:.2f} | "
                         f"{100 * (s['max'] - s['min']):.2f} |")
        parts.append("")
    for tool, t90 in result.get("time_to_90", {}).items():
        if "error" in t90:
            parts.append(f"- main job, {tools.PEER_NAMES[tool]}: failed ({t90['error'].splitlines()[-1]})")
            continue
        per_epoch = ", ".join(f"{e['seconds']:.0f} s: {100 * e['test_accuracy']:.2f}%" for e in t90["epochs_run"])
        reached = t90["seconds_to_target"]
        parts.append(f"- main job ({t90['recipe']['epochs']} epochs max, batch {t90['recipe']['batch_size']}), "
                     f"{tools.PEER_NAMES[tool]}: {'not reached' if reached is None else f'{reached:.1f} s'} to 90% "
                     f"test accuracy; at each epoch end (fit seconds: test accuracy) {per_epoch}")
    overhead = result.get("overhead")
    if overhead:
        parts.append(f"- fit overhead: fit {overhead['fit_seconds']:.2f} s vs bare loop {overhead['bare_seconds']:.2f} s "
                     f"({overhead['samples']} samples, batch {overhead['batch_size']}, best of "
                     f"{len(overhead['fit_runs'])}): {overhead['overhead']:+.1%}")
    busy = result.get("busy")
    if busy and "error" not in busy:
        parts.append("- busy machine, two-conv CNN b128, ms/step quiet -> beside one CPU-bound process (median of "
                     "interleaved rounds): " + "; ".join(
                         f"{name} {_ms(row.get('quiet'))} -> {_ms(row.get('busy'))}" for name, row in busy.items()))
    elif busy:
        parts.append(f"- busy machine: failed ({busy['error'].splitlines()[-1]})")
    parts.extend(apps_lines(result.get("apps")))
    parts.extend(compile_lines(result.get("compile")))
    scale = result.get("scale")
    if scale:
        parts.append("- cnnlab s/epoch vs samples (b128): " + ", ".join(
            f"{n}: {s:.2f}" for n, s in scale["epoch_seconds_vs_samples"].items()))
        parts.append("- cnnlab s/epoch vs batch size (12k samples): " + ", ".join(
            f"{b}: {s:.2f}" for b, s in scale["epoch_seconds_vs_batch_12k"].items()))
        parts.append("- cnnlab predict img/s vs batch size: " + ", ".join(
            f"{b}: {v:,.0f}" for b, v in scale["predict_images_per_s_vs_batch"].items()))
    if result.get("not_run"):
        parts += ["", "Not run: " + "; ".join(result["not_run"]) + "."]
    return "\n".join(parts) + "\n"


def apps_lines(apps) -> list[str]:
    """Raw predict images/s of bench/apps_probe.py, one line per model, and why a tool did not run."""
    if not apps:
        return []
    if "error" in apps:
        return [f"- Keras architectures, predict: failed ({apps['error'].splitlines()[-1]})"]
    lines = []
    for model, rates in apps.get("results", {}).items():
        figures = "; ".join(f"{tools.PEER_NAMES.get(tool, tool)} {'failed' if v is None else f'{v:,.1f}'}"
                            for tool, v in rates.items())
        lines.append(f"- {tools.APPS_MODELS.get(model, model)} predict img/s ({apps.get('size', 224)}x"
                     f"{apps.get('size', 224)}, batch {apps.get('batch_size', 32)}, weights=None): {figures}")
    lines += [f"- {tools.PEER_NAMES.get(tool, tool)} not run for the Keras architectures: {reason}"
              for tool, reason in apps.get("skipped", {}).items()]
    return lines


def compile_lines(rows) -> list[str]:
    """Raw figures of bench/compile_probe.py: eager vs torch.compile ms/step, first epoch with compiling."""
    if not rows:
        return []
    if isinstance(rows, dict) and "error" in rows:
        return [f"- torch.compile probe: failed ({rows['error'].splitlines()[-1]})"]
    lines = []
    for row in rows:
        eager, compiled = row.get("eager"), row.get("compiled")
        if not (eager and compiled):
            lines.append(f"- torch.compile, {row['tool']} {row['model']} b{row['batch_size']}: a run failed")
            continue
        lines.append(f"- torch.compile, {row['tool']} {row['model']} b{row['batch_size']}: {eager['ms_per_step']:.2f} "
                     f"ms/step eager, {compiled['ms_per_step']:.2f} compiled "
                     f"({compiled['ms_per_step'] / eager['ms_per_step']:.2f}x the time); first epoch "
                     f"{eager['first_epoch_s']:.1f} s eager, {compiled['first_epoch_s']:.1f} s with compiling")
    return lines


def _ms(value) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def chart(result: Mapping, path: Path) -> None:
    """Bar chart: s/epoch per config, predict images/s and peak RSS (two-conv CNN b128), one colour per tool."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [r for r in result["runs"] if "error" not in r and r.get("seed", 0) == 0]
    configs = list(dict.fromkeys((r["model"], r["batch_size"]) for r in runs))
    tools_present = [t for t in TOOL_ORDER if any(r["tool"] == t for r in runs)]
    fig, axes = plt.subplots(1, 3, figsize=(15, 5), gridspec_kw={"width_ratios": [max(len(configs), 1), 1, 1]})
    width = 0.8 / max(len(tools_present), 1)
    for i, tool in enumerate(tools_present):
        values = [next((r["seconds_per_epoch"] for r in runs if r["tool"] == tool
                        and (r["model"], r["batch_size"]) == c), 0) for c in configs]
        xs = [k + (i - (len(tools_present) - 1) / 2) * width for k in range(len(configs))]
        bars = axes[0].bar(xs, values, width, label=tools.PEER_NAMES[tool], color=TOOL_COLOURS[tool])
        axes[0].bar_label(bars, fmt="%.1f", fontsize=7)
    axes[0].set_xticks(range(len(configs)), [f"{tools.MODEL_NAMES[m]}\nbatch {b}" for m, b in configs])
    axes[0].set_ylabel("seconds per epoch (lower is better)")
    axes[0].set_title("training")
    axes[0].legend(fontsize=8)
    for ax, key, title in ((axes[1], "predict_images_per_s", "predict, 10k test images\nimages/s (higher is better)"),
                           (axes[2], "rss_fit_peak_mb", "peak RSS during fit\nMiB (lower is better)")):
        pairs = [(t, next((r[key] for r in runs if r["tool"] == t and r["model"] == "cnn"
                           and r["batch_size"] == 128), None)) for t in tools_present]
        pairs = [(t, v) for t, v in pairs if v is not None]
        bars = ax.bar([_short_name(t) for t, _ in pairs], [v for _, v in pairs],
                      color=[TOOL_COLOURS[t] for t, _ in pairs])
        ax.bar_label(bars, fmt="%.0f", fontsize=7)
        ax.set_title(f"two-conv CNN b128: {title}", fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
    m = result["machine"]
    fig.suptitle(f"cnnlab vs Keras 3 vs PyTorch on {m['cpu']}, {m['cores']} cores ({result['date'][:10]}, "
                 f"{result['mode']})", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _short_name(tool: str) -> str:
    if tool in ("cnnlab-bf16", "cnnlab-fp16"):
        return "cnnlab\n" + tool[-4:]  # "mixed_bfloat16" is wider than its bar
    return tools.PEER_NAMES[tool].replace(" / ", "/\n").replace("idiomatic ", "idiomatic\n")


def write_all(result: Mapping, folder: Path, name: str) -> list[Path]:
    """Write ``name``.json, .md and .png into ``folder``; return their paths."""
    paths = [folder / f"{name}.json", folder / f"{name}.md", folder / f"{name}.png"]
    paths[0].write_text(json.dumps(result, indent=1) + "\n")
    paths[1].write_text(markdown(result))
    chart(result, paths[2])
    return paths
