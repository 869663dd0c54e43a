# Writes a 2 GiB file in its working directory.
chunk = b"z" * (1 << 20)
with open("huge.bin", "wb") as f:
    for _ in range(2048):
        f.write(chunk)
