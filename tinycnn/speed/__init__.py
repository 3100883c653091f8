"""Speed beneath the plain code: the Numba twins of the kernels (kernels.py), the one thread pool
they run on (threads.py), fused layer steps chosen once per model and backend (fusion.py), and
the allocator setting for training processes (memory.py). Nothing here changes a result: the
tests hold every fast path to the plain NumPy reference."""
