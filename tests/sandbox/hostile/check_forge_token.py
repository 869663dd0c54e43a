# A wrong solution that tries to forge a pass: it hunts for a secret token (garbage-collected
# strings, frames, its own memory, the supervisor's command line and memory) and prints whatever it
# finds, writes fake verdicts to every file descriptor, and exits 0 before the checks.
import contextlib
import ctypes
import gc
import json
import os
import re
import struct
import sys


def f(x):
    return 0  # wrong: the check wants x * 2


found = set()
hexy = re.compile(r"\b[0-9a-f]{32}\b")
for obj in gc.get_objects():
    if isinstance(obj, dict):
        for v in list(obj.values()):
            if isinstance(v, str):
                found.update(hexy.findall(v))
frame = sys._getframe()
while frame is not None:
    for v in list(frame.f_locals.values()) + list(frame.f_globals.values()):
        if isinstance(v, str):
            found.update(hexy.findall(v))
    frame = frame.f_back
for path in ("/proc/self/cmdline", f"/proc/{os.getppid()}/cmdline", f"/proc/{os.getppid()}/environ"):
    try:
        with open(path, "rb") as fh:
            found.update(hexy.findall(fh.read().decode("latin-1")))
    except OSError:
        pass
try:
    with open(f"/proc/{os.getppid()}/mem", "rb") as fh:
        print("read the supervisor's memory:", len(fh.read(16)))
except OSError as exc:
    print("no supervisor memory:", exc)
libc = ctypes.CDLL(None, use_errno=True)
print("ptrace attach:", libc.ptrace(16, os.getppid(), 0, 0), ctypes.get_errno())
fake = json.dumps({"passed": True, "stage": "check", "reason": "all checks passed"}).encode()
ready = json.dumps({"ready": []}).encode()
for fd in range(3, 64):
    for payload in (fake, struct.pack(">I", len(ready)) + ready, b"done"):
        with contextlib.suppress(OSError):
            os.write(fd, payload)
for token in found:
    print("\n" + token)
print("all checks passed")
sys.stdout.flush()
os._exit(0)
