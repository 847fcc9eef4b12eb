"""Download dataset files from a list of mirrors: verified, resumable, bounded in time.

The book's loader calls ``urllib.request.urlretrieve`` once and trusts the result. Mirrors go
away (yann.lecun.com began answering 403), stall, or cut a transfer short, so this module:

* tries each mirror in turn, with a bounded number of retries and exponential backoff;
* sets a socket timeout on every request, so a stalled server fails instead of hanging;
* writes to ``NAME.part`` and resumes it with an HTTP ``Range`` request after a cut-off
  (a server that ignores ``Range`` answers 200, and the download starts over);
* checks the sha256 of the *uncompressed* bytes, and only then renames ``.part`` to ``NAME``;
  a file with the wrong hash is deleted, never kept;
* raises one :class:`~tatamu.errors.DownloadError` naming every mirror and what it answered.

Only the standard library is used (``urllib.request``). Nothing here prints: pass ``progress``.
"""

from __future__ import annotations

import http.client
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

from .._version import __version__
from ..errors import DataError, DownloadError
from ..i18n import _
from .cache import PACKAGE_DIR
from .idx import sha256_uncompressed

#: ``progress(filename, bytes_done, bytes_total_or_None)``, called after every chunk.
ProgressFn = Callable[[str, int, int | None], None]

DEFAULT_TIMEOUT = 30.0  # seconds of socket silence before a request fails
DEFAULT_RETRIES = 3  # extra attempts per mirror after the first
DEFAULT_BACKOFF = 1.0  # seconds before the first retry; doubles each retry
#: No dataset file tatamu downloads is near this; a server sending more is misbehaving.
MAX_DOWNLOAD_BYTES = 256 << 20
#: tatamu and its version, nothing else (no address: tatamu has no web page of its own)
USER_AGENT = f"tatamu/{__version__}"
_CHUNK = 1 << 16
_RETRYABLE_STATUS = {408, 425, 429}  # plus every 5xx


class _Retryable(Exception):
    """This attempt failed in a way the same mirror may not repeat (5xx, timeout, cut-off)."""


class _Fatal(Exception):
    """This mirror will not serve the file (403, 404, too large): go to the next mirror."""


