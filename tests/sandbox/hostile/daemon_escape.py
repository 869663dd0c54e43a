# Double fork + setsid: a daemonized grandchild outside the process group that touches a marker forever;
# the program itself then exits 0 early, hoping to count as passed.
import os
import signal
import time

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
        while True:
            try:
                with open("__MARK__", "a") as f:
                    f.write(f"{os.getpid()}\n")
            except OSError:
                pass
            time.sleep(0.1)
    os._exit(0)
time.sleep(0.5)
os._exit(0)
