"""Writing files so that a crash never leaves a half-written one under the real name."""
import contextlib
import os
import os.path as osp
import tempfile
from typing import IO, Iterator


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """A temporary path beside ``path`` to write to; on success it is fsync'ed and renamed over ``path`` (readers
    see the old file or the complete new one, never a partial one). On an error the temporary file is removed and
    ``path`` is untouched. A file that ``path`` replaces stays readable through handles (and memory maps) already
    open on it."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{osp.basename(path)}.', suffix='.partial', dir=folder)
    os.close(fd)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # the permissions a plain open() would give, not mkstemp's 0600
        with open(tmp, 'rb') as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


@contextlib.contextmanager
def atomic_write(path: str, mode: str = 'wb') -> Iterator[IO]:
    """``open(path, mode)`` through :func:`atomic_path`."""
    with atomic_path(path) as tmp, open(tmp, mode) as f:
        yield f
