# The 32-bit syscall entry (int 0x80) from 64-bit code: socket(AF_INET) and connect to the test's
# listener on 127.0.0.1, which a filter that ignores the architecture lets through.
import ctypes
import platform
import socket
import struct

assert platform.machine() == "x86_64", "x86_64 only"
libc = ctypes.CDLL(None)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [
    ctypes.c_void_p,
    ctypes.c_size_t,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_long,
]
page = libc.mmap(None, 4096, 7, 0x22 | 0x40, -1, 0)  # RWX, MAP_PRIVATE|ANON|MAP_32BIT
addr = page + 256
sockaddr = struct.pack("<HH4s8x", socket.AF_INET, socket.htons(int("__PORT__")), bytes([127, 0, 0, 1]))
ctypes.memmove(addr, sockaddr, len(sockaddr))
code = (
    b"\x53"  # push rbx
    b"\xb8\x67\x01\x00\x00"  # mov eax, 359 (i386 socket)
    b"\xbb\x02\x00\x00\x00"  # mov ebx, AF_INET
    b"\xb9\x01\x00\x00\x00"  # mov ecx, SOCK_STREAM
    b"\x31\xd2"  # xor edx, edx
    b"\xcd\x80"  # int 0x80
    b"\x89\xc3"  # mov ebx, eax (the fd)
    b"\xb8\x6a\x01\x00\x00"  # mov eax, 362 (i386 connect)
    b"\xb9"
    + struct.pack("<I", addr)  # mov ecx, &sockaddr
    + b"\xba\x10\x00\x00\x00"  # mov edx, 16
    b"\xcd\x80"  # int 0x80
    b"\x5b"  # pop rbx
    b"\xc3"  # ret
)
ctypes.memmove(page, code, len(code))
rc = ctypes.CFUNCTYPE(ctypes.c_int)(page)()
assert rc == 0, f"connect through int 0x80 failed: {rc}"
print("connected through int 0x80")
