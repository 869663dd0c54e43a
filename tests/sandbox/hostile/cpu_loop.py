# Infinite CPU loop.
n = 0
while True:
    n += 1
