"""The data step (lab/lab/data/store.py) against a real HTTP server on 127.0.0.1: downloads are checked
before they are kept, mirrors are used first and without network, and a data set that cannot be had
is refused with a message naming every place that was looked in."""

from __future__ import annotations

import hashlib
import http.server
import json
import re
import threading
from functools import partial
from pathlib import Path

import pytest

from lab.data import store
from lab.data.store import DataFile, Dataset, DataStore, DataUnavailable, DocumentSelection, Place


class Server:
    """Serves `root` over HTTP on 127.0.0.1 and records the paths asked for."""

    def __init__(self, root: Path):
        self.root = root
        self.requests: list[str] = []
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                super().do_GET()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "served"
    root.mkdir()
    s = Server(root)
    yield s
    s.stop()


def pinned(name: str, data: bytes, url: str | None) -> DataFile:
    return DataFile(name, len(data), hashlib.sha256(data).hexdigest(), url)


TRAIN = b'{"fname": "train_1", "dialogue": "#Person1#: Hi.", "summary": "A greeting."}\n'
DEV = b'{"fname": "dev_1", "dialogue": "#Person1#: Bye.", "summary": "A farewell."}\n'


def serve_dialogs(server: Server, train: bytes = TRAIN) -> Dataset:
    """An upstream-like layout (other folder names than the data set's) and the data set pinning it."""
    (server.root / "upstream" / "data").mkdir(parents=True)
    (server.root / "upstream/data/train.jsonl").write_bytes(train)
    (server.root / "upstream/data/dev.jsonl").write_bytes(DEV)
    files = (
        pinned("dialogs.train.jsonl", TRAIN, f"{server.url}/upstream/data/train.jsonl"),
        pinned("dialogs.dev.jsonl", DEV, f"{server.url}/upstream/data/dev.jsonl"),
    )
    return Dataset("dialogs", "Test dialogues", "CC0", files, None, None)


def make_store(tmp_path, ds: Dataset, mirrors=(), **kw) -> DataStore:
    return DataStore({ds.name: ds}, list(mirrors), Place(tmp_path / "cache", "the test cache"), **kw)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


def test_download_is_checked_then_kept_and_later_served_from_the_cache(tmp_path, server):
    ds = serve_dialogs(server)
    s = make_store(tmp_path, ds)
    folder = s.dataset_dir("dialogs")
    assert folder == tmp_path / "cache" / "dialogs"
    assert (folder / "dialogs.train.jsonl").read_bytes() == TRAIN
    assert (folder / "dialogs.dev.jsonl").read_bytes() == DEV
    assert sorted(server.requests) == ["/upstream/data/dev.jsonl", "/upstream/data/train.jsonl"]
    assert leftovers(folder) == ["dialogs.dev.jsonl", "dialogs.train.jsonl"]  # no partial files
    server.stop()  # the cache now serves without the network
    assert make_store(tmp_path, ds).dataset_dir("dialogs") == folder


def test_a_wrong_hash_is_refused_and_nothing_of_it_is_kept(tmp_path, server):
    tampered = TRAIN.replace(b"Hi.", b"Yo.")  # same size, other bytes
    ds = serve_dialogs(server, train=tampered)
    with pytest.raises(DataUnavailable) as e:
        make_store(tmp_path, ds).dataset_dir("dialogs")
    message = str(e.value)
    assert f"{server.url}/upstream/data/train.jsonl" in message
    assert hashlib.sha256(tampered).hexdigest() in message and "refused" in message
    assert "dialogs.train.jsonl" not in leftovers(tmp_path / "cache")
    assert not [n for n in leftovers(tmp_path / "cache") if n.endswith(".part")]


def test_a_download_longer_than_pinned_stops_at_the_pinned_size(tmp_path, server):
    ds = serve_dialogs(server, train=TRAIN + b"x" * (5 << 20))
    with pytest.raises(DataUnavailable, match="more than the pinned"):
        make_store(tmp_path, ds).dataset_dir("dialogs")
    assert "dialogs.train.jsonl" not in leftovers(tmp_path / "cache")
    assert not [n for n in leftovers(tmp_path / "cache") if n.endswith(".part")]


def test_a_damaged_cache_file_is_replaced_by_a_checked_download(tmp_path, server):
    ds = serve_dialogs(server)
    cached = tmp_path / "cache" / "dialogs" / "dialogs.train.jsonl"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(TRAIN[:-5])  # truncated
    assert make_store(tmp_path, ds).dataset_dir("dialogs") == cached.parent
    assert cached.read_bytes() == TRAIN


