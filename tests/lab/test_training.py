"""Training in the lab: one at a time, streamed events, a normal run folder, a server that stays responsive."""

from __future__ import annotations

import json
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from lab_server_fixtures import make_client, wait_until_done  # noqa: E402

SHORT = {"epochs": 2, "batch_size": 64, "limit": 300}


def _events(raw: str) -> list[tuple[str, dict]]:
    found = []
    for block in raw.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "event" in lines:
            found.append((lines["event"], json.loads(lines["data"])))
    return found


def test_short_digits_training_streams_events_and_writes_a_run_folder(tmp_path):
    with make_client(tmp_path, model="lenet5", data="digits") as c:
        started = c.post("/api/train", json={**SHORT, "name": "first"})
        assert started.status_code == 202 and started.json()["run"] == "first"
        second = c.post("/api/train", json=SHORT)
        assert second.status_code == 409 and "already running" in second.json()["error"]
        with c.stream("GET", "/api/train/events?until=end") as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            events = _events(r.read().decode())
        kinds = [k for k, _ in events]
        assert kinds[-1] == "status" and events[-1][1]["state"] == "finished"
        assert "batch" in kinds and kinds.count("epoch") == 2
        epoch = [d for k, d in events if k == "epoch"][-1]
        assert epoch["epoch"] == 2 and len(epoch["history"]["val_loss"]) == 2
        batch = [d for k, d in events if k == "batch"][0]
        assert {"loss", "accuracy"} <= set(batch["logs"]) and batch["batches"] > 0
        folder = tmp_path / "runs" / "first"
        assert {"model.cnnlab", "history.csv", "run.json", "report.html"} <= set(os.listdir(folder))
        record = json.loads((folder / "run.json").read_text())
        assert record["status"] == "finished" and record["config"]["source"] == "lab"
        assert record["results"]["epochs_run"] == 2
        status = c.get("/api/train/status").json()
        assert status["state"] == "finished" and status["test"]["accuracy"] > 0
        assert c.get("/api/info").json()["model"]["run"] == "first"  # the lab opened what it trained
        assert [r["id"] for r in c.get("/api/runs").json()["runs"]] == ["first"]


