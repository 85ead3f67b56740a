"""glibc's allocator for a long-running server (decision 73).

A search at 1M failures decodes postings of millions of documents into numpy arrays (12 MB for
a term on every document) and frees them when it answers. glibc serves a large allocation with
its own memory map and gives it back when freed — but after each such free it raises its
threshold for doing so (up to 32 MB), so the next large arrays come from the heap, and a freed
block in the middle of the heap stays in the process. Under the bench's API load at 1M a server
held 314–346 MB (issue #13's limit: 300 MB per process); with the threshold fixed at 1 MB,
292 MB. Fixing it is what ``MALLOC_MMAP_THRESHOLD_`` does, set from inside the process with
``mallopt`` so that a plain ``lessonloop serve`` needs no environment.

Only ``lessonloop serve`` installs this, and only where the C library is glibc (elsewhere it
does nothing and says so).
"""

from __future__ import annotations

import ctypes
import sys

M_MMAP_THRESHOLD = -3  # <malloc.h>
#: Allocations of at least this many bytes are memory maps, returned to the system when freed.
MMAP_THRESHOLD_BYTES = 1 << 20


def install() -> bool:
    """Fix glibc's memory-map threshold at :data:`MMAP_THRESHOLD_BYTES`; whether it applied."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (musl names its library differently and has no mallopt)
        return False
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None:
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
