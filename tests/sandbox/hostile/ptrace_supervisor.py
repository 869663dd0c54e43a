# Tries to attach to its parent (the supervisor) and every other process it can see, and to read
# their memory through /proc/<pid>/mem.
import ctypes
import os

libc = ctypes.CDLL(None, use_errno=True)
attached = []
for pid in [os.getppid()] + [int(p) for p in os.listdir("/proc") if p.isdigit()]:
    if pid == os.getpid():
        continue
    if libc.ptrace(16, pid, 0, 0) == 0:  # PTRACE_ATTACH
        attached.append(("ptrace", pid))
    try:
        with open(f"/proc/{pid}/mem", "rb") as f:
            f.seek(0x400000)
            f.read(1)
        attached.append(("mem", pid))
    except OSError:
        pass
assert attached, "nothing attachable"
print("attached:", attached)
