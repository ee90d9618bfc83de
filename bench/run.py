"""Run the whole benchmark, one process after another, and write bench/results/<date>-<host>.{json,md,png}.

Usage (from the repository root, in .venv-bench; `make bench` / `make bench-quick`):
    python bench/run.py --mode full|quick [--update-readme] [--only cnnlab,torch]

Never run two of these at once: each run uses every core.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import common
import report
import tools

RESULTS = BENCH / "results"
# cnnlab-bf16 / cnnlab-fp16: cnnlab under the opt-in mixed_bfloat16 / mixed_float16 (loss-scaled) policies, reported
# apart from cnnlab's float32 headline.
TOOLS = ("cnnlab", "cnnlab-bf16", "cnnlab-fp16", "keras-tf", "keras-torch", "torch")
# mixed_float16 runs once, on the first config, in the full bench only: a CPU runs its convolutions ~100x slower
# than float32 (cnnlab warns), so there it trains on FP16_CPU_SAMPLES samples for one epoch, enough for the figure.
FP16 = "cnnlab-fp16"
FP16_CPU_SAMPLES = 2048
TIME90_TOOLS = ("cnnlab", "cnnlab-bf16", "keras-tf")
# What each mode runs. Full: the work; quick: one epoch of fewer configs (< 5 minutes).
PLANS = {
    "full": {"configs": [("cnn", 128), ("cnn", 32), ("lenet", 32)], "epochs": 3, "seeds": (1, 2),
             "time90": True, "overhead": True, "scale": True,
             "busy": ["--rounds", "3", "--steps", "60"],
             "apps": ["--batches", "4", "--repeats", "3"], "compile": ["--samples", "4800"],
             "floor": ["--one-thread"]},
    "quick": {"configs": [("cnn", 128), ("lenet", 32)], "epochs": 1, "seeds": (),
              "time90": False, "overhead": True, "scale": False, "skip": (FP16,),
              "busy": ["--rounds", "1", "--steps", "40", "--loads", "busy"],
              "apps": ["--batches", "2", "--repeats", "1"],
              "floor": ["--one-thread", "--repeats", "3", "--steps", "20"]},
}


def _env(tool: str) -> dict:
    env = dict(os.environ)
    env.update({"OMP_NUM_THREADS": str(common.threads()), "TF_CPP_MIN_LOG_LEVEL": "2", "KMP_WARNINGS": "0",
                "PYTHONPATH": os.pathsep.join([str(BENCH), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)})
    if tool in ("keras-tf", "keras-torch"):
        env["KERAS_BACKEND"] = "tensorflow" if tool == "keras-tf" else "torch"
    return env


def run_process(label: str, args: list[str], tool: str, log) -> dict:
    """Run one runner; return its result line as a dict (or ``{"error": ...}``) and log its output."""
    print(f"  {label} ...", end=" ", flush=True)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, env=_env(tool), capture_output=True, text=True,
                          check=False)  # a failed runner is recorded, the job goes on
    seconds = time.perf_counter() - start
    log.write(f"===== {label}: {' '.join(args)} (exit {proc.returncode}, {seconds:.1f} s)\n{proc.stdout}\n{proc.stderr}\n")
    log.flush()
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(common.RESULT_PREFIX)]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        print(f"FAILED after {seconds:.0f} s: {' | '.join(tail)}")
        return {"error": "\n".join(tail), "label": label}
    result = json.loads(lines[-1][len(common.RESULT_PREFIX):])
    result["process_seconds"] = seconds
    slower = [ln.strip() for ln in proc.stderr.splitlines() if "policy makes training slower" in ln]
    if slower:  # cnnlab's own speed warning (a mixed policy on a CPU that runs it slowly) goes with the figure
        result["warning"] = slower[-1]
    print(f"{seconds:.0f} s")
    return result


def train_args(tool: str, model: str, batch: int, epochs: int, seed: int, samples: int = 0) -> list[str]:
    common_args = ["--model", model, "--batch-size", str(batch), "--epochs", str(epochs), "--seed", str(seed),
                   "--samples", str(samples)]
    if tool == "torch":
        return ["bench/run_torch.py", *common_args]
    return ["bench/run_keras_api.py", "--tool", tool, "--task", "train", *common_args]


def machine_info() -> dict:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or "?"
    return {"host": socket.gethostname(), "cpu": cpu, "cores": os.cpu_count(), "threads": common.threads(),
            "device": training_device(), "platform": platform.platform(), "python": platform.python_version(),
            "versions": _versions()}


def training_device() -> str:
    """The device every runner trains on: cnnlab's default choice (the first CUDA GPU when there is one)."""
    import torch

    if torch.cuda.is_available():
        return f"cuda:0 ({torch.cuda.get_device_name(0)})"
    return "cpu"


