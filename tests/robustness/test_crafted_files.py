"""Files that cannot run code: crafted model files are refused with no side effect, with bounded memory."""

from __future__ import annotations

import json
import os
import pickle
import struct
import time
import tracemalloc
import zipfile

import pytest
from robust_record import record

import cnnlab
from cnnlab import layers
from cnnlab.errors import CnnlabError, FileFormatError


class _Canary:
    """Unpickling this creates the canary file: proof that code ran."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.fixture
def saved(tmp_path):
    model = cnnlab.Sequential([layers.Input((4,)), layers.Dense(2)])
    path = tmp_path / "m.cnnlab"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _zip(tmp_path, members: dict, name="crafted.cnnlab", symlink: str | None = None) -> str:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as zf:
        for member, data in members.items():
            zf.writestr(member, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = 0o120777 << 16  # a Unix symlink member pointing at /etc/passwd
            zf.writestr(info, "/etc/passwd")
    return str(path)


def _config_with(saved, class_name, config=None):
    entry = json.loads(saved["config.json"])
    entry["config"]["layers"][-1] = {"class_name": class_name, "config": config or {"command": "touch canary"}}
    return {**saved, "config.json": json.dumps(entry)}


def _refused(path, canary):
    start = time.perf_counter()
    tracemalloc.start()
    try:
        with pytest.raises(FileFormatError) as info:
            cnnlab.load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert not os.path.exists(canary), "loading the file ran code"
    assert peak < 64 << 20, f"refusing the file took {peak / 2**20:.0f} MiB"
    assert time.perf_counter() - start < 5
    assert os.path.basename(path) in str(info.value)
    return str(info.value), peak


CRAFTED = [
    ("pickle as the weights member", lambda s, c: {**s, "model.safetensors": pickle.dumps(_Canary(c))}),
    ("pickle as config.json", lambda s, c: {**s, "config.json": pickle.dumps(_Canary(c))}),
    ("pickle as an extra data.pkl member", lambda s, c: {**s, "data.pkl": pickle.dumps(_Canary(c))}),
    ("member named ../escape.json", lambda s, c: {**s, "../escape.json": b"{}"}),
    ("member with an absolute path", lambda s, c: {**s, "/tmp/abs.json": b"{}"}),
    ("config naming os.system", lambda s, c: _config_with(s, "os.system")),
    ("config naming builtins.eval", lambda s, c: _config_with(s, "builtins.eval")),
    ("config naming subprocess.Popen", lambda s, c: _config_with(s, "subprocess.Popen")),
    ("config naming a module path", lambda s, c: _config_with(s, "cnnlab.io.native.save_model")),
    ("config naming __import__", lambda s, c: _config_with(s, "__import__")),
    ("config naming a Lambda layer", lambda s, c: _config_with(s, "Lambda", {"function": "os.system"})),
    ("Dense with NaN units", lambda s, c: _config_with(s, "Dense", {"units": float("nan")})),
    ("Dense with 10**12 units", lambda s, c: _config_with(s, "Dense", {"units": 10**12})),
    ("Dense with units as a dict", lambda s, c: _config_with(s, "Dense", {"units": {"__class__": "os.system"}})),
    ("safetensors header declaring more data than present",
     lambda s, c: {**s, "model.safetensors": _lying_safetensors()}),
    ("safetensors header length of 2**60", lambda s, c: {**s, "model.safetensors": struct.pack("<Q", 2**60)}),
    ("metadata that is not a cnnlab model", lambda s, c: {**s, "metadata.json": b'{"format": "evil"}'}),
]


def _lying_safetensors() -> bytes:
    header = json.dumps({"0000:w": {"dtype": "F32", "shape": [100000, 100000], "data_offsets": [0, 4 * 10**10]}})
    header = header.encode() + b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + b"\0" * 16


@pytest.mark.parametrize("mistake, make", CRAFTED, ids=[row[0] for row in CRAFTED])
def test_crafted_model_file_is_refused_without_side_effects(tmp_path, saved, mistake, make):
    canary = str(tmp_path / "canary")
    message, peak = _refused(_zip(tmp_path, make(saved, canary)), canary)
    record("crafted_file", file=mistake, error="FileFormatError", peak_mib=round(peak / 2**20, 2))


def test_symlink_member_is_refused(tmp_path, saved):
    _refused(_zip(tmp_path, saved, symlink="link.json"), str(tmp_path / "canary"))
    record("crafted_file", file="symlink member", error="FileFormatError", peak_mib=None)


def _bomb_zip(tmp_path, declared_lie: bool) -> str:
    """A config.json that inflates to 512 MiB of spaces (about 0.5 MB compressed)."""
    path = tmp_path / "bomb.cnnlab"
    chunk = b" " * (1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("config.json", "w", force_zip64=True) as fh:
            for _ in range(512 if not declared_lie else 8):
                fh.write(chunk)
    if declared_lie:  # rewrite the central directory's size fields to claim 16 GiB
        data = bytearray(path.read_bytes())
        cd = data.rfind(b"PK\x01\x02")
        data[cd + 24:cd + 28] = struct.pack("<I", 0xFFFFFFFF)
        path.write_bytes(bytes(data))
    return str(path)


@pytest.mark.parametrize("lie", [False, True], ids=["expands to 512 MiB", "declares a huge size"])
def test_zip_bomb_fails_fast_with_bounded_memory(tmp_path, lie):
    path = _bomb_zip(tmp_path, lie)
    start = time.perf_counter()  # after building the bomb: only the refusal is timed
    tracemalloc.start()
    try:
        with pytest.raises(CnnlabError) as info:
            cnnlab.load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    seconds = time.perf_counter() - start
    assert "bomb.cnnlab" in str(info.value)
    assert seconds < 5 and peak < 64 << 20, (seconds, peak)
    record("crafted_file", file=f"zip bomb ({'declared size' if lie else '512 MiB expansion'})",
           error=type(info.value).__name__, peak_mib=round(peak / 2**20, 1))


def test_config_asking_for_more_weights_than_the_file_holds_is_refused_before_allocating(tmp_path):
    path = tmp_path / "m.cnnlab"
    cnnlab.Sequential([layers.Dense(4, input_shape=(3,))]).save(path)
    with zipfile.ZipFile(path) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    config = json.loads(members["config.json"])
    config["config"]["layers"][0]["config"]["units"] = 10**9  # 12 GB of kernel from a 2 KB file
    members["config.json"] = json.dumps(config).encode()
    crafted = tmp_path / "crafted.cnnlab"
    with zipfile.ZipFile(crafted, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(FileFormatError, match=r"crafted\.cnnlab.*layer 'dense'.*\(3, 1000000000\).*more than the weights"):
        cnnlab.models.load_model(crafted)
    record("crafted_file", file="config asking for a 12 GB kernel", error="FileFormatError", peak_mib=None)
