# Connects to a server the test listens with on 127.0.0.1; reaching the end means the network was open.
import socket

with socket.create_connection(("127.0.0.1", int("__PORT__")), timeout=2) as s:
    s.sendall(b"escaped")
print("connected")