def download_files(
    files: Sequence[tuple[str, str]],
    dest_dir: str | os.PathLike[str],
    mirrors: Sequence[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
    backoff: float = DEFAULT_BACKOFF,
    progress: ProgressFn | None = None,
) -> list[Path]:
    """Download each ``(filename, sha256)`` into ``dest_dir`` unless already there.

    ``sha256`` is of the file's *uncompressed* bytes (the file itself if not gzip). Files
    already present under their final name are trusted: only verified files get that name.

    Parameters
    ----------
    files : sequence of (str, str)
        Remote file names (also the local names) and their expected sha256.
    dest_dir : path
        Folder to download into (created if needed); must not be inside the tatamu package.
    mirrors : sequence of str
        Base URLs, tried in order; the file's URL is ``mirror + "/" + filename``.
    timeout, retries, backoff : float, int, float
        Socket timeout per request (s); extra attempts per mirror; first retry delay (s).
    progress : callable, optional
        ``progress(filename, bytes_done, bytes_total_or_None)``.

    Returns
    -------
    list of Path
        The verified local files, in the order of ``files``.

    Raises
    ------
    DownloadError
        A file failed on every mirror (the message lists each mirror's answers), or the
        destination cannot be written.

    Examples
    --------
    >>> sha = "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"
    >>> download_files([("train-labels-idx1-ubyte.gz", sha)], "/tmp/fm",
    ...                FASHION_MNIST_MIRRORS)  # doctest: +SKIP
    [PosixPath('/tmp/fm/train-labels-idx1-ubyte.gz')]
    """
    dest = _prepare_dest(dest_dir)
    out = []
    for filename, sha256 in files:
        target = dest / filename
        if not target.is_file():
            download_file(filename, sha256, dest, mirrors, timeout=timeout, retries=retries,
                          backoff=backoff, progress=progress)
        out.append(target)
    return out


def download_file(
    filename: str,
    sha256: str,
    dest_dir: str | os.PathLike[str],
    mirrors: Sequence[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
    backoff: float = DEFAULT_BACKOFF,
    progress: ProgressFn | None = None,
) -> Path:
    """Download one file, trying ``mirrors`` in order; see :func:`download_files`.

    A ``.part`` left by an interrupted run is resumed. After a failure on every mirror the
    ``.part`` is deleted, so the folder holds only verified files.
    """
    if isinstance(mirrors, str):  # one URL passed where a list belongs
        mirrors = (mirrors,)
    if not mirrors:
        raise DownloadError(_("no mirrors to download {filename} from", filename=filename))
    target = _prepare_dest(dest_dir) / filename
    part = target.with_name(filename + ".part")
    report = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + filename
        answers: list[str] = []
        try:
            ok = _try_mirror(url, part, sha256, answers, timeout, retries, backoff, progress)
        except OSError as e:  # only local file operations get here; network errors are caught
            raise DownloadError(_("cannot write {part}: {e}", part=part, e=e)) from e
        if ok:
            os.replace(part, target)  # atomic: the final name only ever holds verified bytes
            return target
        report.append(f"  {url}: " + _summarise(answers))
    part.unlink(missing_ok=True)
    raise DownloadError(_("could not download {filename} from any mirror:", filename=filename)
                        + "\n" + "\n".join(report))


def _prepare_dest(dest_dir: str | os.PathLike[str]) -> Path:
    """Create the download folder, refusing any place inside the installed package."""
    dest = Path(dest_dir)
    resolved = dest.resolve()
    if resolved == PACKAGE_DIR or PACKAGE_DIR in resolved.parents:
        raise DownloadError(_("refusing to download into the tatamu package folder {dest}",
                              dest=dest))
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DownloadError(_("cannot create download folder {dest}: {e}", dest=dest, e=e)) from e
    return dest


def _try_mirror(
    url: str, part: Path, sha256: str, answers: list[str],
    timeout: float, retries: int, backoff: float, progress: ProgressFn | None,
) -> bool:
    """Up to ``retries + 1`` attempts at one mirror; True when ``part`` holds verified bytes."""
    for attempt in range(max(retries, 0) + 1):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        try:
            resumed = _fetch(url, part, timeout, progress)
        except _Retryable as e:
            answers.append(str(e))
            continue
        except _Fatal as e:
            answers.append(str(e))
            return False
        try:
            got = sha256_uncompressed(part, max_bytes=4 * MAX_DOWNLOAD_BYTES)
            problem = _("wrong sha256 {got}... (expected {expected}...)", got=got[:16],
                        expected=sha256[:16])
        except DataError as e:  # e.g. a cut-off gzip stream the server called complete
            got, problem = "", _("corrupt data ({detail})", detail=str(e).rpartition(": ")[2])
        if got == sha256.lower():
            return True
        part.unlink()  # never keep bytes that fail the check
        answers.append(problem + (_(" after resuming, starting over") if resumed else ""))
        if not resumed:  # a clean full download with the wrong bytes will not get better
            return False
    return False


def _fetch(url: str, part: Path, timeout: float, progress: ProgressFn | None) -> bool:
    """One request into ``part``, resuming it if non-empty; True if bytes were appended."""
    offset = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        request = urllib.request.Request(url, headers=headers)
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        e.close()
        if e.code == 416 and offset:  # our .part is not a prefix the server recognises
            part.unlink()
            raise _Retryable(_("HTTP 416 for the resume range, starting over")) from e
        answer = f"HTTP {e.code} {e.reason}"
        if e.code in _RETRYABLE_STATUS or e.code >= 500:
            raise _Retryable(answer) from e
        raise _Fatal(answer) from e
    except (OSError, http.client.HTTPException) as e:  # URLError, timeouts, resets
        raise _Retryable(_describe(e, timeout)) from e
    except ValueError as e:  # a malformed mirror URL ("unknown url type")
        raise _Fatal(_("invalid URL ({e})", e=e)) from e
    with response:
        status = getattr(response, "status", None) or 200  # file:// URLs have no status
        appending = status == 206
        if appending:
            start, total = _parse_content_range(response.headers.get("Content-Range", ""))
            if start != offset:
                part.unlink()
                raise _Retryable(_("server resumed at byte {start}, not {offset}; starting over",
                                   start=start, offset=offset))
        elif status == 200:  # full body: a server that ignores Range lands here too
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
        else:
            raise _Retryable(_("unexpected HTTP {status}", status=status))
        if total is not None and total > MAX_DOWNLOAD_BYTES:
            raise _Fatal(_("declares {total} bytes, over the {max_download_bytes}-byte limit",
                           total=total, max_download_bytes=MAX_DOWNLOAD_BYTES))
        done = _copy_body(response, part, offset if appending else 0, total, timeout, progress)
    if total is not None and done < total:
        raise _Retryable(_("truncated: got {done} of {total} bytes", done=done, total=total))
    return appending


def _copy_body(
    response: http.client.HTTPResponse, part: Path, done: int, total: int | None,
    timeout: float, progress: ProgressFn | None,
) -> int:
    """Stream the response body into ``part`` (append when ``done`` > 0); return bytes held."""
    name = part.name.removesuffix(".part")
    # read1 returns what has arrived instead of waiting for a full chunk, so bytes received
    # before a stall are kept in .part and the retry resumes after them.
    read = getattr(response, "read1", response.read)
    with open(part, "ab" if done else "wb") as f:
        while True:
            try:
                chunk = read(_CHUNK)
            except (OSError, http.client.HTTPException) as e:
                raise _Retryable(_("{describe} after {done} bytes",
                                   describe=_describe(e, timeout), done=done)) from e
            if not chunk:
                return done
            f.write(chunk)
            done += len(chunk)
            if done > MAX_DOWNLOAD_BYTES:
                raise _Fatal(_("sent more than {max_download_bytes} bytes",
                               max_download_bytes=MAX_DOWNLOAD_BYTES))
            if progress is not None:
                progress(name, done, total)


def _parse_content_range(value: str) -> tuple[int, int | None]:
    """``'bytes 100-199/200'`` -> ``(100, 200)``; an unknown total (``*``) gives None."""
    m = re.fullmatch(r"\s*bytes\s+(\d+)-\d+/(\d+|\*)\s*", value)
    if m is None:
        raise _Retryable(_("HTTP 206 with an unreadable Content-Range {value!r}", value=value))
    return int(m.group(1)), None if m.group(2) == "*" else int(m.group(2))


def _summarise(answers: list[str]) -> str:
    """Join a mirror's answers, folding repeats: ``'HTTP 500 (x3)'``."""
    folded: list[list] = []
    for answer in answers:
        if folded and folded[-1][0] == answer:
            folded[-1][1] += 1
        else:
            folded.append([answer, 1])
    return "; ".join(a if n == 1 else f"{a} (x{n})" for a, n in folded)


def _describe(e: BaseException, timeout: float) -> str:
    reason = getattr(e, "reason", None)  # URLError wraps the socket error
    if isinstance(e, TimeoutError) or isinstance(reason, TimeoutError):
        return _("timed out (no data for {timeout:g} s)", timeout=timeout)
    if isinstance(e, urllib.error.URLError):
        return _("connection failed ({reason})", reason=reason)
    return _("connection error ({type}: {error})", type=type(e).__name__, error=e)