def test_the_mirror_is_used_first_without_any_request(tmp_path, server):
    ds = serve_dialogs(server)
    mirror = tmp_path / "mirror"
    (mirror / "dialogs").mkdir(parents=True)
    (mirror / "dialogs/dialogs.train.jsonl").write_bytes(TRAIN)
    (mirror / "dialogs/dialogs.dev.jsonl").write_bytes(DEV)
    s = make_store(tmp_path, ds, mirrors=[Place(mirror, "the test mirror")])
    assert s.dataset_dir("dialogs") == mirror / "dialogs"
    assert server.requests == [] and not (tmp_path / "cache").exists()


def test_a_mirror_holding_other_bytes_is_passed_over(tmp_path, server):
    ds = serve_dialogs(server)
    mirror = tmp_path / "mirror"
    (mirror / "dialogs").mkdir(parents=True)
    (mirror / "dialogs/dialogs.train.jsonl").write_bytes(TRAIN.replace(b"Hi.", b"Yo."))
    (mirror / "dialogs/dialogs.dev.jsonl").write_bytes(DEV)
    s = make_store(tmp_path, ds, mirrors=[Place(mirror, "the test mirror")])
    assert s.dataset_dir("dialogs") == tmp_path / "cache" / "dialogs"
    assert (mirror / "dialogs/dialogs.train.jsonl").read_bytes() != TRAIN  # a mirror is never written


def test_missing_data_names_every_place_it_looked_in(tmp_path, server):
    ds = serve_dialogs(server)
    (server.root / "upstream/data/train.jsonl").unlink()  # upstream answers 404
    mirror = tmp_path / "mirror"
    (mirror / "dialogs").mkdir(parents=True)
    (mirror / "dialogs/dialogs.dev.jsonl").write_bytes(DEV)
    s = make_store(
        tmp_path, ds, mirrors=[Place(tmp_path / "nowhere", "mirror one"), Place(mirror, "mirror two")]
    )
    with pytest.raises(DataUnavailable) as e:
        s.dataset_dir("dialogs")
    lines = str(e.value).splitlines()
    assert (
        lines[0] == 'The data set "dialogs" (Test dialogues) is not available. Looked for it, in this order:'
    )
    assert lines[1] == f"  1. {tmp_path / 'nowhere' / 'dialogs'} (mirror one): no such folder"
    assert lines[2] == f"  2. {mirror / 'dialogs'} (mirror two): dialogs.train.jsonl missing"
    assert lines[3] == f"  3. {tmp_path / 'cache' / 'dialogs'} (the test cache): no such folder"
    assert lines[4].startswith(f"  4. download into {tmp_path / 'cache' / 'dialogs'}: ")
    assert f"{server.url}/upstream/data/train.jsonl: HTTP 404" in lines[4]
    assert lines[5].startswith("Fix: run `lab/.venv/bin/python -m lab.data fetch dialogs`")
    assert isinstance(e.value, FileNotFoundError)  # callers that handled a missing file still do


def test_offline_and_undownloadable_sets_say_so_without_a_request(tmp_path, server):
    ds = serve_dialogs(server)
    with pytest.raises(DataUnavailable, match=r"download: skipped \(LAB_DATA_OFFLINE=1\)"):
        make_store(tmp_path, ds, offline=True).dataset_dir("dialogs")
    local = Dataset("emails", "Local set", "theirs", ds.files, None, "an evaluation-only set")
    with pytest.raises(DataUnavailable, match="download: none, an evaluation-only set"):
        make_store(tmp_path, local).dataset_dir("emails")
    assert server.requests == []


def test_documents_are_cut_from_the_upstream_files_then_checked(tmp_path, server):
    ids = b"doc.a\ndoc.a\ndoc.b\ndoc.c\ndoc.c\n"
    src = b"a one\na two\nb one\nc one\nc two\n"
    (server.root / "DOCUMENT_IDS.tsv").write_bytes(ids)
    (server.root / "src.txt").write_bytes(src)
    kept_ids, kept_src = b"doc.a\ndoc.a\ndoc.c\ndoc.c\n", b"a one\na two\nc one\nc two\n"
    ds = Dataset(
        "news",
        "Test news",
        "CC0",
        (
            pinned("src.txt", kept_src, f"{server.url}/src.txt"),
            pinned("DOCUMENT_IDS.tsv", kept_ids, f"{server.url}/DOCUMENT_IDS.tsv"),
        ),
        DocumentSelection(f"{server.url}/DOCUMENT_IDS.tsv", frozenset({"doc.a", "doc.c"})),
        None,
    )
    folder = make_store(tmp_path, ds).dataset_dir("news")
    assert (folder / "src.txt").read_bytes() == kept_src
    assert (folder / "DOCUMENT_IDS.tsv").read_bytes() == kept_ids
    # upstream with a line more than its id file: refused, not cut wrongly
    (server.root / "src.txt").write_bytes(src + b"extra\n")
    with pytest.raises(DataUnavailable, match="6 lines, but the document id file has 5"):
        make_store(tmp_path / "again", ds).dataset_dir("news")


