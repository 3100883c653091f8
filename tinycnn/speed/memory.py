"""The C library's allocator: keep freed memory for reuse (a process-wide setting)."""


def keep_freed_memory():
    """Ask the C library's allocator (glibc) to keep freed blocks of up to 32 MB for reuse
    instead of handing them back to the system at once.

    A training step frees and allocates the same large arrays every step. By default glibc maps
    each big one afresh and the system zeroes every new page: about 4,800 page faults (19 MB)
    per resnet step at batch 128, measured with getrusage. This is a setting for the whole
    process, so importing tinycnn never makes it: the training command does, for its own
    process. Returns True when set, False where there is no glibc (macOS, Windows, musl).
    """
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # glibc's <malloc.h>
    return bool(mallopt(m_mmap_threshold, 32 * 2**20)) and bool(mallopt(m_trim_threshold, 2**30))
