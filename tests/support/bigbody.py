#!/usr/bin/env python3
"""A server of absurd bodies, for tests/limits_spec.lua: 1 GiB of zeros
with a Content-Length (/length) or chunked with none (/chunked), written
until the client hangs up; or JSON arrays nested 100,000 deep (/deep).
Prints its port on stdout; serves until killed."""
import socket
import sys
import threading

GIB = 1 << 30
BLOCK = b"\0" * (1 << 20)


def serve(conn):
    with conn:
        try:
            req = conn.recv(65536).decode("latin-1")
            path = req.split(" ", 2)[1] if " " in req else "/"
            if path.startswith("/deep"):
                body = b"[" * 100000 + b"]" * 100000
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n" % len(body) + body)
            elif path.startswith("/chunked"):
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                             b"Transfer-Encoding: chunked\r\n\r\n")
                head = b"%x\r\n" % len(BLOCK)
                for _ in range(GIB // len(BLOCK)):
                    conn.sendall(head + BLOCK + b"\r\n")
                conn.sendall(b"0\r\n\r\n")
            else:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                             b"Content-Length: %d\r\n\r\n" % GIB)
                for _ in range(GIB // len(BLOCK)):
                    conn.sendall(BLOCK)
        except OSError:
            pass  # the client hung up, as it should


def main():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    print(sock.getsockname()[1], flush=True)
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