def _versions() -> dict:
    from importlib import metadata

    out = {}
    for dist in ("torch", "tensorflow-cpu", "keras", "numpy", "cnnlab"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=tuple(PLANS), default="quick")
    parser.add_argument("--only", help=f"comma-separated tools to run, of {','.join(TOOLS)} (default: all)")
    parser.add_argument("--samples", type=int, default=0,
                        help="train on the first N samples only, to try the harness out (0: all 48k)")
    parser.add_argument("--update-readme", action="store_true", help="rewrite README.md's speed table from this run")
    args = parser.parse_args(argv)
    plan = {**PLANS[args.mode], "samples": args.samples}
    run_tools = _tools(parser, args.only)
    skipped = [t for t in run_tools if t in plan.get("skip", ())]
    run_tools = tuple(t for t in run_tools if t not in skipped)
    now = datetime.datetime.now().astimezone()
    machine = machine_info()
    name = f"{now:%Y-%m-%d}-{machine['host']}" + ("-quick" if args.mode == "quick" else "") + \
        (f"-{args.samples}" if args.samples else "")
    RESULTS.mkdir(parents=True, exist_ok=True)
    result = {"date": now.isoformat(timespec="seconds"), "mode": args.mode, "machine": machine, "plan": plan,
              "runs": [], "not_run": [], "time_to_90": {}}
    started = time.perf_counter()
    sample_args = ["--samples", str(args.samples)] if args.samples else []
    with open(RESULTS / f"{name}.log", "w") as log, tempfile.TemporaryDirectory() as tmp:
        print(f"cnnlab bench ({args.mode}) on {machine['cpu']}, {machine['cores']} cores; log: {log.name}")
        result.update(_probe("peak", [], log))
        result.update(_probe("macs", [], log))
        for model, batch in plan["configs"]:
            for tool in run_tools:
                if tool == FP16:
                    continue
                label = f"{tool} {model} b{batch} x{plan['epochs']} epochs"
                result["runs"].append(run_process(label, train_args(tool, model, batch, plan["epochs"], 0, args.samples), tool, log))
        if FP16 in run_tools:
            model, batch = plan["configs"][0]
            on_cpu = machine["device"] == "cpu"
            epochs, samples = (1, FP16_CPU_SAMPLES) if on_cpu else (plan["epochs"], args.samples)
            label = f"{FP16} {model} b{batch} x{epochs} epochs" + (f" on {samples} samples (CPU)" if on_cpu else "")
            result["runs"].append(run_process(label, train_args(FP16, model, batch, epochs, 0, samples), FP16, log))
        if "cnnlab" in run_tools and plan.get("busy"):
            # Beside one CPU-bound process: cnnlab, Keras/TF and the PyTorch loop, each in its own subprocess.
            result["busy"] = _results_probe("busy machine: two-conv CNN b128 beside a CPU-bound process",
                                            "bench/busy_probe.py", plan["busy"], log)
        if "cnnlab" in run_tools and plan.get("apps"):
            # Keras's architectures at 224x224: cnnlab, Keras/TF and torchvision, each in its own subprocess.
            apps = run_process("predict img/s: MobileNetV2 and ResNet50 at 224x224 b32",
                               ["bench/apps_probe.py", *plan["apps"]], "cnnlab", log)
            result["apps"] = apps if "error" in apps else {k: apps[k] for k in ("results", "skipped", "size",
                                                                                  "batch_size")}
        if "cnnlab" in run_tools and plan.get("compile"):
            # torch.compile against eager, cnnlab and the bare loop, compile time in the first epoch.
            result["compile"] = _results_probe("torch.compile vs eager: LeNet-5 b32 and two-conv CNN b128",
                                               "bench/compile_probe.py", plan["compile"], log)
        if "cnnlab" in run_tools and plan.get("floor"):
            # torch's kernels alone, the leanest eager loop and cnnlab, for the report's "what bounds each target".
            result["floor"] = _results_probe("what bounds the targets: torch's kernels alone, the leanest eager loop, "
                                             "cnnlab", "bench/floor_probe.py", plan["floor"], log)
        if "cnnlab" in run_tools and plan["overhead"]:
            result.update(_probe("overhead", (["--quick"] if args.mode == "quick" else []) + sample_args, log))
        if plan["time90"]:
            split = os.path.join(tmp, "demo_split.npz")
            _probe("split", ["--out", split], log)
            for tool in TIME90_TOOLS:
                if tool in run_tools:
                    result["time_to_90"][tool] = run_process(
                        f"{tool} main job to 90%", ["bench/run_keras_api.py", "--tool", tool, "--task", "time90",
                                                    "--split-file", split, "--samples", str(args.samples)], tool, log)
        for seed in plan["seeds"]:
            for model, batch in plan["configs"]:
                for tool in (t for t in run_tools if t != FP16):
                    label = f"{tool} {model} b{batch} seed {seed}"
                    result["runs"].append(run_process(label, train_args(tool, model, batch, plan["epochs"], seed,
                                                                        args.samples), tool, log))
        if plan["scale"] and "cnnlab" in run_tools:
            result.update(_probe("scale", sample_args, log))
    result["bench_seconds"] = time.perf_counter() - started
    result["not_run"] = not_run(plan, run_tools, machine["device"])
    report.add_derived(result)
    paths = report.write_all(result, RESULTS, name)
    print(f"\n{report.markdown(result)}\n\nwrote {', '.join(str(p.relative_to(ROOT)) for p in paths)} "
          f"in {result['bench_seconds'] / 60:.1f} min")
    if args.update_readme:
        import update_readme

        update_readme.update(ROOT / "README.md", RESULTS / f"{name}.json")
        print("updated README.md's speed table")


