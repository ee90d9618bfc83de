"""get_file: Keras's paths and hash rules, atomic downloads, and safe extraction (file:// and a local HTTP server)."""

import hashlib
import http.server
import io
import os
import socket
import stat
import tarfile
import threading
import zipfile

import pytest

import cnnlab
from cnnlab.errors import ConfigError, DatasetNotFoundError, FileFormatError, UnsafeArchiveError
from cnnlab.utils import file_utils, get_file

CONTENT = b"cnnlab test payload\n" * 50


@pytest.fixture
def served(tmp_path):
    """A folder of source files and a function giving each one's file:// URL."""
    folder = tmp_path / "mirror"
    folder.mkdir()

    def put(name, data=CONTENT):
        (folder / name).write_bytes(data)
        return (folder / name).as_uri()

    return put


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache"


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# --- downloading and caching -------------------------------------------------------------------------------


def test_downloads_into_cache_dir_datasets_and_returns_a_str(served, cache):
    path = get_file("data.bin", served("data.bin"), cache_dir=cache)
    assert path == str(cache / "datasets" / "data.bin") and isinstance(path, str)
    assert open(path, "rb").read() == CONTENT
    assert leftovers(cache / "datasets") == []


def test_fname_defaults_to_the_last_part_of_the_url(served, cache):
    assert get_file(origin=served("weights.h5"), cache_dir=cache, cache_subdir="models") == str(
        cache / "models" / "weights.h5")


def test_default_cache_is_keras_home(served, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    assert get_file(origin=served("a.txt")) == str(tmp_path / "kh" / "datasets" / "a.txt")
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert get_file(origin=served("a.txt")) == str(tmp_path / "home" / ".keras" / "datasets" / "a.txt")


def test_absolute_cache_subdir_is_used_as_is(served, cache, tmp_path):
    assert get_file(origin=served("a.txt"), cache_dir=cache, cache_subdir=str(tmp_path / "abs")) == str(
        tmp_path / "abs" / "a.txt")


@pytest.mark.parametrize("kwargs", [
    {"file_hash": hashlib.sha256(CONTENT).hexdigest()},
    {"file_hash": hashlib.sha256(CONTENT).hexdigest().upper(), "hash_algorithm": "sha256"},
    {"file_hash": hashlib.md5(CONTENT).hexdigest()},  # auto: 32 digits is MD5
    {"md5_hash": hashlib.md5(CONTENT).hexdigest()},
])
def test_matching_hash_is_accepted(served, cache, kwargs):
    assert open(get_file("d.bin", served("d.bin"), cache_dir=cache, **kwargs), "rb").read() == CONTENT


def test_hash_mismatch_raises_and_leaves_no_file(served, cache):
    with pytest.raises(FileFormatError, match=r"does not match file_hash, so it was not kept: expected sha256 0{64}, "
                                              rf"got {hashlib.sha256(CONTENT).hexdigest()}"):
        get_file("d.bin", served("d.bin"), cache_dir=cache, file_hash="0" * 64)
    assert list((cache / "datasets").iterdir()) == []


def test_cached_file_is_reused_without_downloading(served, cache, tmp_path):
    url = served("d.bin")
    first = get_file("d.bin", url, cache_dir=cache, file_hash=hashlib.sha256(CONTENT).hexdigest())
    (tmp_path / "mirror" / "d.bin").unlink()
    assert get_file("d.bin", url, cache_dir=cache, file_hash=hashlib.sha256(CONTENT).hexdigest()) == first


def test_cached_file_with_wrong_hash_is_downloaded_again(served, cache):
    target = cache / "datasets" / "d.bin"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"stale")
    with pytest.warns(UserWarning, match="does not match its sha256 hash"):
        get_file("d.bin", served("d.bin"), cache_dir=cache, file_hash=hashlib.sha256(CONTENT).hexdigest())
    assert target.read_bytes() == CONTENT


def test_force_download_replaces_the_cached_file(served, cache):
    get_file("d.bin", served("d.bin", b"old"), cache_dir=cache)
    url = served("d.bin", b"new")
    assert open(get_file("d.bin", url, cache_dir=cache), "rb").read() == b"old"
    assert open(get_file("d.bin", url, cache_dir=cache, force_download=True), "rb").read() == b"new"


def test_downloads_from_a_local_http_server(tmp_path, cache, monkeypatch):
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "page.bin").write_bytes(CONTENT)
    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tmp_path / "www"), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("CNNLAB_OFFLINE", "0")
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/page.bin"
        path = get_file(origin=url, cache_dir=cache, file_hash=hashlib.sha256(CONTENT).hexdigest())
        assert open(path, "rb").read() == CONTENT
        with pytest.raises(DatasetNotFoundError, match="could not download .*missing.bin.*404"):
            get_file(origin=url.replace("page", "missing"), cache_dir=cache)
    finally:
        server.shutdown()
        server.server_close()
    assert leftovers(cache / "datasets") == []


