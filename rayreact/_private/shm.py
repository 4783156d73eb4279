"""Named shared memory segments and semaphores of one rayreact session.

Every name the runtime creates starts with ``rr_<session>_`` so that one glob finds them all:
``cleanup_session`` unlinks whatever a crashed process left behind. Segments are plain files in
``/dev/shm`` (POSIX shared memory on Linux) mapped with ``mmap``; semaphores are POSIX named
semaphores (``sem.rr_<session>_*`` in the same folder), opened by name from any process, at any
time, which multiprocessing's own primitives do not allow.
"""

import glob
import mmap
import os

import _multiprocessing

SHM_DIR = "/dev/shm"
SEM_MAX = 2**30
_SEMAPHORE = 1  # _multiprocessing's kind for a counting semaphore


def prefix(session: str) -> str:
    return f"rr_{session}_"


created = 0  # segments this process has created (bench/programs/pipeline.py reports it)


def create_segment(name: str, size: int) -> mmap.mmap:
    """Create the segment ``name`` of ``size`` bytes (> 0) and map it read-write."""
    global created
    created += 1
    fd = os.open(os.path.join(SHM_DIR, name), os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    try:
        os.ftruncate(fd, size)
        return mmap.mmap(fd, size)
    finally:
        os.close(fd)


def open_segment(name: str, readonly: bool = False, populate: bool = False) -> mmap.mmap:
    """Map an existing segment; read-only maps give read-only memoryviews (and NumPy views).

    ``populate``: map every page now, in one call (MAP_POPULATE), instead of one page fault
    per 4 KiB page at first touch: twice as fast for a segment about to be filled whole."""
    fd = os.open(os.path.join(SHM_DIR, name), os.O_RDONLY if readonly else os.O_RDWR)
    try:
        size = os.fstat(fd).st_size
        flags = mmap.MAP_SHARED | (mmap.MAP_POPULATE if populate else 0)
        return mmap.mmap(fd, size, flags=flags, prot=mmap.PROT_READ if readonly else
                         mmap.PROT_READ | mmap.PROT_WRITE)
    finally:
        os.close(fd)


def unlink_segment(name: str) -> None:
    try:
        os.unlink(os.path.join(SHM_DIR, name))
    except FileNotFoundError:
        pass


def create_semaphore(name: str, value: int = 0, maxvalue: int = SEM_MAX):
    return _multiprocessing.SemLock(_SEMAPHORE, value, maxvalue, "/" + name, False)


def open_semaphore(name: str, maxvalue: int = SEM_MAX):
    return _multiprocessing.SemLock._rebuild(0, _SEMAPHORE, maxvalue, "/" + name)


def unlink_semaphore(name: str) -> None:
    try:
        _multiprocessing.sem_unlink("/" + name)
    except FileNotFoundError:
        pass


def session_files(session: str) -> list:
    """Paths in /dev/shm that belong to ``session`` (segments, semaphores, name records)."""
    p = prefix(session)
    return glob.glob(os.path.join(SHM_DIR, p + "*")) + glob.glob(os.path.join(SHM_DIR, "sem." + p + "*"))


def cleanup_session(session: str) -> int:
    """Unlink every segment and semaphore of ``session``; return how many were removed."""
    n = 0
    for path in session_files(session):
        try:
            os.unlink(path)
            n += 1
        except FileNotFoundError:
            pass
    return n
