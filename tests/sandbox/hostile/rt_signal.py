# Sends a real-time signal to its parent (the supervisor) and then to itself.
import contextlib
import os
import signal
import time

with contextlib.suppress(OSError):
    os.kill(os.getppid(), signal.SIGRTMIN + 1)
time.sleep(0.2)
os.kill(os.getpid(), signal.SIGRTMIN + 6)
time.sleep(5)
