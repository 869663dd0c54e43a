# Starts as many sleeping processes as it can and prints how many it got.
import os
import time

count = 0
for _ in range(200):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    count += 1
print("processes:", count, flush=True)
os._exit(1)