def test_the_manifest_pins_every_file_the_lab_reads_with_its_licence():
    manifest = store.load_manifest()
    raw = json.loads(store.MANIFEST_PATH.read_text())["datasets"]
    expected = {"dialogsum", "synthetic-persona-chat", "ntrex", "cocoa-mt", "paradetox", "xdailydialog"}
    assert expected | {"real-emails"} == set(manifest)
    for name, ds in manifest.items():
        assert ds.licence and raw[name]["used_by"]
        for f in ds.files:
            assert len(f.sha256) == 64 and f.bytes > 0
        if name in expected:  # public: each file at a fixed upstream commit
            assert raw[name]["checked_upstream"]
            for f in ds.files:
                assert f.url and re.match(
                    r"https://raw\.githubusercontent\.com/[\w.-]+/[\w.-]+/[0-9a-f]{40}/", f.url
                )
    assert manifest["real-emails"].not_downloadable and manifest["real-emails"].files[0].url is None
    assert len(manifest["cocoa-mt"].files) == 30 and len(manifest["ntrex"].selection.keep) == 82


@pytest.mark.skipif(not store.WORKSPACE_MIRROR.is_dir(), reason="no ../shared/data beside this checkout")
def test_the_workspace_mirror_holds_exactly_the_pinned_files(monkeypatch, tmp_path):
    monkeypatch.delenv("LAB_DATA_DIR", raising=False)
    monkeypatch.setenv("LAB_DATA_OFFLINE", "1")
    monkeypatch.setenv("COMPOSER_HOME", str(tmp_path))
    for name in store.load_manifest():
        assert store.dataset_dir(name) == store.WORKSPACE_MIRROR / name


def test_fetch_command_downloads_from_a_server_with_the_data_layout(monkeypatch, tmp_path, server, capsys):
    """The environment the lab reads: a manifest, LAB_DATA_URL (a server holding the data folder's
    layout rather than the upstream urls), COMPOSER_HOME (the cache), no mirror."""
    from lab.data.__main__ import main

    (server.root / "dialogs").mkdir()
    (server.root / "dialogs/dialogs.train.jsonl").write_bytes(TRAIN)
    (server.root / "dialogs/dialogs.dev.jsonl").write_bytes(DEV)
    unused = "https://example.invalid/not-asked"
    files = [
        {"name": f.name, "bytes": f.bytes, "sha256": f.sha256, "url": unused}
        for f in (pinned("dialogs.train.jsonl", TRAIN, None), pinned("dialogs.dev.jsonl", DEV, None))
    ]
    manifest = {"datasets": {"dialogs": {"title": "Test dialogues", "licence": "CC0", "files": files}}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setattr(store, "MANIFEST_PATH", tmp_path / "manifest.json")
    monkeypatch.setattr(store, "WORKSPACE_MIRROR", tmp_path / "no-mirror")
    monkeypatch.delenv("LAB_DATA_DIR", raising=False)
    monkeypatch.delenv("LAB_DATA_OFFLINE", raising=False)
    monkeypatch.setenv("COMPOSER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LAB_DATA_URL", server.url + "/")
    assert main(["fetch"]) == 0
    folder = tmp_path / "home" / "data" / "dialogs"
    assert json.loads(capsys.readouterr().out) == {"dialogs": str(folder)}
    assert sorted(server.requests) == ["/dialogs/dialogs.dev.jsonl", "/dialogs/dialogs.train.jsonl"]
    assert (folder / "dialogs.train.jsonl").read_bytes() == TRAIN
    # missing from the server too: exit 1, the message on stderr lists the places
    monkeypatch.setenv("COMPOSER_HOME", str(tmp_path / "home2"))
    (server.root / "dialogs/dialogs.dev.jsonl").unlink()
    assert main(["fetch", "dialogs"]) == 1
    err = capsys.readouterr().err
    assert "1. LAB_DATA_DIR: not set" in err and f"2. {tmp_path / 'no-mirror' / 'dialogs'}" in err
    assert f"3. {tmp_path / 'home2' / 'data' / 'dialogs'}" in err and "dialogs.dev.jsonl: HTTP 404" in err
    assert main(["fetch", "no-such-set"]) == 1 and "unknown data set 'no-such-set'" in capsys.readouterr().err
    # LAB_DATA_DIR holding the files comes first: no request, and the cache is not consulted
    own = tmp_path / "own"
    (own / "dialogs").mkdir(parents=True)
    (own / "dialogs/dialogs.train.jsonl").write_bytes(TRAIN)
    (own / "dialogs/dialogs.dev.jsonl").write_bytes(DEV)
    monkeypatch.setenv("LAB_DATA_DIR", str(own))
    asked = len(server.requests)
    assert store.dataset_dir("dialogs") == own / "dialogs" and len(server.requests) == asked