def _tools(parser: argparse.ArgumentParser, only: str | None) -> tuple[str, ...]:
    """The tools to run, in the job's order; an unknown name stops the job before anything runs."""
    if not only:
        return TOOLS
    asked = [name.strip() for name in only.split(",") if name.strip()]
    unknown = [name for name in asked if name not in TOOLS]
    if unknown:
        parser.error(f"--only: unknown tool(s) {', '.join(unknown)}; choose from {', '.join(TOOLS)}")
    return tuple(t for t in TOOLS if t in asked)


def _results_probe(label: str, script: str, extra: list[str], log):
    """A probe script in its own process (cnnlab's environment): its ``results``, or ``{"error": ...}``."""
    out = run_process(label, [script, *extra], "cnnlab", log)
    return out if "error" in out else out["results"]


def _probe(probe: str, extra: list[str], log) -> dict:
    result = run_process(f"probe {probe}", ["bench/run_probes.py", probe, *extra], "cnnlab", log)
    if "error" in result:
        return {f"{probe}_error": result["error"]}
    return {k: v for k, v in result.items() if k not in ("probe", "threads", "process_seconds")}


def not_run(plan: dict, run_tools, device: str = "cpu") -> list[str]:
    """What the issue asks for that this run did not measure, in words for the README."""
    missing = []
    if plan.get("samples"):
        missing.append(f"the full 48k training set (this run trained on {plan['samples']} samples)")
    if ("cnn", 32) not in plan["configs"]:
        missing.append("two-conv CNN at batch 32 (full bench only)")
    if plan["epochs"] < 3:
        missing.append(f"epochs 2..n ({plan['epochs']} epoch per run, so s/epoch includes warm-up)")
    if not plan["seeds"]:
        missing.append("accuracy spread over 3 seeds (full bench only)")
    if not plan["time90"]:
        missing.append("main job time-to-90% (full bench only)")
    if not plan["scale"]:
        missing.append("scale curves (full bench only)")
    missing += [f"{tools.PEER_NAMES[t]} ({'full bench only' if t in plan.get('skip', ()) else 'excluded with --only'})"
                for t in TOOLS if t not in run_tools]
    if device == "cpu":
        missing.append("GPU runs (no GPU on this machine)")
    return missing


if __name__ == "__main__":
    main()
