# A "solution" that calls os._exit(0) before the tests can fail.
import os


def add(a, b):
    return a - b


os._exit(0)


def check(candidate):
    assert candidate(2, 3) == 5


check(add)
