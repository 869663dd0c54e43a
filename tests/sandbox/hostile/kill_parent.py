# Kills its parent, its process group and every process it may signal, then exits 0 early.
import contextlib
import os
import signal

for attempt in (
    lambda: os.kill(os.getppid(), signal.SIGKILL),
    lambda: os.killpg(os.getpgid(0), signal.SIGKILL),
    lambda: os.kill(-1, signal.SIGKILL),
):
    with contextlib.suppress(OSError):
        attempt()
os._exit(0)
