# The x32 ABI (syscall number | 0x40000000): socket(AF_INET) and connect to the test's listener.
import ctypes
import platform
import socket
import struct

assert platform.machine() == "x86_64", "x86_64 only"
X32 = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
fd = libc.syscall(ctypes.c_long(X32 | 41), 2, 1, 0)
assert fd >= 0, f"x32 socket failed: errno {ctypes.get_errno()}"
sockaddr = struct.pack("<HH4s8x", socket.AF_INET, socket.htons(int("__PORT__")), bytes([127, 0, 0, 1]))
buf = ctypes.create_string_buffer(sockaddr, len(sockaddr))
rc = libc.syscall(ctypes.c_long(X32 | 42), fd, buf, 16)
assert rc == 0, f"x32 connect failed: errno {ctypes.get_errno()}"
print("connected through x32")