def test_unreachable_server_is_a_clear_error(cache, monkeypatch):
    monkeypatch.setenv("CNNLAB_OFFLINE", "0")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again before the request: nothing listens there
    with pytest.raises(DatasetNotFoundError, match="could not download 'http://127.0.0.1:.*Check the URL"):
        get_file(origin=f"http://127.0.0.1:{port}/x.bin", cache_dir=cache)


def test_offline_refuses_network_urls(cache):
    with pytest.raises(DatasetNotFoundError, match=r"downloads are off \(CNNLAB_OFFLINE=1\).*Put the file at"):
        get_file(origin="https://example.invalid/x.zip", cache_dir=cache)


@pytest.mark.parametrize("kwargs, message", [
    ({"origin": None}, "give the URL to download as origin="),
    ({"fname": "sub/x.bin"}, "fname is a file name, not a path"),
    ({"fname": ".."}, "fname is a file name, not a path"),
    ({"hash_algorithm": "sha1", "file_hash": "0" * 40}, "hash_algorithm must be 'auto', 'sha256' or 'md5'"),
    ({"file_hash": "0" * 40}, "file_hash must be the 32 hex digits of the file's md5"),
    ({"file_hash": "z" * 64}, "file_hash must be the 64 hex digits of the file's sha256"),
    ({"extract": True, "archive_format": "rar"}, "archive_format must be 'auto', 'tar', 'zip'"),
])
def test_bad_arguments_are_config_errors(served, cache, kwargs, message):
    kwargs = {"origin": served("x.bin"), "cache_dir": cache, **kwargs}
    with pytest.raises(ConfigError, match=message):
        get_file(**kwargs)


def test_get_file_is_a_keras_utils_name():
    assert cnnlab.keras.utils.get_file is get_file and "get_file" in cnnlab.utils.__all__


# --- extraction --------------------------------------------------------------------------------------------


def make_tar(path, members, mode="w:gz"):
    """members: (name, bytes) for files, or (name, dict of TarInfo fields) for anything else."""
    with tarfile.open(path, mode) as tar:
        for name, content in members:
            info = tarfile.TarInfo(name)
            if isinstance(content, dict):
                for key, value in content.items():
                    setattr(info, key, value)
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return path


def make_zip(path, members):
    """members: (name, bytes) or (ZipInfo, bytes)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in members:
            zf.writestr(name, content)
    return path


GOOD = [("flowers/roses/a.txt", b"rose"), ("flowers/tulips/b.txt", b"tulip")]


@pytest.mark.parametrize("fname, archive_name, folder_name", [
    (None, "flowers.tgz_archive", "flowers.tgz"),  # Keras names the folder after the URL's file
    ("flowers", "flowers_archive", "flowers"),
    ("flowers.tar.gz", "flowers.tar.gz", "flowers_extracted"),
])
def test_tar_is_extracted_where_keras_puts_it(served, cache, tmp_path, fname, archive_name, folder_name):
    url = served("flowers.tgz", make_tar(tmp_path / "f.tgz", GOOD).read_bytes())
    path = get_file(fname, url, cache_dir=cache, extract=True)
    assert path == str(cache / "datasets" / folder_name)
    assert (cache / "datasets" / archive_name).is_file()
    assert open(os.path.join(path, "flowers", "tulips", "b.txt"), "rb").read() == b"tulip"
    assert leftovers(cache / "datasets") == []


def test_zip_is_extracted(served, cache, tmp_path):
    url = served("flowers.zip", make_zip(tmp_path / "f.zip", GOOD).read_bytes())
    path = get_file("flowers", url, cache_dir=cache, extract=True)
    assert open(os.path.join(path, "flowers", "roses", "a.txt"), "rb").read() == b"rose"


def test_untar_is_extract_with_tar_format(served, cache, tmp_path):
    url = served("f.tar", make_tar(tmp_path / "f.tar", GOOD, mode="w").read_bytes())
    path = get_file("flowers", url, cache_dir=cache, untar=True)
    assert os.path.isfile(os.path.join(path, "flowers", "roses", "a.txt"))


def test_new_download_replaces_the_extracted_folder(served, cache, tmp_path):
    get_file("fl", served("f.tgz", make_tar(tmp_path / "1.tgz", GOOD).read_bytes()), cache_dir=cache, extract=True)
    url = served("f.tgz", make_tar(tmp_path / "2.tgz", [("new.txt", b"n")]).read_bytes())
    path = get_file("fl", url, cache_dir=cache, extract=True, force_download=True)
    assert sorted(os.listdir(path)) == ["new.txt"]
    assert leftovers(cache / "datasets") == []


def test_file_that_is_no_archive_warns_as_keras_does(served, cache):
    with pytest.warns(UserWarning, match="could not extract"):
        path = get_file("notes", served("notes.txt"), cache_dir=cache, extract=True)
    assert path == str(cache / "datasets" / "notes")


def assert_refused(url, cache, *patterns):
    with pytest.raises(UnsafeArchiveError) as info:
        get_file("evil", url, cache_dir=cache, extract=True)
    message = str(info.value)
    assert "evil_archive" in message and "Nothing was extracted" in message
    for pattern in patterns:
        assert pattern in message
    datadir = cache / "datasets"
    assert sorted(p.name for p in datadir.iterdir()) == ["evil_archive"]  # no folder, no temporary folder
    assert not (cache / "escaped.txt").exists()


@pytest.mark.parametrize("member, patterns", [
    (("../../escaped.txt", b"x"), ["'../../escaped.txt'", "path traversal"]),
    (("ok/../../escaped.txt", b"x"), ["path traversal"]),
    (("/tmp/escaped.txt", b"x"), ["absolute path"]),
    (("link", {"type": tarfile.SYMTYPE, "linkname": "/etc/passwd"}), ["'link'", "link to '/etc/passwd'"]),
    (("hard", {"type": tarfile.LNKTYPE, "linkname": "flowers/roses/a.txt"}), ["no symbolic or hard links"]),
    (("dev", {"type": tarfile.CHRTYPE, "devmajor": 1, "devminor": 3}), ["'dev'", "regular files and folders"]),
    (("fifo", {"type": tarfile.FIFOTYPE}), ["regular files and folders"]),
    (("flowers/roses/a.txt", b"again"), ["appears twice"]),
])
def test_hostile_tar_members_are_refused(served, cache, tmp_path, member, patterns):
    url = served("evil.tgz", make_tar(tmp_path / "e.tgz", GOOD + [member]).read_bytes())
    assert_refused(url, cache, *patterns)


@pytest.mark.parametrize("name, patterns", [
    ("../../escaped.txt", ["path traversal"]),
    ("/abs.txt", ["absolute path"]),
    ("..\\..\\escaped.txt", ["path traversal"]),
])
def test_hostile_zip_names_are_refused(served, cache, tmp_path, name, patterns):
    url = served("evil.zip", make_zip(tmp_path / "e.zip", GOOD + [(name, b"x")]).read_bytes())
    assert_refused(url, cache, *patterns)


def test_zip_symlink_is_refused(served, cache, tmp_path):
    link = zipfile.ZipInfo("link")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    url = served("evil.zip", make_zip(tmp_path / "e.zip", GOOD + [(link, "/etc/passwd")]).read_bytes())
    assert_refused(url, cache, "'link' is a symbolic link")


@pytest.mark.parametrize("maker", [make_tar, make_zip])
def test_archive_bomb_is_refused_before_writing(served, cache, tmp_path, maker):
    bomb = maker(tmp_path / "bomb", [("zeros.bin", bytes(20 << 20))])
    assert bomb.stat().st_size < 100_000  # 20 MiB of zeros compress a thousandfold
    assert_refused(served("bomb", bomb.read_bytes()), cache, "'zeros.bin'", "archive bombs", "100x")


def test_too_many_members_is_refused(served, cache, tmp_path, monkeypatch):
    monkeypatch.setattr(file_utils, "MAX_MEMBERS", 3)
    members = [(f"f{i}.txt", b"x") for i in range(4)]
    assert_refused(served("many.zip", make_zip(tmp_path / "m.zip", members).read_bytes()), cache,
                   "'f3.txt' is beyond the limit of 3 members")


def test_damaged_archive_is_a_file_format_error(served, cache, tmp_path):
    data = make_tar(tmp_path / "d.tgz", GOOD + [("big.bin", os.urandom(50_000))]).read_bytes()
    with pytest.raises(FileFormatError, match="cannot extract .*damaged"):
        get_file("dmg", served("d.tgz", data[: len(data) - 20_000]), cache_dir=cache, extract=True)
    assert sorted(p.name for p in (cache / "datasets").iterdir()) == ["dmg_archive"]


def test_tar_made_from_dot_with_repeated_folder_entries_is_extracted(served, cache, tmp_path):
    members = [(".", {"type": tarfile.DIRTYPE}), ("./d", {"type": tarfile.DIRTYPE}), ("./d", {"type": tarfile.DIRTYPE}),
               ("./d/a.txt", b"a")]
    path = get_file("dot", served("dot.tgz", make_tar(tmp_path / "dot.tgz", members).read_bytes()), cache_dir=cache,
                    extract=True)
    assert open(os.path.join(path, "d", "a.txt"), "rb").read() == b"a"
