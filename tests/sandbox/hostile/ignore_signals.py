# Ignores every catchable signal, then sleeps forever.
import signal
import time

for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGXCPU, signal.SIGUSR1):
    signal.signal(sig, signal.SIG_IGN)
while True:
    time.sleep(3600)
