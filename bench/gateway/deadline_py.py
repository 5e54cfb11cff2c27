#!/usr/bin/python3
"""deadline_py: a third client implementation (Python grpcio, Debian's python3-grpc) for
deadline_abuse.py. grpcio's asyncio and synchronous layers turn a call's end into a status code in
code of their own (Cython), apart from the C core the C++ client shares.

  deadline_py.py --target 127.0.0.1:PORT --rpc features|state [--borrower B --journey J]
                 --requests 10000 --deadline-ms 1 --api aio|sync [--concurrency 1000]
                 [--connections 4]

Prints one JSON object: {"codes": {"DEADLINE_EXCEEDED": 9990, ...}, "messages": {...}}, the messages
of every code but OK and DEADLINE_EXCEEDED with their counts. Requests are encoded by hand (two
string fields at most), so that no generated code is needed. The synchronous API issues
--concurrency futures, then waits for them all, and again.
"""
import argparse
import asyncio
import collections
import json

import grpc
import grpc.aio

METHODS = {"state": "/aarthik.headless.v1.JourneysService/GetJourneyState",
           "features": "/aarthik.hosted.v1.HostedService/GetFeatures"}


def string_field(number, value):
    data = value.encode()
    assert len(data) < 128
    return bytes([(number << 3) | 2, len(data)]) + data


class Tally:
    def __init__(self):
        self.codes = collections.Counter()
        self.messages = collections.Counter()

    def add(self, code, details=""):
        self.codes[code.name] += 1
        if code not in (grpc.StatusCode.OK, grpc.StatusCode.DEADLINE_EXCEEDED):
            self.messages[f"{code.name}: {details}"] += 1


def options(index):
    # A distinct channel argument per channel: grpcio would otherwise share one connection.
    return [("aarthik.deadline_py.connection", index)]


async def run_aio(args, payload, tally):
    channels = [grpc.aio.insecure_channel(args.target, options=options(i)) for i in range(args.connections)]
    calls = [channel.unary_unary(METHODS[args.rpc]) for channel in channels]
    slots = asyncio.Semaphore(args.concurrency)

    async def one(index):
        async with slots:
            try:
                await calls[index % len(calls)](payload, timeout=args.deadline_ms / 1000)
                tally.add(grpc.StatusCode.OK)
            except grpc.aio.AioRpcError as error:
                tally.add(error.code(), error.details())

    await asyncio.gather(*(one(i) for i in range(args.requests)))
    for channel in channels:
        await channel.close()


def run_sync(args, payload, tally):
    channels = [grpc.insecure_channel(args.target, options=options(i)) for i in range(args.connections)]
    calls = [channel.unary_unary(METHODS[args.rpc]) for channel in channels]

    def wait(futures):
        for future in futures:
            try:
                future.result()
                tally.add(grpc.StatusCode.OK)
            except grpc.RpcError as error:
                tally.add(error.code(), error.details())

    pending = []
    for index in range(args.requests):
        pending.append(calls[index % len(calls)].future(payload, timeout=args.deadline_ms / 1000))
        if len(pending) == args.concurrency:
            wait(pending)
            pending = []
    wait(pending)
    for channel in channels:
        channel.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", required=True)
    parser.add_argument("--rpc", choices=sorted(METHODS), required=True)
    parser.add_argument("--borrower", default="")
    parser.add_argument("--journey", default="")
    parser.add_argument("--requests", type=int, default=10000)
    parser.add_argument("--deadline-ms", type=float, required=True)
    parser.add_argument("--api", choices=("aio", "sync"), required=True)
    parser.add_argument("--concurrency", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    payload = b""
    if args.rpc == "state":
        payload = string_field(1, args.borrower) + string_field(2, args.journey)
    tally = Tally()
    if args.api == "aio":
        asyncio.run(run_aio(args, payload, tally))
    else:
        run_sync(args, payload, tally)
    print(json.dumps({"codes": dict(tally.codes), "messages": dict(tally.messages)}))


if __name__ == "__main__":
    main()
