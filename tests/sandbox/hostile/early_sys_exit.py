# A "solution" that raises SystemExit(0) before the tests can fail.
import sys


def add(a, b):
    return a - b


sys.exit(0)


def check(candidate):
    assert candidate(2, 3) == 5


check(add)
