# Connects to an address outside the machine (TCP and a UDP "connect").
import socket

with socket.create_connection(("1.1.1.1", 80), timeout=2) as s:
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.connect(("8.8.8.8", 53))
print("connected")
