"""Where the lab's data files are, and how a machine without them gets them: the one resolver every
data path goes through.

The files are pinned in manifest.json (name, size, sha256, upstream url at a fixed commit, licence).
A data set's folder is looked for, in this order, in:

  1. $LAB_DATA_DIR/<data set>                       (a folder you point at; same layout)
  2. ../shared/data/<data set> beside the repository (the workspace's local mirror; no network)
  3. $COMPOSER_HOME/data/<data set>                  (the download cache; default ~/.cache/composer-lc/data)

and the first place holding every pinned file with the pinned sha256 is used. When none does, the files
are downloaded into the cache (from the upstream urls, or from $LAB_DATA_URL, a server holding the same
layout), checked, and moved into place only when size and sha256 match; nothing else is kept.
LAB_DATA_OFFLINE=1 turns downloading off. When a data set cannot be had, DataUnavailable says every
place that was tried and why it did not serve.

    python -m lab.data fetch [NAME ...]   # make data sets available; prints {name: folder} as JSON
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

MANIFEST_PATH = Path(__file__).with_name("manifest.json")
REPOSITORY = Path(__file__).resolve().parents[3]
WORKSPACE_MIRROR = REPOSITORY.parent / "shared" / "data"
TIMEOUT_S = 60
CHUNK = 1 << 20
# A derived file is cut from a larger upstream file, read whole; this bounds that read.
MAX_SOURCE_BYTES = 64 << 20


@dataclass(frozen=True)
class DataFile:
    name: str  # path inside the data set's folder, e.g. "train/en-fr/formality-control...en"
    bytes: int
    sha256: str
    url: str | None  # pinned upstream location; None: not downloadable


@dataclass(frozen=True)
class DocumentSelection:
    """Keep the lines of these documents (ids from the upstream line-aligned id file), in upstream order."""

    document_ids_url: str
    keep: frozenset[str]


@dataclass(frozen=True)
class Dataset:
    name: str
    title: str
    licence: str
    files: tuple[DataFile, ...]
    selection: DocumentSelection | None
    not_downloadable: str | None  # why, when the set has no upstream location


@dataclass(frozen=True)
class Place:
    root: Path
    role: str  # says what the place is, for messages


class DataUnavailable(FileNotFoundError):
    """A data set is in none of the places and could not be downloaded; the message lists each place."""


class DownloadFailed(Exception):
    pass


def load_manifest(path: Path | None = None) -> dict[str, Dataset]:
    raw = json.loads((path or MANIFEST_PATH).read_text(encoding="utf-8"))
    out = {}
    for name, d in raw["datasets"].items():
        sel = d.get("select_documents")
        out[name] = Dataset(
            name=name,
            title=d["title"],
            licence=d["licence"],
            files=tuple(DataFile(f["name"], f["bytes"], f["sha256"], f.get("url")) for f in d["files"]),
            selection=DocumentSelection(sel["document_ids_url"], frozenset(sel["keep"])) if sel else None,
            not_downloadable=d.get("not_downloadable"),
        )
    return out


# sha256 of files already hashed in this process, keyed by (path, size, mtime): a data set is checked
# each time it is resolved, without hashing the same unchanged file twice.
_hashed: dict[tuple[str, int, int], str] = {}
# Downloads that failed in this process (url -> reason): a machine without network fails once, fast.
_failed_urls: dict[str, str] = {}


def sha256_file(path: Path) -> str:
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _hashed:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(CHUNK), b""):
                h.update(chunk)
        _hashed[key] = h.hexdigest()
    return _hashed[key]


def _problems(folder: Path, ds: Dataset) -> list[str]:
    """Why `folder` does not hold the pinned files of `ds` ([] when it does)."""
    if not folder.is_dir():
        return ["no such folder"]
    out = []
    for f in ds.files:
        p = folder / f.name
        if not p.is_file():
            out.append(f"{f.name} missing")
        elif p.stat().st_size != f.bytes:
            out.append(f"{f.name} has {p.stat().st_size} bytes, pinned {f.bytes}")
        elif sha256_file(p) != f.sha256:
            out.append(f"{f.name} sha256 {sha256_file(p)[:12]}… is not the pinned {f.sha256[:12]}…")
    return out


def _summary(problems: list[str], shown: int = 3) -> str:
    more = len(problems) - shown
    return "; ".join(problems[:shown]) + (f"; and {more} more" if more > 0 else "")


class DataStore:
    """Resolves data sets to folders (mirrors first, then the cache, then a download into the cache)."""

    def __init__(
        self,
        manifest: dict[str, Dataset],
        mirrors: list[Place],
        cache: Place,
        download_base: str | None = None,
        offline: bool = False,
        unconfigured: Iterable[str] = (),
    ):
        self.manifest = manifest
        self.mirrors = mirrors
        self.cache = cache
        self.download_base = download_base.rstrip("/") if download_base else None
        self.offline = offline
        self.unconfigured = list(unconfigured)  # places that could have been set, for the message

    def dataset(self, name: str) -> Dataset:
        if name not in self.manifest:
            raise KeyError(f"unknown data set {name!r}; the manifest has {', '.join(self.manifest)}")
        return self.manifest[name]

    def dataset_dir(self, name: str) -> Path:
        ds = self.dataset(name)
        tried: list[str] = list(self.unconfigured)
        for place in [*self.mirrors, self.cache]:
            folder = place.root / name
            problems = _problems(folder, ds)
            if not problems:
                return folder
            tried.append(f"{folder} ({place.role}): {_summary(problems)}")
        if ds.not_downloadable:
            tried.append(f"download: none, {ds.not_downloadable}")
        elif self.offline:
            tried.append("download: skipped (LAB_DATA_OFFLINE=1)")
        else:
            try:
                return self._download(ds)
            except DownloadFailed as e:
                tried.append(f"download into {self.cache.root / name}: {e}")
        raise DataUnavailable(self._message(ds, tried))

    def _message(self, ds: Dataset, tried: list[str]) -> str:
        lines = [f'The data set "{ds.name}" ({ds.title}) is not available. Looked for it, in this order:']
        lines += [f"  {i}. {t}" for i, t in enumerate(tried, 1)]
        lines.append(
            f"Fix: run `lab/.venv/bin/python -m lab.data fetch {ds.name}` where the network is reachable "
            "(LAB_DATA_URL=<server> downloads from a server holding the same layout instead), or put the files "
            "(names, sizes and sha256 in lab/lab/data/manifest.json) in one of the folders above."
        )
        return "\n".join(lines)

    # ---- downloading ----
    def _url(self, ds: Dataset, f: DataFile) -> str:
        if self.download_base:
            return f"{self.download_base}/{urllib.parse.quote(ds.name)}/{urllib.parse.quote(f.name)}"
        assert f.url is not None
        return f.url

    def _download(self, ds: Dataset) -> Path:
        folder = self.cache.root / ds.name
        derive = ds.selection is not None and not self.download_base  # a mirror server holds the cut files
        ids = None
        for f in ds.files:
            dest = folder / f.name
            if _is_pinned(dest, f):
                continue
            url = self._url(ds, f)
            if derive:
                assert ds.selection is not None
                if ids is None:
                    ids = _document_ids(_read_url(ds.selection.document_ids_url, MAX_SOURCE_BYTES))
                source = _read_url(url, MAX_SOURCE_BYTES)
                _store_checked(dest, [_keep_documents(source, ids, ds.selection.keep, url)], f, url)
            else:
                _store_checked(dest, _stream_url(url, f.bytes), f, url)
        return folder


def _is_pinned(path: Path, f: DataFile) -> bool:
    return path.is_file() and path.stat().st_size == f.bytes and sha256_file(path) == f.sha256


def _open(url: str):
    if _failed_urls.get(url):
        raise DownloadFailed(f"{url}: {_failed_urls[url]} (failed earlier in this process)")
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ("http", "https"):
        raise DownloadFailed(f"{url}: only http(s) urls are fetched")
    try:
        return urllib.request.urlopen(url, timeout=TIMEOUT_S)
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as e:
        reason = f"HTTP {e.code}" if isinstance(e, urllib.error.HTTPError) else str(getattr(e, "reason", e))
        _failed_urls[url] = reason
        raise DownloadFailed(f"{url}: {reason}") from e


def _stream_url(url: str, limit: int) -> Iterator[bytes]:
    """The body in chunks; stops reading one byte past `limit` (the caller then refuses the size)."""
    with _open(url) as resp:
        read = 0
        try:
            while read <= limit:
                chunk = resp.read(min(CHUNK, limit + 1 - read))
                if not chunk:
                    return
                read += len(chunk)
                yield chunk
        except (OSError, http.client.HTTPException) as e:
            raise DownloadFailed(f"{url}: {e!r}") from e


def _read_url(url: str, limit: int) -> bytes:
    data = b"".join(_stream_url(url, limit))
    if len(data) > limit:
        raise DownloadFailed(f"{url}: larger than {limit} bytes")
    return data


def _document_ids(data: bytes) -> list[str]:
    return [line.split(b"\t")[0].decode("utf-8").strip() for line in _lines(data)]


def _lines(data: bytes) -> list[bytes]:
    lines = data.split(b"\n")
    return lines[:-1] if lines and lines[-1] == b"" else lines


def _keep_documents(source: bytes, ids: list[str], keep: frozenset[str], url: str) -> bytes:
    lines = _lines(source)
    if len(lines) != len(ids):
        raise DownloadFailed(f"{url}: {len(lines)} lines, but the document id file has {len(ids)}")
    return b"".join(line + b"\n" for line, doc in zip(lines, ids, strict=True) if doc in keep)


def _store_checked(dest: Path, chunks: Iterable[bytes], f: DataFile, url: str) -> None:
    """Writes `chunks` beside `dest`, then moves it into place only if size and sha256 are the pinned
    ones; otherwise removes what was written and raises DownloadFailed."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        size = 0
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if size > f.bytes:
                    raise DownloadFailed(f"{url}: more than the pinned {f.bytes} bytes; refused")
                h.update(chunk)
                out.write(chunk)
        digest = h.hexdigest()
        if size != f.bytes or digest != f.sha256:
            raise DownloadFailed(
                f"{url}: got {size} bytes with sha256 {digest}, pinned {f.bytes} bytes with sha256 "
                f"{f.sha256}; refused, nothing kept"
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def cache_root() -> Path:
    home = os.environ.get("COMPOSER_HOME")
    return (Path(home) if home else Path.home() / ".cache" / "composer-lc") / "data"


def default_store() -> DataStore:
    """The store the lab uses, configured from the environment (read on each call)."""
    mirrors, unconfigured = [], []
    env_dir = os.environ.get("LAB_DATA_DIR")
    if env_dir:
        mirrors.append(Place(Path(env_dir), "LAB_DATA_DIR"))
    else:
        unconfigured.append("LAB_DATA_DIR: not set")
    mirrors.append(
        Place(WORKSPACE_MIRROR, "the workspace's local mirror, ../shared/data beside the repository")
    )
    return DataStore(
        load_manifest(),
        mirrors,
        Place(cache_root(), "the download cache, $COMPOSER_HOME/data"),
        download_base=os.environ.get("LAB_DATA_URL") or None,
        offline=os.environ.get("LAB_DATA_OFFLINE", "") not in ("", "0"),
        unconfigured=unconfigured,
    )


def dataset_dir(name: str) -> Path:
    """The folder holding data set `name`'s pinned files (see the module doc for where it looks)."""
    return default_store().dataset_dir(name)
