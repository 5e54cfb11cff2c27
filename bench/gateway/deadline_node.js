#!/usr/bin/env node
// deadline_node: a fourth client implementation (@grpc/grpc-js, the TypeScript stubs' runtime) for
// deadline_abuse.py. grpc-js is HTTP/2 and gRPC written anew in JavaScript over Node's http2 module:
// it turns RST_STREAM frames, stream closes and its own deadline timer into status codes in code of
// its own, apart from the C core the C++ and Python clients share and from grpc-go.
//
//   NODE_PATH=<stubs>/node_modules node deadline_node.js --target=127.0.0.1:PORT --rpc=features|state
//       [--borrower=B --journey=J] --requests=10000 --deadline-ms=1 [--concurrency=1000] [--connections=4]
//
// Prints one JSON object: {"codes": {"DEADLINE_EXCEEDED": 9990, ...}, "messages": {...}}, the messages
// of every code but OK and DEADLINE_EXCEEDED with their counts. Requests are encoded by hand (two
// string fields at most), so that no generated code is needed.
'use strict';
const grpc = require('@grpc/grpc-js');

const METHODS = {
  state: '/aarthik.headless.v1.JourneysService/GetJourneyState',
  features: '/aarthik.hosted.v1.HostedService/GetFeatures',
};

function parseArgs(argv) {
  const args = {borrower: '', journey: '', requests: 10000, concurrency: 1000, connections: 4};
  for (const arg of argv) {
    const match = /^--([a-z-]+)=(.*)$/.exec(arg);
    if (!match) throw new Error(`unrecognised argument: ${arg}`);
    args[match[1].replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = match[2];
  }
  if (!args.target || !METHODS[args.rpc] || !args.deadlineMs) {
    throw new Error('--target, --rpc=state|features and --deadline-ms are required');
  }
  for (const key of ['requests', 'concurrency', 'connections', 'deadlineMs']) args[key] = Number(args[key]);
  return args;
}

function stringField(number, value) {
  const data = Buffer.from(value);
  if (data.length >= 128) throw new Error('field too long for a one-byte length');
  return Buffer.concat([Buffer.from([(number << 3) | 2, data.length]), data]);
}

const CODE_NAMES = Object.fromEntries(Object.entries(grpc.status).map(([name, code]) => [code, name]));

function main() {
  const args = parseArgs(process.argv.slice(2));
  const payload = args.rpc === 'state'
    ? Buffer.concat([stringField(1, args.borrower), stringField(2, args.journey)]) : Buffer.alloc(0);
  // A distinct channel option per client: grpc-js would otherwise share one connection.
  const clients = Array.from({length: args.connections}, (_, index) =>
    new grpc.Client(args.target, grpc.credentials.createInsecure(), {'aarthik.deadline_node.connection': index}));
  const codes = {};
  const messages = {};
  let started = 0;
  let finished = 0;

  const startOne = () => {
    const index = started++;
    const deadline = new Date(Date.now() + args.deadlineMs);
    clients[index % clients.length].makeUnaryRequest(
        METHODS[args.rpc], (request) => request, (reply) => reply, payload, {deadline}, (error) => {
          const name = error ? CODE_NAMES[error.code] : 'OK';
          codes[name] = (codes[name] || 0) + 1;
          if (name !== 'OK' && name !== 'DEADLINE_EXCEEDED') {
            const key = `${name}: ${error.details}`;
            messages[key] = (messages[key] || 0) + 1;
          }
          if (++finished === args.requests) {
            clients.forEach((client) => client.close());
            process.stdout.write(JSON.stringify({codes, messages}) + '\n');
          } else if (started < args.requests) {
            startOne();
          }
        });
  };
  for (let i = 0; i < Math.min(args.concurrency, args.requests); i++) startOne();
}

main();
