# Memory bomb: keeps allocating 256 MiB blocks (and touching the first) until something gives.
hog = []
while True:
    hog.append(bytearray(256 << 20))
    hog[0][:: 1 << 12] = b"x" * len(hog[0][:: 1 << 12])
