"""The lab refuses what a local server must refuse: no token, foreign Host/Origin, big or bomb uploads, paths out."""

from __future__ import annotations

import io
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from lab_server_fixtures import BASE, TOKEN, make_client  # noqa: E402

from cnnlab.lab import security  # noqa: E402


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with make_client(tmp_path_factory.mktemp("lab"), token_header=False, model="lenet5", data="digits") as c:
        yield c


AUTH = {"X-Cnnlab-Token": TOKEN}
PATHS = ["/", "/api/info", "/api/model", "/api/train/status", "/api/train/events?until=end", "/api/images/0.png",
         "/static/index.html", "/api/nothing-here"]


@pytest.mark.parametrize("path", PATHS)
def test_no_token_is_403(client, path):
    r = client.get(path)
    assert r.status_code == 403 and "token" in r.json()["error"]


def test_a_browser_refused_gets_a_readable_html_page_and_the_api_stays_json(client):
    browser = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    for headers in (browser, {**browser, "X-Cnnlab-Token": "nope"}):
        r = client.get("/", headers=headers)
        assert r.status_code == 403 and r.headers["content-type"].startswith("text/html")
        assert "403: access refused" in r.text and "cnnlab lab" in r.text and "?token=" in r.text
        assert "<script" not in r.text and TOKEN not in r.text
    r = client.get("/", headers={**browser, "Host": "evil.example:8765"})
    assert r.status_code == 403 and "evil.example" in r.text
    r = client.get("/", headers={**browser, "Host": "<b>x</b>"})
    assert "<b>x</b>" not in r.text  # what the request said is escaped
    r = client.get("/api/info", headers={"Accept": "application/json"})
    assert r.status_code == 403 and r.json()["type"] == "Forbidden"


@pytest.mark.parametrize("path", PATHS)
def test_wrong_token_is_403(client, path):
    sep = "&" if "?" in path else "?"
    assert client.get(path, headers={"X-Cnnlab-Token": TOKEN + "x"}).status_code == 403
    assert client.get(f"{path}{sep}token=nope").status_code == 403
    assert client.get(path, headers={"Cookie": f"{security.cookie_name(0)}=nope"}).status_code == 403


def test_post_without_token_is_403_and_starts_nothing(client):
    assert client.post("/api/train", json={"epochs": 1}).status_code == 403
    assert client.app.state.trainer.status["state"] == "idle"


def test_token_in_header_query_or_cookie_is_accepted(client):
    assert client.get("/api/info", headers=AUTH).status_code == 200
    assert client.get(f"/api/info?token={TOKEN}").status_code == 200
    assert client.get("/api/info", headers={"Cookie": f"{security.cookie_name(0)}={TOKEN}"}).status_code == 200


def test_opening_the_page_with_the_token_sets_a_strict_cookie(client):
    r = client.get(f"/?token={TOKEN}")
    client.cookies.clear()  # later tests must not ride on it
    assert r.status_code == 200
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{security.cookie_name(0)}={TOKEN}") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
    assert "set-cookie" not in client.get("/api/info", headers=AUTH).headers  # only the page sets it


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8765", "127.0.0.1.evil.example", "10.0.0.1:8765", ""])
def test_foreign_host_is_refused(client, host):
    r = client.get("/api/info", headers={**AUTH, "Host": host})
    assert r.status_code == 403 and "Host" in r.json()["error"]


@pytest.mark.parametrize("host", ["localhost:8765", "127.0.0.1", "[::1]:8765"])
def test_local_hosts_are_accepted(client, host):
    assert client.get("/api/info", headers={**AUTH, "Host": host}).status_code == 200


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:9999", "https://127.0.0.1:8765",
                                    "http://localhost:8765"])
def test_foreign_origin_is_refused(client, origin):
    r = client.post("/api/train", json={"epochs": 1}, headers={**AUTH, "Origin": origin})
    assert r.status_code == 403 and "Origin" in r.json()["error"]
    assert client.get("/api/info", headers={**AUTH, "Origin": origin}).status_code == 403


def test_own_origin_is_accepted(client):
    assert client.get("/api/info", headers={**AUTH, "Origin": BASE}).status_code == 200


def test_bound_host_is_accepted_when_given(tmp_path):
    from starlette.testclient import TestClient

    from cnnlab.lab.server import create_app
    from cnnlab.lab.sources import Source

    app = create_app(Source(runs_dir=str(tmp_path)), token=TOKEN, allowed_hosts=["192.168.1.5", "0.0.0.0"])
    with TestClient(app, base_url="http://192.168.1.5:8765", headers=AUTH) as c:
        assert c.get("/api/info").status_code == 200
        assert c.get("/api/info", headers={"Host": "0.0.0.0:8765"}).status_code == 403


