"""The one resumable run log of every benchmark: ``<folder>/runs.jsonl``, one JSON line per finished run.

A benchmark opens its output folder with :class:`RunLog` (a context manager). Inside it

- the folder is locked: a second process on the same folder is refused with :class:`FolderBusy`, one line
  naming the folder and the pid that holds it (``fcntl.flock`` on ``.runs.jsonl.lock``, which holds that pid;
  the kernel drops the lock when its process dies, so a lock file left by a killed run is simply taken over);
- a torn last line (the process died in the middle of a write) is cut off before anything is appended;
- :meth:`RunLog.append` writes one record as one line, flushed and fsynced, so a killed benchmark loses at most
  the run in flight, and a rerun skips every run already in :meth:`RunLog.records`.

:func:`read_records` reads a log without the lock (a line without its newline does not count).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import TracebackType
from typing import IO, Any

RUNS = "runs.jsonl"


class FolderBusy(ValueError):
    """Another live process holds the output folder's run log."""


def read_records(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The records of a JSON-lines file (empty if missing); a last line without its newline (torn by a crash)
    and lines that are not JSON objects are ignored."""
    path = Path(path)
    if not path.is_file():
        return []
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")[:-1]            # the piece after the last newline is torn (or empty)
    out = []
    for line in lines:
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            out.append(value)
    return out


def cut_torn_tail(path: Path) -> int:
    """Truncate ``path`` after its last newline (a crash mid-write leaves a partial line); -> bytes removed."""
    if not path.is_file():
        return 0
    with open(path, "rb+") as fh:
        size = fh.seek(0, os.SEEK_END)
        end = size
        while end > 0:
            start = max(0, end - 65536)
            fh.seek(start)
            chunk = fh.read(end - start)
            cut = chunk.rfind(b"\n")
            if cut >= 0:
                end = start + cut + 1
                break
            end = start
        if end != size:
            fh.truncate(end)
            fh.flush()
            os.fsync(fh.fileno())
        return size - end


def _holder(lock: Path) -> str:
    try:
        pid = lock.read_text(encoding="utf-8").strip()
    except OSError:
        pid = ""
    return f"pid {pid}" if pid else "another process"


class RunLog:
    """The locked run log of an output folder (see the module docstring); use as ``with RunLog(out) as log:``."""

    def __init__(self, folder: str | os.PathLike[str], name: str = RUNS) -> None:
        self.folder = Path(folder)
        self.path = self.folder / name
        self.lock_path = self.folder / f".{name}.lock"
        self._lock: IO[str] | None = None

    def __enter__(self) -> RunLog:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._acquire()
        try:
            cut_torn_tail(self.path)
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._release()

    def _acquire(self) -> None:
        import fcntl

        while True:
            fh = open(self.lock_path, "a+", encoding="utf-8")
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.close()
                raise FolderBusy(f"{self.folder} is in use by {_holder(self.lock_path)} (its {self.path.name}); "
                                 "wait for it to finish or write to another output folder") from None
            try:
                same = os.stat(self.lock_path).st_ino == os.fstat(fh.fileno()).st_ino
            except FileNotFoundError:
                same = False
            if same:             # not a file the previous holder removed while we opened it
                break
            fh.close()
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        self._lock = fh

    def _release(self) -> None:
        if self._lock is None:
            return
        try:
            self.lock_path.unlink()
        except FileNotFoundError:
            pass
        self._lock.close()           # closing drops the flock
        self._lock = None

    def records(self) -> list[dict[str, Any]]:
        """Every record in the log so far."""
        return read_records(self.path)

    def append(self, record: dict[str, Any]) -> None:
        """Append one record as one line, flushed and fsynced before returning."""
        if self._lock is None:
            raise RuntimeError("RunLog.append outside 'with RunLog(folder) as log:'")
        line = json.dumps(record) + "\n"
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