def test_short_epochs_still_stream_a_dense_per_batch_curve(tmp_path):
    """Batch events are throttled to a few a second, but each carries the points sampled since the last:
    epochs of well under a second still draw ~POINTS_PER_EPOCH points each, in order, one per step."""
    from cnnlab.lab.training import POINTS_PER_EPOCH

    with make_client(tmp_path, model="lenet5", data="digits") as c:
        c.post("/api/train", json={"epochs": 3, "batch_size": 8, "limit": 400}).raise_for_status()
        with c.stream("GET", "/api/train/events?until=end") as r:
            events = _events(r.read().decode())
    batches = [d for k, d in events if k == "batch"]
    steps = [p["step"] for d in batches for p in d["points"]]
    per_epoch = batches[0]["batches"]
    assert steps == sorted(set(steps)) and steps[-1] == 3 * per_epoch
    assert len(steps) >= 3 * min(per_epoch, POINTS_PER_EPOCH) * 0.9
    stride = max(1, per_epoch // POINTS_PER_EPOCH)
    assert len(steps) <= 3 * (per_epoch // stride + 1) + len(batches) < 3 * per_epoch  # sampled, not every batch
    assert all({"loss", "accuracy"} <= set(p["logs"]) for d in batches for p in d["points"])


def test_pause_resume_and_stop_keep_the_best_checkpoint(tmp_path):
    with make_client(tmp_path, model="lenet5", data="digits") as c:
        c.post("/api/train", json={"epochs": 50, "batch_size": 16, "limit": 400, "name": "long"})
        deadline = time.monotonic() + 60
        while c.get("/api/train/status").json()["history"].get("val_loss", []).__len__() < 1:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert c.post("/api/train/pause").json()["state"] == "paused"
        assert c.post("/api/train", json=SHORT).status_code == 409  # paused still holds the slot
        time.sleep(0.3)  # the batch in progress ends first
        batch = c.get("/api/train/status").json()["batch"]
        time.sleep(0.5)
        assert c.get("/api/train/status").json()["batch"] == batch  # nothing moves while paused
        assert c.post("/api/train/resume").json()["state"] == "running"
        assert c.post("/api/train/stop").json()["state"] == "stopping"
        status = wait_until_done(c)
        assert status["state"] == "stopped" and len(status["history"]["loss"]) < 50
        folder = tmp_path / "runs" / "long"
        assert (folder / "model.cnnlab").is_file()
        assert json.loads((folder / "run.json").read_text())["status"] == "stopped"
        assert c.post("/api/train", json={**SHORT, "epochs": 1}).status_code == 202  # the slot is free again
        assert wait_until_done(c)["state"] == "finished"


def test_training_the_current_model_further_with_augmentation_is_refused_cleanly(tmp_path):
    with make_client(tmp_path, model="lenet5", data="digits") as c:
        r = c.post("/api/train", json={"model": "current", "regularization": "l2"})
        assert r.status_code == 400 and "zoo models" in r.json()["error"]


def test_augmented_zoo_model_trains(tmp_path):
    with make_client(tmp_path, model="lenet5", data="digits") as c:
        assert c.post("/api/train", json={**SHORT, "epochs": 1, "augmentation": "shift",
                                          "regularization": "dropout"}).status_code == 202
        status = wait_until_done(c)
        assert status["state"] == "finished", status["error"]
        names = [layer["class_name"] for layer in c.get("/api/model").json()["layers"]]
        assert "RandomTranslation" in names and "Dropout" in names


LATENCY_LIMIT_S = 0.2  # the measure, on 2 cores


def _fresh_lab_server(tmp_path):
    """``cnnlab lab`` in a new process, as a user starts it; returns (process, base URL, token)."""
    import re
    import select
    import subprocess

    tmp_path.mkdir(parents=True, exist_ok=True)
    with open(tmp_path / "server.log", "w") as log:  # the server keeps its own copy of the descriptor
        process = subprocess.Popen([sys.executable, "-m", "cnnlab.cli.main", "lab", "--no-browser", "--port", "0",
                                    "--model", "lenet5", "--data", "digits", "--runs", str(tmp_path / "runs")],
                                   stdout=subprocess.PIPE, stderr=log, text=True, cwd=tmp_path)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if not select.select([process.stdout], [], [], 1.0)[0]:
            assert process.poll() is None, (tmp_path / "server.log").read_text()
            continue
        found = re.search(r"(http://\S+)/\?token=(\S+)", process.stdout.readline())
        if found:
            return process, found.group(1), found.group(2)
    process.kill()
    raise AssertionError("cnnlab lab printed no URL in 180 s: " + (tmp_path / "server.log").read_text())


def _latencies_during_first_training(tmp_path) -> list[float]:
    import httpx

    process, base, token = _fresh_lab_server(tmp_path)
    try:
        with httpx.Client(base_url=base, headers={"X-Cnnlab-Token": token}, timeout=60) as client:
            client.post("/api/train", json={"epochs": 3, "batch_size": 32, "limit": 600}).raise_for_status()
            timings, states = [], set()
            while True:
                start = time.perf_counter()
                status = client.get("/api/train/status").json()
                timings.append(time.perf_counter() - start)
                states.add(status["state"])
                if status["state"] in ("finished", "failed", "stopped"):
                    break
                if len(timings) % 10 == 0:
                    start = time.perf_counter()
                    assert client.get("/api/runs").status_code == 200
                    timings.append(time.perf_counter() - start)
                time.sleep(0.02)
        assert status["state"] == "finished", status["error"]
        assert "running" in states and len(timings) > 20
        return sorted(timings)
    finally:
        process.terminate()
        process.wait(30)
        process.stdout.close()


@pytest.mark.slow
def test_requests_answer_within_200_ms_during_the_first_training(tmp_path):
    """The issue's measure, from a user's view: a request during training answers in < 200 ms (on 2 cores).

    What it measures: a fresh ``cnnlab lab`` process (the CLI, real uvicorn and TCP, no warm-up training), its
    FIRST training (3 short epochs of lenet5 on digits, from the first import of TensorBoard and the graph trace
    to the report at the end), polled by a client in this process every ~20 ms: ``/api/train/status``, and
    ``/api/runs`` every tenth time. Those stalled once for 200-350 ms while full garbage collections walked
    every object torch and matplotlib had loaded (see ``cnnlab.lab.training.warm_up``), and every answer took
    ~40 ms more when the socket lacked TCP_NODELAY.

    Fair to a shared machine: the median and the 95th percentile must be under 200 ms; the slowest request
    too, but one stall may come from the machine, so a second fresh server is measured before failing: a
    stall of the lab itself comes back in every fresh process.
    """
    attempts = []
    for attempt in range(2):
        timings = _latencies_during_first_training(tmp_path / f"attempt{attempt}")
        n = len(timings)
        median, p95, slowest = timings[n // 2], timings[min(n - 1, int(n * 0.95))], timings[-1]
        over = sum(t >= LATENCY_LIMIT_S for t in timings)
        attempts.append(f"median {median * 1000:.0f} ms, 95th percentile {p95 * 1000:.0f} ms, max "
                        f"{slowest * 1000:.0f} ms ({over} of {n} requests over {LATENCY_LIMIT_S * 1000:.0f} ms)")
        print(f"latency during a fresh lab's first training: {attempts[-1]}")
        assert median < LATENCY_LIMIT_S and p95 < LATENCY_LIMIT_S, attempts[-1]
        if slowest < LATENCY_LIMIT_S:
            return
    raise AssertionError("a request during the first training took over 200 ms in two fresh servers: "
                         + "; ".join(attempts))


def test_lab_socket_sends_answers_without_waiting_for_acks():
    """asyncio sets TCP_NODELAY only on sockets made with IPPROTO_TCP; without it answers wait ~40 ms (Nagle)."""
    import asyncio
    import socket

    from cnnlab.cli.lab import bind

    async def check() -> int:
        found = asyncio.get_running_loop().create_future()

        def connected(reader, writer):
            found.set_result(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        sock = bind("127.0.0.1", 0)
        server = await asyncio.start_server(connected, sock=sock)
        async with server:
            _, writer = await asyncio.open_connection(*sock.getsockname())
            value = await asyncio.wait_for(found, 10)
            writer.close()
            return value

    assert asyncio.run(check()) != 0
