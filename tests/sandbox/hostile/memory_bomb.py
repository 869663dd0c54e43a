# Memory bomb: grows a list of large strings until something gives.
hog = []
while True:
    hog.append("x" * (64 << 20))
