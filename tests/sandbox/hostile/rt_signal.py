# Sends a real-time signal to its parent (the supervisor) and then to itself.
import os
import signal
import time

try:
    os.kill(os.getppid(), signal.SIGRTMIN + 1)
except OSError:
    pass
time.sleep(0.2)
os.kill(os.getpid(), signal.SIGRTMIN + 6)
time.sleep(5)
