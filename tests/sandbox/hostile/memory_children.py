# Three children each hold 150 MiB under a per-process limit of 256 MiB: only a limit on the whole
# sample stops them. Each prints "held" once its memory is touched and "kept" after holding it for
# 1.5 s. The children start within a fraction of that, so two "kept" lines mean two children held
# 300 MiB at once. (The count of "held" proves nothing: the kernel's OOM killer takes the largest
# process, which may be a child that has already printed it.)
import os
import sys
import time

pids = []
for _ in range(3):
    pid = os.fork()
    if pid == 0:
        block = bytearray(150 << 20)
        block[:: 1 << 12] = b"x" * len(block[:: 1 << 12])
        print("held", flush=True)
        time.sleep(1.5)
        block[:: 1 << 12] = b"y" * len(block[:: 1 << 12])
        print("kept", flush=True)
        os._exit(0)
    pids.append(pid)
for pid in pids:
    os.waitpid(pid, 0)
sys.exit(1)
