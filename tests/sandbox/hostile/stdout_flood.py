# Floods stdout without end.
import sys

line = "y" * 4096 + "\n"
while True:
    sys.stdout.write(line)
