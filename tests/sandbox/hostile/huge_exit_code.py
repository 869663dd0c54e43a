# A solution that ends with an exit code no process can have.
def add(a, b):
    return a + b


assert add(2, 3) == 5
raise SystemExit(2**70)
