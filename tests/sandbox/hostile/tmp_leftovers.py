# Leaves files in every shared tmp folder (one setuid, 8 MiB in RAM-backed /dev/shm), a System V
# shared memory segment, then exits 0 early.
import ctypes
import os

for d in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock"):
    try:
        path = os.path.join(d, "tunegate-left-__TAG__")
        with open(path, "wb") as f:
            f.write(b"x" * ((8 << 20) if d == "/dev/shm" else 100))
        os.chmod(path, 0o4755)
        os.makedirs(os.path.join(d, "tunegate-leftdir-__TAG__", "sub"), exist_ok=True)
        print("left", path)
    except OSError as exc:
        print("could not leave", d, exc)
libc = ctypes.CDLL(None, use_errno=True)
print("shm segment:", libc.shmget(0x7E570000 + os.getpid() % 65536, 1 << 20, 0o1666))  # IPC_CREAT|0666
os._exit(0)
