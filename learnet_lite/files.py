"""Writing files and folders so that a killed run never leaves half of one.

Every writer of the package goes through these: a file is written to a temporary file beside
it and moved into place with one rename (:func:`replacing`, :func:`write_atomic`,
:func:`write_json_atomic`); a folder is built in ``.<name>.partial-<pid>`` beside it and
renamed into place (:func:`temp_folder_beside`). A reader sees the old content or the new,
never a mix; what a killed run leaves behind carries its process id and is removed by the
next run (:func:`remove_stale_partials`). :func:`locked` holds a lock on a file that a killed
process never leaves held (the per-run lock of :func:`experiment.run_fold`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from contextlib import contextmanager, suppress
from pathlib import Path


@contextmanager
def temp_beside(path, suffix: str = ".tmp"):
    """A fresh temporary file path in ``path``'s folder (created if needed), removed on exit
    unless the caller moved it into place: write there, then ``os.replace``/``os.link`` it, so
    a killed run never leaves a half-written ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield tmp
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextmanager
def replacing(path, suffix: str = ".tmp", overwrite: bool = True):
    """A temporary path beside ``path`` to write its new content to (with any writer that
    takes a path: ``torch.save``, ``np.savez``, ``cv2.imwrite``); when the block ends without
    an error it becomes ``path`` in one rename, else it is removed. ``overwrite=False``
    refuses to replace an existing ``path`` (:class:`FileExistsError`), atomically where the
    file system has hard links."""
    path = Path(path)
    with temp_beside(path, suffix) as tmp:
        yield tmp
        if overwrite:
            os.replace(tmp, path)
            return
        try:
            os.link(tmp, path)  # atomic and never clobbers: fails if path exists
        except FileExistsError:
            raise FileExistsError(f"{path} already exists") from None
        except OSError:  # a file system without hard links
            if path.exists():
                raise FileExistsError(f"{path} already exists") from None
            os.replace(tmp, path)


def write_atomic(path, data: str | bytes, overwrite: bool = True) -> Path:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` through :func:`replacing`,
    flushed to disk before the rename -> ``path``."""
    return _write(path, lambda fh: fh.write(data), isinstance(data, bytes), overwrite)


def write_json_atomic(path, value, overwrite: bool = True, **dump_options) -> Path:
    """``value`` as JSON (``indent=1`` unless given, a final newline) to ``path`` through
    :func:`replacing`. It is dumped straight into the temporary file, so a value that cannot
    be stored fails half way and leaves nothing behind -> ``path``."""
    def dump(fh):
        json.dump(value, fh, **{"indent": 1, **dump_options})
        fh.write("\n")

    return _write(path, dump, False, overwrite)


def _write(path, write, binary: bool, overwrite: bool) -> Path:
    path = Path(path)
    with replacing(path, overwrite=overwrite) as tmp, (
            open(tmp, "wb") if binary else open(tmp, "w", encoding="utf-8")) as fh:
        write(fh)
        fh.flush()
        os.fsync(fh.fileno())
    return path


@contextmanager
def temp_folder_beside(path):
    """A fresh folder ``.<name>.partial-<pid>`` beside ``path`` to build ``path``'s new
    content in. When the block ends without an error it becomes ``path``: an existing
    ``path`` is first moved aside to ``.<name>.old-<pid>`` and removed once the new one is in
    place; on an error the partial folder is removed. Work folders that killed runs left
    beside ``path`` are removed first (:func:`remove_stale_partials`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(path)
    tmp = path.parent / f".{path.name}.partial-{os.getpid()}"
    old = path.parent / f".{path.name}.old-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    moved = False
    try:
        yield tmp
        if path.exists():
            path.rename(old)
            moved = True
        tmp.rename(path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if moved and not path.exists():  # the new folder did not arrive: the old one goes back
            old.rename(path)
        raise
    if moved:
        shutil.rmtree(old)


def remove_stale_partials(path) -> list[Path]:
    """Remove the work folders a killed :func:`temp_folder_beside` left beside ``path``:
    exactly ``.<name>.partial-<pid>`` and ``.<name>.old-<pid>``, folders (not links) whose
    process is gone. Anything else, and the folders of live processes, are left alone ->
    the folders removed."""
    path = Path(path)
    parent = path.parent
    if os.name != "posix" or not parent.is_dir():   # os.kill(pid, 0) tests a pid only on POSIX
        return []
    pattern = re.compile(rf"\.{re.escape(path.name)}\.(?:partial|old)-([1-9]\d*)")
    removed = []
    for candidate in sorted(parent.iterdir()):
        m = pattern.fullmatch(candidate.name)
        if m is None or candidate.is_symlink() or not candidate.is_dir():
            continue
        pid = int(m.group(1))
        if pid == os.getpid() or _alive(pid):
            continue
        shutil.rmtree(candidate, ignore_errors=True)
        removed.append(candidate)
    return removed


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (signal 0 sends nothing); unknown counts as alive."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError, OSError):
        return True      # someone else's process, or no pid we could have had: not ours to judge
    return True


class Locked(RuntimeError):
    """:func:`locked` found its file held by another process (``holder``: what that process
    wrote there, e.g. ``pid 123 on host``)."""

    def __init__(self, path, holder: str):
        super().__init__(f"locked by {holder or 'another process'} ({path})")
        self.path, self.holder = Path(path), holder


@contextmanager
def locked(path, wait: bool = False):
    """Hold an exclusive lock on the file ``path`` (created, with its folder, if needed) for
    the block: an ``fcntl.flock``, which the kernel releases when its process ends, however it
    ends (a ``kill -9`` leaves no lock behind, only a file that the next taker reuses). Held
    elsewhere: raise :class:`Locked` naming the holder (the ``pid ... on host`` it wrote into
    the file), or with ``wait`` block until it is free. The file is removed when the block
    ends; a taker that locked a file removed meanwhile tries again, so two holders never hold
    two files of one path. Where ``fcntl`` is missing (not POSIX) the block runs unlocked."""
    try:
        import fcntl
    except ImportError:  # no flock here: nothing to hold
        yield Path(path)
        return
    import socket

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
            os.close(fd)
            raise Locked(path, holder) from None
        except BaseException:
            os.close(fd)
            raise
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:  # its holder removed it as we took it: take the new one
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
        yield path
    finally:
        with suppress(FileNotFoundError):
            os.unlink(path)  # still ours: removed before the lock goes, so no one takes a dead file
        os.close(fd)
