#!/usr/bin/env node
// Static checks of deploy/Dockerfile (no Docker engine here to build it): base images pinned (exact tag or
// digest, never latest), a build stage and a slim runtime stage, a numeric non-root USER in the final stage,
// the gateway as ENTRYPOINT, the gRPC port exposed, the API descriptor set shipped.
// Usage: node check_dockerfile.js <Dockerfile>    exit 0 when every check passes.
'use strict';

const fs = require('fs');

function check(text) {
  const errors = [];
  // Join continuation lines, drop comments and blank lines.
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/).map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const args = {};
  const stages = [];
  for (const line of lines) {
    const [instr, ...restParts] = line.split(/\s+/);
    const rest = restParts.join(' ');
    const upper = instr.toUpperCase();
    if (upper === 'ARG') {
      const m = /^(\w+)(?:=(\S*))?/.exec(rest);
      if (m && m[2] !== undefined && !(m[1] in args)) args[m[1]] = m[2];
    } else if (upper === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/i.exec(rest);
      const image = m[1].replace(/\$\{?(\w+)\}?/g, (_, name) => (name in args ? args[name] : `\${${name}}`));
      stages.push({ image, name: m[2], instructions: [] });
    } else if (stages.length > 0) {
      stages[stages.length - 1].instructions.push({ instr: upper, rest });
    }
  }
  if (stages.length < 2) errors.push(`expected a multi-stage build, found ${stages.length} stage(s)`);
  const stageNames = new Set(stages.map((s) => s.name).filter(Boolean));
  for (const s of stages) {
    if (stageNames.has(s.image)) continue;  // FROM an earlier stage
    if (s.image.includes('${')) { errors.push(`FROM ${s.image}: ARG without a default`); continue; }
    const [ref, digest] = s.image.split('@');
    const colon = ref.lastIndexOf(':');
    const tag = colon > ref.lastIndexOf('/') ? ref.slice(colon + 1) : null;
    if (tag === 'latest') errors.push(`FROM ${s.image} uses :latest`);
    else if (!tag && !digest) errors.push(`FROM ${s.image} is not pinned (no tag, no digest)`);
    else if (digest && !/^sha256:[0-9a-f]{64}$/.test(digest)) errors.push(`FROM ${s.image}: malformed digest`);
    else if (tag && !digest && !/\d/.test(tag)) errors.push(`FROM ${s.image}: tag '${tag}' moves; use an exact release tag`);
    if (!/^(docker\.io\/)?(library\/)?debian:/.test(ref)) errors.push(`FROM ${s.image} is not a Debian image`);
  }
  const runtime = stages[stages.length - 1];
  if (runtime) {
    if (!/-slim$/.test(runtime.image.split('@')[0])) errors.push(`runtime stage ${runtime.image} is not a -slim image`);
    const users = runtime.instructions.filter((i) => i.instr === 'USER');
    const user = users.length ? users[users.length - 1].rest : null;
    if (!user) errors.push('the runtime stage has no USER (it would run as root)');
    else if (!/^[1-9]\d*(:\d+)?$/.test(user)) errors.push(`USER ${user} must be a numeric non-root UID[:GID]`);
    const entry = runtime.instructions.filter((i) => i.instr === 'ENTRYPOINT').pop();
    if (!entry || entry.rest !== '["/usr/local/bin/aarthik-gateway"]') {
      errors.push('ENTRYPOINT must be ["/usr/local/bin/aarthik-gateway"] (exec form)');
    }
    const exposed = runtime.instructions.filter((i) => i.instr === 'EXPOSE').flatMap((i) => i.rest.split(/\s+/));
    if (!exposed.some((p) => /^50051(\/tcp)?$/.test(p))) errors.push('the runtime stage does not EXPOSE 50051');
    if (!runtime.instructions.some((i) => i.instr === 'COPY' && /--from=/.test(i.rest) && /aarthik-api\.protoset/.test(i.rest))) {
      errors.push('the runtime stage does not ship the API descriptor set (aarthik-api.protoset)');
    }
    if (!runtime.instructions.some((i) => i.instr === 'COPY' && /--from=/.test(i.rest) && /aarthik-gateway/.test(i.rest))) {
      errors.push('the runtime stage does not copy the gateway from the build stage');
    }
  }
  return errors;
}

const file = process.argv[2];
if (!file) {
  console.error('usage: check_dockerfile.js <Dockerfile>');
  process.exit(2);
}
const errors = check(fs.readFileSync(file, 'utf8'));
for (const e of errors) console.log(`  FAIL Dockerfile: ${e}`);
console.log(`  Dockerfile: ${errors.length} problem(s)`);
process.exit(errors.length === 0 ? 0 : 1);
