#!/usr/bin/python3
"""Unauthenticated web-hook flood against a running gateway's HTTP port (issue 19, item 3).

Threads send, as fast as they can, unsigned 1 MiB POSTs (refused from their headers) and 60,000-byte
POSTs with a fresh timestamp and a well-formed but forged signature (read and hashed, then 401),
while the main thread times GET /healthz on fresh connections every 10 ms. Prints the flood's
request count and the /healthz latency percentiles.

  python3 bench/gateway/webhook_flood.py 127.0.0.1:8080 --seconds 8 --threads 4
"""
import argparse
import socket
import threading
import time


def request(body, headers):
    head = ("POST /webhooks/aarthik HTTP/1.1\r\nHost: gateway\r\n"
            "Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body))
    for name, value in headers:
        head += "%s: %s\r\n" % (name, value)
    return head.encode() + b"\r\n" + body


def read_head(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("address", help="the gateway's HTTP listener, HOST:PORT")
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    host, port = args.address.rsplit(":", 1)
    port = int(port)
    big, mid = b"x" * (1 << 20), b"y" * 60000
    stop = time.time() + args.seconds
    sent = [0] * args.threads

    def flood(index):
        while time.time() < stop:
            try:
                with socket.create_connection((host, port)) as sock:
                    sock.sendall(request(big, []))
                    read_head(sock)
                    sent[index] += 1
                with socket.create_connection((host, port)) as sock:
                    for _ in range(10):
                        forged = [("X-AL-Event-ID", "evt_flood"), ("X-AL-Tenant-ID", "t"),
                                  ("X-AL-Application-ID", "a"),
                                  ("X-AL-Webhook-Timestamp", str(int(time.time()))),
                                  ("X-AL-Webhook-Signature", "a" * 64)]
                        sock.sendall(request(mid, forged))
                        read_head(sock)
                        sent[index] += 1
            except OSError:
                pass

    threads = [threading.Thread(target=flood, args=(i,)) for i in range(args.threads)]
    for thread in threads:
        thread.start()
    latencies = []
    time.sleep(0.5)  # let the flood build up
    while time.time() < stop - 0.2:
        start = time.time()
        with socket.create_connection((host, port)) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n")
            read_head(sock)
        latencies.append((time.time() - start) * 1000)
        time.sleep(0.01)
    for thread in threads:
        thread.join()
    latencies.sort()
    print("flood requests %d; /healthz n=%d p50=%.1f ms p99=%.1f ms max=%.1f ms" %
          (sum(sent), len(latencies), latencies[len(latencies) // 2],
           latencies[int(len(latencies) * 0.99)], latencies[-1]))


if __name__ == "__main__":
    main()
