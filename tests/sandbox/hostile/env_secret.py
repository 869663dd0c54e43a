# Looks for the parent's secret in its own environment and in every /proc/*/environ it can read.
import os

found = os.environ.get("TUNEGATE_TEST_SECRET")
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if b"TUNEGATE_TEST_SECRET" in f.read():
                    found = pid
        except OSError:
            pass
assert found, "no secret visible"
print("secret:", found)