def _png(size=(8, 8)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", size).save(buffer, format="PNG")
    return buffer.getvalue()


def test_oversize_upload_is_413_by_content_length(client):
    big = b"\0" * (security.MAX_UPLOAD_BYTES + 1)
    r = client.post("/api/inputs", content=big, headers={**AUTH, "Content-Type": "image/png"})
    assert r.status_code == 413 and "MB" in r.json()["error"]


def test_oversize_upload_without_content_length_is_413_while_streaming(client):
    def chunks():
        for _ in range(6):
            yield b"\0" * (1024 * 1024)

    r = client.post("/api/inputs", content=chunks(), headers={**AUTH, "Content-Type": "image/png"})
    assert r.status_code == 413


def test_decompression_bomb_is_refused_before_decoding(client):
    bomb = _png((5000, 5000))  # 25 M pixels of zeros: a small file, a big image
    assert len(bomb) < security.MAX_UPLOAD_BYTES
    r = client.post("/api/inputs", content=bomb, headers={**AUTH, "Content-Type": "image/png"})
    assert r.status_code == 415 and "bomb" in r.json()["error"]


def test_decode_image_turns_pillows_bomb_warning_into_a_refusal():
    from PIL import Image

    assert security.decode_image(_png((100, 100)), max_pixels=10**9).size == (100, 100)
    limit = Image.MAX_IMAGE_PIXELS
    try:
        Image.MAX_IMAGE_PIXELS = 5000  # above this Pillow only warns; the lab refuses
        with pytest.raises(security.BadImage, match="bomb"):
            security.decode_image(_png((100, 100)), max_pixels=10**9)
    finally:
        Image.MAX_IMAGE_PIXELS = limit


@pytest.mark.parametrize("body,kind", [(b"not an image", "image/png"), (b"", "image/png"), (_png(), "text/html"),
                                       (_png(), "multipart/form-data; boundary=x")])
def test_non_images_are_415(client, body, kind):
    r = client.post("/api/inputs", content=body, headers={**AUTH, "Content-Type": kind})
    assert r.status_code == 415, r.text


def test_pickle_and_code_files_cannot_be_uploaded(client):
    import pickle

    r = client.post("/api/inputs", content=pickle.dumps({"a": 1}), headers={**AUTH, "Content-Type": "image/png"})
    assert r.status_code == 415


@pytest.mark.parametrize("run", ["../", "../etc", "a/../../x", "/etc/passwd", "~root", "..\\x"])
def test_paths_out_of_the_runs_folder_are_refused(client, run):
    assert client.post("/api/model/select", json={"run": run}, headers=AUTH).status_code == 403
    assert client.get(f"/api/compare?runs={run}", headers=AUTH).status_code == 403


def test_symlink_leading_out_is_not_listed_nor_opened(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "run.json").write_text('{"status": "finished", "config": {}}')
    runs = tmp_path / "runs"
    runs.mkdir()
    os.symlink(outside, runs / "escape")
    with make_client(tmp_path) as c:
        assert c.get("/api/runs").json()["runs"] == []
        assert c.get("/api/compare?runs=escape").status_code == 403
        assert c.post("/api/model/select", json={"run": "escape"}).status_code == 403


def test_confine_keeps_paths_inside(tmp_path):
    (tmp_path / "a").mkdir()
    assert security.confine(str(tmp_path), "a") == os.path.realpath(tmp_path / "a")
    for bad in ("..", "../x", "/abs", "", "a\0b", None):
        with pytest.raises(security.Forbidden):
            security.confine(str(tmp_path), bad)


def test_the_lab_opens_no_pickle_or_code_file(tmp_path):
    from cnnlab.errors import CnnlabError
    from cnnlab.lab.sources import Source, load_model_file

    for name in ("model.pkl", "model.pt", "build.py"):
        (tmp_path / name).write_bytes(b"x")
        with pytest.raises(CnnlabError):
            Source.from_path(str(tmp_path / name))
        with pytest.raises(CnnlabError):
            load_model_file(str(tmp_path / name))


def test_training_data_cannot_name_a_path(client):
    r = client.post("/api/train", json={"data": "/etc", "epochs": 1}, headers=AUTH)
    assert r.status_code == 400 and "paths" in r.json()["error"]


def test_websocket_is_closed(client):
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/ws") as ws:
        ws.receive_text()
