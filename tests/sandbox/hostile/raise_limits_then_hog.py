# Tries to lift its own resource limits (works for real root), then allocates 4 GiB at once.
import contextlib
import resource

for res in (resource.RLIMIT_AS, resource.RLIMIT_CPU, resource.RLIMIT_NPROC):
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(res, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
hog = bytearray(4 << 30)
