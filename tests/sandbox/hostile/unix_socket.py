# Local Unix sockets: PostgreSQL's (trust auth: a superuser login), a path socket and an abstract one
# the test listens on, and a datagram socketpair re-aimed at the path socket with sendto.
import socket
import struct

reached = []
for path in ("/var/run/postgresql/.s.PGSQL.5432", "/run/postgresql/.s.PGSQL.5432", "/tmp/.s.PGSQL.5432"):
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(2)
        s.connect(path)
        params = b"user\0postgres\0database\0test\0\0"
        s.sendall(struct.pack("!ii", 8 + len(params), 196608) + params)
        if s.recv(1):
            reached.append("postgres " + path)
    except OSError as exc:
        print("refused:", path, exc)
for addr in ("__UNIX__", "\0__ABSTRACT__"):
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(addr)
        s.sendall(b"escaped")
        reached.append("listener " + repr(addr))
    except OSError as exc:
        print("refused:", repr(addr), exc)
try:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    a.sendto(b"escaped", "__UNIX__")
    reached.append("sendto")
except OSError as exc:
    print("refused: socketpair", exc)
assert reached, "no unix socket reachable"
print("reached:", reached)
