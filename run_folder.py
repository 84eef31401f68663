"""One writer per run folder: ``train.py`` and the studies hold a lock while they write a run.

``writer_lock(directory)`` takes an exclusive ``fcntl.flock`` on ``directory/.writer.lock``
and writes its pid there; a second writer is refused at once, naming the holder's pid. The
kernel releases the lock when its holder exits or is killed, so a lock never goes stale: after
a SIGKILL the file stays behind and the next writer simply takes it.
"""

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

LOCK_FILE = ".writer.lock"


class RunFolderBusyError(RuntimeError):
    """Another live process is writing a run in this folder."""


@contextlib.contextmanager
def writer_lock(directory: Path) -> Iterator[None]:
    """Hold the folder's writer lock for the ``with`` block; ``RunFolderBusyError`` if taken."""
    fd = os.open(Path(directory) / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise RunFolderBusyError(
                f"{directory} is being written by another run (pid {holder}): wait for it to "
                "end, or write to another folder"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock
