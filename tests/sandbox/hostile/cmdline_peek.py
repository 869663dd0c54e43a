# Reads every command line in /proc, looking for the one the test planted (where a --db password
# would be).
import os

found = []
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"tunegate-cmdline-secret" in f.read():
                    found.append(pid)
        except OSError:
            pass
assert found, "no command line with a secret"
print("tunegate-cmdline-secret seen in", found)
