# Uses no CPU at all: only the wall-time limit can stop it.
import time

while True:
    time.sleep(3600)
