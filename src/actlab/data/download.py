"""Checked, resumable HTTP downloads (standard library only).

:func:`download` fetches ``url`` into ``dest`` through ``dest + ".part"``:
an existing partial file is resumed with an HTTP ``Range`` request (a server
that ignores ranges and answers 200 restarts it from zero), a connection cut
off mid-way is retried a few times, each time resuming, and the finished file
must match the expected SHA-256 before it is moved into place.
"""
from __future__ import annotations

import http.client
import os
import urllib.error
import urllib.request
from pathlib import Path

from actlab.data.cache import sha256_file
from actlab.errors import ActlabError

__all__ = ["download"]

_CHUNK = 1 << 16


def download(url: str, dest: Path, sha256: str, *, attempts: int = 4, timeout: float = 30.0) -> Path:
    """Fetch ``url`` to ``dest`` (skipped when ``dest`` already has the right hash)."""
    if dest.is_file():
        if sha256_file(dest) == sha256:
            return dest
        dest.unlink()
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    last_error: Exception | None = None
    for _ in range(attempts):
        try:
            complete = _fetch_once(url, part, timeout)
        except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
            if isinstance(error, urllib.error.HTTPError) and error.code != 416:
                raise ActlabError(f"download of {url} failed: HTTP {error.code} {error.reason}") from error
            if isinstance(error, urllib.error.HTTPError):  # 416: nothing more to send; check what we have
                complete = True
            else:
                last_error = error
                continue
        if complete:
            break
    else:
        raise ActlabError(
            f"download of {url} failed after {attempts} attempts ({last_error or 'connection cut off'}); "
            f"{part.stat().st_size if part.exists() else 0} bytes kept in {part} to resume next time"
        )
    actual = sha256_file(part)
    if actual != sha256:
        part.unlink(missing_ok=True)
        raise ActlabError(f"downloaded {url} has the wrong SHA-256: expected {sha256}, got {actual} (file removed)")
    os.replace(part, dest)
    return dest


def _fetch_once(url: str, part: Path, timeout: float) -> bool:
    """One request; returns True when the file is complete, False when the stream was cut short."""
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "actlab", "Accept-Encoding": "identity"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        if response.status == 206:
            mode = "ab"
        else:  # 200: the server sends the whole file
            mode, have = "wb", 0
        length = response.headers.get("Content-Length")
        expected = int(length) if length is not None and length.isdigit() else None
        received = 0
        with open(part, mode) as handle:
            try:
                while chunk := response.read(_CHUNK):
                    handle.write(chunk)
                    received += len(chunk)
            except http.client.IncompleteRead as error:
                handle.write(error.partial)
                return False
    return expected is None or received >= expected
