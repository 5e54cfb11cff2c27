#!/usr/bin/env node
// Checks Kubernetes objects rendered from deploy/k8s (kubectl kustomize, converted to a JSON array):
//   1. schema: every object against npm kubernetes-models (types and required fields; unknown fields are not
//      caught there), and
//   2. our rules: native gRPC probes on the health service, pinned images, non-root read-only containers,
//      resources, the API key as a mounted Secret file, selectors that match, PDB/HPA in prod, ...
//   3. the in-cluster Redis (deploy/k8s/components/redis) wherever it is rendered: password from a Secret, a
//      Service, a NetworkPolicy admitting only the gateway, resources, non-root, probes (redisErrors).
//
// Usage (NODE_PATH must reach tools/node_modules):
//   node check_manifests.js check <repo_root> <overlay> <rendered.json>
//   node check_manifests.js self-test <repo_root> <overlay> <rendered.json>
//       breaks a good rendering in many ways and requires each break to be reported (the checks can fail).
// Exit status: 0 when every check passes (check) or every break is caught (self-test), 1 otherwise.
'use strict';

const fs = require('fs');
const path = require('path');

// ---------------------------------------------------------------------------------------------------------
// Context taken from the repository, so that the manifests are checked against the code they deploy.

// grpc.health.v1 service names the readiness probe may use: "" (the server's overall status) or a fully
// qualified service declared under proto/.
function protoServices(repoRoot) {
  const names = new Set();
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.proto')) {
        const text = fs.readFileSync(full, 'utf8');
        const pkg = /^\s*package\s+([\w.]+)\s*;/m.exec(text);
        for (const m of text.matchAll(/^\s*service\s+(\w+)\s*\{/gm)) {
          names.add(pkg ? `${pkg[1]}.${m[1]}` : m[1]);
        }
      }
    }
  };
  walk(path.join(repoRoot, 'proto'));
  return names;
}

// Environment names the gateway reads: AARTHIK_<FLAG> for each flag in server/core/config_flags.cc, plus
// AARTHIK_API_KEY (which the manifests must not set).
function gatewayEnvNames(repoRoot) {
  const text = fs.readFileSync(path.join(repoRoot, 'server/core/config_flags.cc'), 'utf8');
  const names = new Set();
  for (const m of text.matchAll(/^\s*\{"([a-z0-9-]+)",/gm)) {
    names.add('AARTHIK_' + m[1].toUpperCase().replace(/-/g, '_'));
  }
  if (names.size === 0) throw new Error('found no flags in server/core/config_flags.cc: update gatewayEnvNames()');
  return names;
}

// The drain grace the gateway uses after SIGTERM when --shutdown-grace is not set (Config's default), in
// seconds.
function drainGraceSeconds(repoRoot) {
  const header = path.join(repoRoot, 'server/core/config.h');
  const m = /shutdown_grace = absl::Seconds\((\d+)\)/.exec(fs.readFileSync(header, 'utf8'));
  if (!m) throw new Error('found no shutdown_grace default in server/core/config.h: update drainGraceSeconds()');
  return Number(m[1]);
}

// "20s", "1m", "1m30s", "500ms" (the forms absl::ParseDuration takes that manifests use) in seconds; NaN
// for anything else.
function durationSeconds(text) {
  const units = { ms: 0.001, s: 1, m: 60, h: 3600 };
  const parts = String(text).match(/^((\d+(\.\d+)?)(ms|s|m|h))+$/) ? String(text).match(/\d+(\.\d+)?(ms|s|m|h)/g) : null;
  if (!parts) return NaN;
  return parts.reduce((sum, p) => {
    const [, n, , u] = /^(\d+(\.\d+)?)(ms|s|m|h)$/.exec(p);
    return sum + Number(n) * units[u];
  }, 0);
}

// The drain grace this container runs with: --shutdown-grace in its args, else AARTHIK_SHUTDOWN_GRACE from its
// env or envFrom ConfigMaps (flags win over the environment, as in the gateway), else the default.
function effectiveDrainSeconds(container, configMaps, defaultSeconds) {
  const args = container.args || [];
  for (let i = 0; i < args.length; ++i) {
    if (args[i] === '--shutdown-grace' && i + 1 < args.length) return durationSeconds(args[i + 1]);
    if (args[i].startsWith('--shutdown-grace=')) return durationSeconds(args[i].slice('--shutdown-grace='.length));
  }
  const env = (container.env || []).find((e) => e.name === 'AARTHIK_SHUTDOWN_GRACE' && e.value !== undefined);
  if (env) return durationSeconds(env.value);
  for (const ef of container.envFrom || []) {
    const cm = ef.configMapRef && configMaps.find((c) => c.metadata.name === ef.configMapRef.name);
    if (cm && cm.data && cm.data.AARTHIK_SHUTDOWN_GRACE !== undefined) return durationSeconds(cm.data.AARTHIK_SHUTDOWN_GRACE);
  }
  return defaultSeconds;
}

// A setting's value for this container: --flag in its args, else AARTHIK_<FLAG> from its env or envFrom
// ConfigMaps (flags win over the environment, as in the gateway); undefined when not set.
function effectiveSetting(container, configMaps, flag) {
  const args = [...(container.command || []), ...(container.args || [])].map(String);
  for (let i = 0; i < args.length; ++i) {
    if (args[i] === `--${flag}` && i + 1 < args.length) return args[i + 1];
    if (args[i].startsWith(`--${flag}=`)) return args[i].slice(flag.length + 3);
  }
  const name = 'AARTHIK_' + flag.toUpperCase().replace(/-/g, '_');
  const env = (container.env || []).find((e) => e.name === name && e.value !== undefined);
  if (env) return env.value;
  for (const ef of container.envFrom || []) {
    const cm = ef.configMapRef && configMaps.find((c) => c.metadata.name === ef.configMapRef.name);
    if (cm && cm.data && cm.data[name] !== undefined) return cm.data[name];
  }
  return undefined;
}

// Where a file the container reads comes from: the ConfigMap (rendered in `configMaps`) and key behind the
// volumeMount that holds `file`, or a problem.
function configMapFile(container, pod, configMaps, file) {
  const mount = (container.volumeMounts || []).find((m) => file.startsWith(m.mountPath.replace(/\/?$/, '/')));
  if (!mount) return { problem: 'is not under any volumeMount' };
  const volume = (pod.volumes || []).find((v) => v.name === mount.name);
  const rest = file.slice(mount.mountPath.replace(/\/?$/, '/').length);
  const sources = !volume ? [] : volume.configMap ? [volume.configMap]
    : ((volume.projected && volume.projected.sources) || []).filter((x) => x.configMap).map((x) => x.configMap);
  for (const src of sources) {
    const item = src.items ? src.items.find((it) => it.path === rest) : { key: rest };
    if (!item) continue;
    const cm = configMaps.find((c) => c.metadata.name === src.name);
    if (!cm) return { problem: `comes from ConfigMap ${src.name}, which is not in the rendering` };
    if (!cm.data || cm.data[item.key] === undefined) return { problem: `ConfigMap ${src.name} has no key ${item.key}` };
    if (mount.subPath) return { problem: 'is mounted with subPath, which Kubernetes never refreshes' };
    return { configMap: cm, key: item.key };
  }
  return { problem: 'is not provided by a ConfigMap volume' };
}

// ---------------------------------------------------------------------------------------------------------
// Schema validation with kubernetes-models.

function modelFor(apiVersion, kind) {
  const modulePath = 'kubernetes-models/' + apiVersion;  // "v1", "apps/v1", "networking.k8s.io/v1", ...
  let mod;
  try {
    mod = require(modulePath);
  } catch (e) {
    return { error: `unknown apiVersion ${apiVersion} (no ${modulePath} in kubernetes-models)` };
  }
  if (typeof mod[kind] !== 'function') return { error: `unknown kind ${kind} in ${apiVersion}` };
  return { Model: mod[kind] };
}

function schemaErrors(obj) {
  const { Model, error } = modelFor(obj.apiVersion, obj.kind);
  if (error) return [error];
  try {
    new Model(obj).validate();
    return [];
  } catch (e) {
    return [`schema: ${e.message}`];
  }
}

// ---------------------------------------------------------------------------------------------------------
// Helpers.

const NAMESPACED_KINDS = new Set(['ServiceAccount', 'ConfigMap', 'Secret', 'Service', 'Deployment', 'StatefulSet',
  'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'NetworkPolicy']);

function parseQuantity(q) {
  const m = /^([0-9.]+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(String(q));
  if (!m) return NaN;
  const scale = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };
  return Number(m[1]) * (m[2] ? scale[m[2]] : 1);
}

function selectorMatches(matchLabels, labels) {
  if (!matchLabels || Object.keys(matchLabels).length === 0) return false;
  return Object.entries(matchLabels).every(([k, v]) => labels && labels[k] === v);
}

// Splits an image reference into name, tag and digest.
function parseImage(ref) {
  let rest = ref;
  let digest = null;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag = null;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  return { name: rest, tag, digest };
}

// Why an image reference is not pinned, or null when it is (an exact tag other than latest, or a digest).
function imageProblem(ref) {
  const { tag, digest } = parseImage(ref);
  if (tag === 'latest') return `image ${ref} uses :latest`;
  if (digest !== null && !/^sha256:[0-9a-f]{64}$/.test(digest)) return `image ${ref} has a malformed digest`;
  if (tag === null && digest === null) return `image ${ref} is not pinned (no tag, no digest)`;
  return null;
}

// ---------------------------------------------------------------------------------------------------------
// Our rules. Returns { errors: [...], notes: [...] }.

// Objects of the in-cluster Redis (components/redis), checked by redisErrors and not by the gateway's rules.
const isRedis = (o) => !!(o && o.metadata && o.metadata.labels &&
    o.metadata.labels['app.kubernetes.io/name'] === 'aarthik-redis');

function policyErrors(allObjects, ctx) {
  const objects = allObjects.filter((o) => !isRedis(o));
  const errors = [];
  const notes = [];
  const err = (what, msg) => errors.push(`${what}: ${msg}`);
  const byKind = (kind) => objects.filter((o) => o && o.kind === kind);
  const id = (o) => `${o.kind}/${o.metadata && o.metadata.name}`;

  for (const o of objects) {
    if (!o || typeof o !== 'object' || !o.kind || !o.metadata || !o.metadata.name) {
      err('object', `without kind or metadata.name: ${JSON.stringify(o).slice(0, 80)}`);
      continue;
    }
    if (NAMESPACED_KINDS.has(o.kind) && !o.metadata.namespace) err(id(o), 'has no namespace (overlays set one)');
  }

  // Secrets are created out of band; a Secret object in the rendering means a secret value is in git.
  for (const s of byKind('Secret')) err(id(s), 'a Secret is rendered: secret values must not live in the manifests');

  // ConfigMaps carry configuration only, and only names the gateway reads.
  for (const cm of byKind('ConfigMap')) {
    for (const [key, value] of Object.entries(cm.data || {})) {
      if (/API_KEY|SECRET|TOKEN|PASSWORD/i.test(key)) err(id(cm), `${key} looks like a secret: use a Secret file`);
      if (/^sk_/.test(String(value))) err(id(cm), `${key} holds what looks like an API key (sk_...)`);
      if (key.startsWith('AARTHIK_') && !ctx.envNames.has(key)) {
        err(id(cm), `${key} is not an environment name the gateway reads (see aarthik-gateway --help)`);
      }
    }
    const d = cm.data || {};
    if ('AARTHIK_UPSTREAM_URL' in d) {
      if (!/^https:\/\/[^\s/]+/.test(d.AARTHIK_UPSTREAM_URL)) {
        err(id(cm), `AARTHIK_UPSTREAM_URL='${d.AARTHIK_UPSTREAM_URL}' must be an https:// URL`);
      } else if (/\.invalid(\/|$)/.test(d.AARTHIK_UPSTREAM_URL)) {
        err(id(cm), 'AARTHIK_UPSTREAM_URL is still the base placeholder: the overlay must set it');
      }
    }
    if ('AARTHIK_LOG_LEVEL' in d && !['debug', 'info', 'warning', 'error'].includes(d.AARTHIK_LOG_LEVEL)) {
      err(id(cm), `AARTHIK_LOG_LEVEL='${d.AARTHIK_LOG_LEVEL}' is not debug|info|warning|error`);
    }
    for (const key of ['AARTHIK_TENANT_ID', 'AARTHIK_APPLICATION_ID']) {
      const v = d[key];
      if (v && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v)) {
        err(id(cm), `${key}='${v}' is not a UUID`);
      }
    }
  }

  const deployments = byKind('Deployment');
  if (deployments.length !== 1) err('Deployment', `expected exactly one, found ${deployments.length}`);
  const deployment = deployments[0];
  if (!deployment) return { errors, notes };
  const dn = id(deployment);
  const spec = deployment.spec || {};
  const template = spec.template || {};
  const podLabels = (template.metadata && template.metadata.labels) || {};
  const pod = template.spec || {};
  if (!selectorMatches(spec.selector && spec.selector.matchLabels, podLabels)) {
    err(dn, 'spec.selector.matchLabels does not match the pod template labels');
  }
  if (pod.automountServiceAccountToken !== false) err(dn, 'automountServiceAccountToken must be false');

  const podSc = pod.securityContext || {};
  const containers = [...(pod.initContainers || []), ...(pod.containers || [])];
  if ((pod.containers || []).length === 0) err(dn, 'no containers');
  for (const c of containers) {
    const cn = `${dn} container ${c.name}`;
    const sc = c.securityContext || {};
    const eff = (k) => (sc[k] !== undefined ? sc[k] : podSc[k]);

    const problem = imageProblem(String(c.image || ''));
    if (problem) err(cn, problem);
    else if (/@sha256:0{64}$/.test(c.image)) notes.push(`${cn}: image digest is the all-zero placeholder`);

    if (eff('runAsNonRoot') !== true) err(cn, 'runAsNonRoot must be true');
    const uid = eff('runAsUser');
    if (!Number.isInteger(uid) || uid <= 0) err(cn, 'runAsUser must be a numeric non-root UID');
    if (sc.readOnlyRootFilesystem !== true) err(cn, 'readOnlyRootFilesystem must be true');
    if (sc.allowPrivilegeEscalation !== false) err(cn, 'allowPrivilegeEscalation must be false');
    if (sc.privileged === true) err(cn, 'must not be privileged');
    const drop = (sc.capabilities && sc.capabilities.drop) || [];
    if (!drop.includes('ALL')) err(cn, 'capabilities must drop ALL');
    if (((sc.capabilities && sc.capabilities.add) || []).length > 0) err(cn, 'must not add capabilities');
    const seccomp = eff('seccompProfile');
    if (!seccomp || !['RuntimeDefault', 'Localhost'].includes(seccomp.type)) {
      err(cn, 'seccompProfile must be RuntimeDefault (or Localhost)');
    }

    const res = c.resources || {};
    for (const kind of ['requests', 'limits']) {
      for (const r of ['cpu', 'memory']) {
        const q = res[kind] && res[kind][r];
        if (q === undefined) err(cn, `resources.${kind}.${r} is not set`);
        else if (Number.isNaN(parseQuantity(q))) err(cn, `resources.${kind}.${r}='${q}' is not a quantity`);
      }
    }
    for (const r of ['cpu', 'memory']) {
      const req = parseQuantity(res.requests && res.requests[r]);
      const lim = parseQuantity(res.limits && res.limits[r]);
      if (req > lim) err(cn, `resources.requests.${r} exceeds resources.limits.${r}`);
    }

    for (const e of c.env || []) {
      if (e.name === 'AARTHIK_API_KEY') err(cn, 'AARTHIK_API_KEY is set: the key must come from the mounted file');
      if (e.value !== undefined && /KEY|SECRET|TOKEN|PASSWORD/i.test(e.name)) {
        err(cn, `env ${e.name} inlines a secret value`);
      }
      if (e.value !== undefined && /^sk_/.test(String(e.value))) err(cn, `env ${e.name} holds an sk_ key`);
    }
    for (const ef of c.envFrom || []) {
      if (ef.secretRef) err(cn, 'envFrom secretRef puts secrets in the environment: mount them as files');
      if (ef.configMapRef && !byKind('ConfigMap').some((cm) => cm.metadata.name === ef.configMapRef.name)) {
        err(cn, `envFrom ConfigMap ${ef.configMapRef.name} is not in the rendering`);
      }
    }
  }

  const gw = (pod.containers || []).find((c) => (c.ports || []).some((p) => p.name === 'grpc'));
  if (!gw) {
    err(dn, 'no container has a port named grpc');
    return { errors, notes };
  }
  const gn = `${dn} container ${gw.name}`;
  const grpcPort = gw.ports.find((p) => p.name === 'grpc').containerPort;
  if (grpcPort !== 50051) err(gn, `gRPC containerPort is ${grpcPort}, expected 50051`);
  const httpPort = (gw.ports || []).find((p) => p.name === 'http');
  if (!httpPort || httpPort.containerPort !== 8080) err(gn, 'needs an HTTP containerPort 8080 named http');

  // Probes: native gRPC, on the gRPC port, asking grpc.health.v1 about "" or a service the gateway serves.
  for (const probeName of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
    const probe = gw[probeName];
    if (!probe) {
      if (probeName !== 'startupProbe') err(gn, `${probeName} is missing`);
      continue;
    }
    for (const other of ['httpGet', 'tcpSocket', 'exec']) {
      if (probe[other]) err(gn, `${probeName} uses ${other}: use the native grpc probe on the health service`);
    }
    if (!probe.grpc) {
      err(gn, `${probeName} is not a native grpc probe`);
      continue;
    }
    if (probe.grpc.port !== grpcPort) err(gn, `${probeName} targets port ${probe.grpc.port}, not the gRPC port ${grpcPort}`);
    const svc = probe.grpc.service;
    if (svc === 'aarthik.gateway.upstream') {
      // Follows the platform circuit breaker: a platform outage would fail every pod's probe at once.
      err(gn, `${probeName} asks about aarthik.gateway.upstream: a platform outage would take every pod down`);
    } else if (svc !== undefined && svc !== '' && !ctx.services.has(svc)) {
      err(gn, `${probeName} asks health about '${svc}', which no proto under proto/ declares`);
    }
  }

  // The API key and the web-hook secret: --api-key-file / --webhook-secret-file pointing into a read-only
  // mount of a Secret (without the web-hook secret the receiver refuses every delivery).
  const args = [...(gw.command || []), ...(gw.args || [])];
  for (const [flag, what] of [['--api-key-file', 'API key'], ['--webhook-secret-file', 'web-hook secret']]) {
    let secretFile = null;
    args.forEach((a, i) => {
      if (a === flag) secretFile = args[i + 1];
      else if (String(a).startsWith(flag + '=')) secretFile = a.slice(flag.length + 1);
    });
    if (!secretFile) {
      err(gn, `no ${flag} argument: the ${what} must be read from a mounted Secret`);
      continue;
    }
    const mount = (gw.volumeMounts || []).find((m) => secretFile.startsWith(m.mountPath.replace(/\/?$/, '/')));
    const volume = mount && (pod.volumes || []).find((v) => v.name === mount.name);
    const file = mount && secretFile.slice(mount.mountPath.replace(/\/?$/, '/').length);
    const secretSources = !volume ? [] : volume.secret ? [volume.secret]
      : ((volume.projected && volume.projected.sources) || []).filter((s) => s.secret).map((s) => s.secret);
    const src = secretSources.find((s) => (s.items ? s.items.some((it) => it.path === file) : true));
    if (!mount) err(gn, `${flag} ${secretFile} is not under any volumeMount`);
    else if (!src) err(gn, `${flag} ${secretFile} is not provided by a Secret volume`);
    else {
      if (mount.readOnly !== true) err(gn, `the Secret mount ${mount.mountPath} must be readOnly`);
      if (mount.subPath) err(gn, 'the Secret is mounted with subPath, which Kubernetes never refreshes');
      if (src.optional === true) err(gn, `the ${what} Secret must not be optional`);
    }
  }

  // /tmp is the only writable place.
  const tmp = (gw.volumeMounts || []).find((m) => m.mountPath === '/tmp');
  const tmpVol = tmp && (pod.volumes || []).find((v) => v.name === tmp.name);
  if (!tmpVol || !tmpVol.emptyDir) err(gn, '/tmp must be an emptyDir mount');

  // Drain: the pod must be allowed the preStop sleep plus the gateway's grace, with some slack.
  const preStop = gw.lifecycle && gw.lifecycle.preStop;
  let sleepSeconds = 0;
  if (preStop && preStop.exec) {
    const cmd = preStop.exec.command || [];
    if (/(^|\/)sleep$/.test(cmd[0] || '')) sleepSeconds = Number(cmd[1]) || 0;
  } else if (preStop && preStop.sleep) sleepSeconds = preStop.sleep.seconds || 0;
  const grace = pod.terminationGracePeriodSeconds === undefined ? 30 : pod.terminationGracePeriodSeconds;
  const drainSeconds = effectiveDrainSeconds(gw, byKind('ConfigMap'), ctx.drainSeconds);
  if (Number.isNaN(drainSeconds)) err(gn, 'the shutdown grace is not a duration such as 20s');
  else if (grace <= sleepSeconds + drainSeconds) {
    err(dn, `terminationGracePeriodSeconds ${grace} must exceed preStop ${sleepSeconds}s + drain ${drainSeconds}s`);
  }

  // Spread over nodes/zones.
  const tsc = pod.topologySpreadConstraints || [];
  if (tsc.length === 0) err(dn, 'no topologySpreadConstraints');
  for (const t of tsc) {
    if (!selectorMatches(t.labelSelector && t.labelSelector.matchLabels, podLabels)) {
      err(dn, `topologySpreadConstraint on ${t.topologyKey} does not select the gateway pods`);
    }
  }

  // Service: selects the pods; grpc port (appProtocol grpc) to the container's gRPC port; http port.
  const services = byKind('Service');
  const mainSvc = services.find((s) => s.spec && s.spec.clusterIP !== 'None');
  if (!mainSvc) err('Service', 'no ClusterIP Service');
  for (const s of services) {
    const sn = id(s);
    if (!selectorMatches(s.spec && s.spec.selector, podLabels)) err(sn, 'selector does not match the gateway pods');
    const ports = (s.spec && s.spec.ports) || [];
    const g = ports.find((p) => p.name === 'grpc');
    if (!g) err(sn, 'no port named grpc');
    else {
      if (g.appProtocol !== 'grpc') err(sn, 'the grpc port needs appProtocol: grpc');
      if (g.targetPort !== 'grpc' && g.targetPort !== grpcPort) err(sn, 'the grpc port does not target the gRPC container port');
    }
    if (s === mainSvc && !ports.some((p) => p.name === 'http')) err(sn, 'no port named http');
  }

  // NetworkPolicy: default-deny both ways for the pods, DNS and HTTPS out.
  const policies = byKind('NetworkPolicy').filter((np) => selectorMatches(np.spec.podSelector.matchLabels, podLabels));
  if (policies.length === 0) err('NetworkPolicy', 'none selects the gateway pods');
  for (const np of policies) {
    const types = np.spec.policyTypes || [];
    if (!types.includes('Ingress') || !types.includes('Egress')) err(id(np), 'policyTypes must be Ingress and Egress');
    const egressPorts = (np.spec.egress || []).flatMap((r) => (r.ports || []).map((p) => `${p.protocol || 'TCP'}/${p.port}`));
    for (const need of ['UDP/53', 'TCP/443']) {
      if (!egressPorts.includes(need)) err(id(np), `egress does not allow ${need}`);
    }
    for (const rule of np.spec.ingress || []) {
      if (!rule.from || rule.from.length === 0) err(id(np), 'an ingress rule allows every source');
    }
  }

  // HPA and PDB: required in prod, sane wherever present.
  const hpas = byKind('HorizontalPodAutoscaler');
  const pdbs = byKind('PodDisruptionBudget');
  const replicas = spec.replicas === undefined ? 1 : spec.replicas;
  for (const h of hpas) {
    const ref = h.spec.scaleTargetRef || {};
    if (ref.kind !== 'Deployment' || ref.name !== deployment.metadata.name) err(id(h), 'does not scale the gateway Deployment');
    if (h.apiVersion !== 'autoscaling/v2') err(id(h), 'must be autoscaling/v2');
    if (!(h.spec.minReplicas >= 1) || !(h.spec.maxReplicas >= h.spec.minReplicas)) err(id(h), 'bounds must be 1 <= min <= max');
    if (!(h.spec.metrics || []).some((m) => m.type === 'Resource' && m.resource && m.resource.name === 'cpu')) {
      err(id(h), 'has no CPU metric');
    }
  }
  for (const p of pdbs) {
    if (!selectorMatches(p.spec.selector && p.spec.selector.matchLabels, podLabels)) err(id(p), 'does not select the gateway pods');
    if (p.spec.minAvailable !== undefined && p.spec.minAvailable >= replicas) {
      err(id(p), `minAvailable ${p.spec.minAvailable} with ${replicas} replicas blocks every voluntary eviction`);
    }
  }
  // Replicas must share borrower tokens: the platform rotates refresh tokens, so two replicas with their own
  // copies revoke each other's sessions. More than one pod possible => AARTHIK_REDIS_URL must be set.
  const maxPods = Math.max(replicas, ...hpas.map((h) => h.spec.maxReplicas || 1));
  if (maxPods > 1) {
    const redisUrl = byKind('ConfigMap').map((cm) => (cm.data || {}).AARTHIK_REDIS_URL).find((v) => v !== undefined);
    const redisArg = containers.some((c) => (c.args || []).some((a) => String(a).startsWith('--redis-url')));
    if (!redisArg && !(redisUrl && redisUrl.startsWith('redis://'))) {
      err(dn, `up to ${maxPods} replicas but no shared token store: set AARTHIK_REDIS_URL (redis://...)`);
    }
  }
  if (ctx.overlay === 'prod') {
    if (hpas.length === 0) err('prod', 'no HorizontalPodAutoscaler');
    if (pdbs.length === 0) err('prod', 'no PodDisruptionBudget');
    if (replicas < 3) err(dn, `prod needs 3+ replicas, has ${replicas}`);
    for (const h of hpas) if (h.spec.minReplicas < 3 || h.spec.maxReplicas <= h.spec.minReplicas) err(id(h), 'prod bounds must be 3 <= min < max');
    for (const p of pdbs) {
      const strict = (p.spec.minAvailable !== undefined && p.spec.minAvailable >= 2) ||
          (p.spec.maxUnavailable !== undefined && p.spec.maxUnavailable === 1 && replicas >= 3);
      if (!strict) err(id(p), 'prod PDB must keep at least two pods (minAvailable >= 2)');
    }
    for (const c of containers) {
      if (!parseImage(String(c.image)).digest) err(`${dn} container ${c.name}`, 'prod images must be pinned by digest');
    }
    // Who may call what (docs/security.md): prod runs with an authorization policy from a ConfigMap (so it
    // is reviewed like code and re-read without a restart when the ConfigMap changes), never with it off.
    const configMaps = byKind('ConfigMap');
    const policyFile = effectiveSetting(gw, configMaps, 'authz-policy-file');
    const mode = effectiveSetting(gw, configMaps, 'authz-mode') || 'enforce';
    if (!policyFile) {
      err(gn, 'prod has no authorization policy: set AARTHIK_AUTHZ_POLICY_FILE to a file of a mounted ConfigMap');
    } else {
      const source = configMapFile(gw, pod, configMaps, policyFile);
      if (source.problem) err(gn, `the authorization policy ${policyFile} ${source.problem}`);
      else if (!/^\s*rules\s*:/m.test(source.configMap.data[source.key])) {
        err(gn, `the authorization policy in ConfigMap ${source.configMap.metadata.name} has no rules: list`);
      }
    }
    if (mode === 'off') err(gn, 'prod runs with AARTHIK_AUTHZ_MODE=off: every caller may call every RPC');
    else if (mode === 'audit-only') notes.push('prod authorization is audit-only (a roll-out step: nothing is refused)');
    const jwks = effectiveSetting(gw, configMaps, 'jwt-jwks-file');
    if (jwks) {
      const source = configMapFile(gw, pod, configMaps, jwks);
      if (source.problem) err(gn, `the JWKS ${jwks} ${source.problem}`);
    }
  }
  return { errors, notes };
}

// The in-cluster Redis, when rendered: one workload (Deployment or StatefulSet) with a pinned image (by
// digest in prod), non-root read-only containers, requests and limits, liveness and readiness probes, the
// password from a Secret that is not optional; a Service selecting it on 6379; a NetworkPolicy that admits
// only the gateway pods (no namespace or IP sources); and the gateway holding the same password file. Where
// no Redis is rendered, a redis-url naming aarthik-redis is an error (a managed Redis has another host).
function redisErrors(objects, ctx) {
  const errors = [];
  const err = (what, msg) => errors.push(`${what}: ${msg}`);
  const id = (o) => `${o.kind}/${o.metadata.name}`;
  const redis = objects.filter(isRedis);
  const gateway = objects.find((o) => o.kind === 'Deployment' && !isRedis(o));
  const gwPod = gateway && gateway.spec.template;
  const redisUrl = objects.filter((o) => o.kind === 'ConfigMap').map((cm) => (cm.data || {}).AARTHIK_REDIS_URL)
    .find((v) => v !== undefined) || '';
  const workloads = redis.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
  if (redis.length === 0) {
    if (/^redis:\/\/aarthik-redis[:/]/.test(redisUrl)) {
      err('redis', `AARTHIK_REDIS_URL=${redisUrl} names the in-cluster Redis, which is not rendered (components/redis)`);
    }
    return errors;
  }
  if (workloads.length !== 1) {
    err('redis', `expected one Redis Deployment or StatefulSet, found ${workloads.length}`);
    return errors;
  }
  const w = workloads[0];
  const wn = id(w);
  const labels = (w.spec.template.metadata && w.spec.template.metadata.labels) || {};
  const pod = w.spec.template.spec || {};
  if (!selectorMatches(w.spec.selector && w.spec.selector.matchLabels, labels)) err(wn, 'selector does not match its pods');
  if (pod.automountServiceAccountToken !== false) err(wn, 'automountServiceAccountToken must be false');
  const podSc = pod.securityContext || {};
  const containers = [...(pod.initContainers || []), ...(pod.containers || [])];
  let passwordFromSecret = false;
  for (const c of containers) {
    const cn = `${wn} container ${c.name}`;
    const sc = c.securityContext || {};
    const eff = (k) => (sc[k] !== undefined ? sc[k] : podSc[k]);
    const problem = imageProblem(String(c.image || ''));
    if (problem) err(cn, problem);
    if (ctx.overlay === 'prod' && !parseImage(String(c.image)).digest) err(cn, 'prod images must be pinned by digest');
    if (eff('runAsNonRoot') !== true) err(cn, 'runAsNonRoot must be true');
    const uid = eff('runAsUser');
    if (!Number.isInteger(uid) || uid <= 0) err(cn, 'runAsUser must be a numeric non-root UID');
    if (sc.readOnlyRootFilesystem !== true) err(cn, 'readOnlyRootFilesystem must be true');
    if (sc.allowPrivilegeEscalation !== false) err(cn, 'allowPrivilegeEscalation must be false');
    if (!(((sc.capabilities && sc.capabilities.drop) || []).includes('ALL'))) err(cn, 'capabilities must drop ALL');
    const res = c.resources || {};
    for (const kind of ['requests', 'limits']) {
      for (const r of ['cpu', 'memory']) {
        if (!(res[kind] && res[kind][r] !== undefined)) err(cn, `resources.${kind}.${r} is not set`);
      }
    }
    if ((pod.containers || []).includes(c)) {
      if (!c.livenessProbe) err(cn, 'livenessProbe is missing');
      if (!c.readinessProbe) err(cn, 'readinessProbe is missing');
    }
    for (const e of c.env || []) {
      if (e.value !== undefined && /PASSWORD|SECRET|TOKEN/i.test(e.name)) err(cn, `env ${e.name} inlines a secret value`);
      if (e.valueFrom && e.valueFrom.secretKeyRef && e.valueFrom.secretKeyRef.optional !== true) passwordFromSecret = true;
    }
    for (const m of c.volumeMounts || []) {
      const v = (pod.volumes || []).find((x) => x.name === m.name);
      if (v && v.secret && v.secret.optional !== true) passwordFromSecret = true;
    }
    if ((c.args || []).concat(c.command || []).some((a) => /requirepass\s+[^"$]/.test(String(a)))) {
      err(cn, 'requirepass is given inline: read it from the Secret');
    }
  }
  if (!passwordFromSecret) err(wn, 'the Redis password does not come from a (non-optional) Secret');

  const services = redis.filter((o) => o.kind === 'Service');
  if (!services.some((s) => selectorMatches(s.spec.selector, labels) &&
      (s.spec.ports || []).some((p) => p.port === 6379))) {
    err('redis', 'no Service selects the Redis pods on port 6379');
  }
  const policies = redis.filter((o) => o.kind === 'NetworkPolicy' &&
      selectorMatches(o.spec.podSelector && o.spec.podSelector.matchLabels, labels));
  if (policies.length === 0) err('redis', 'no NetworkPolicy selects the Redis pods');
  const gwLabels = (gwPod && gwPod.metadata && gwPod.metadata.labels) || {};
  for (const np of policies) {
    if (!(np.spec.policyTypes || []).includes('Ingress')) err(id(np), 'policyTypes must include Ingress');
    for (const rule of np.spec.ingress || []) {
      for (const from of rule.from || [{}]) {
        if (from.namespaceSelector || from.ipBlock || !from.podSelector ||
            !selectorMatches(from.podSelector.matchLabels, gwLabels)) {
          err(id(np), `admits ${JSON.stringify(from)}: only the gateway pods may reach Redis`);
        }
      }
      if (!rule.from || rule.from.length === 0) err(id(np), 'an ingress rule admits every source');
    }
  }
  // The gateway authenticates with a password file from a Secret.
  const gw = gwPod && (gwPod.spec.containers || []).find((c) => (c.ports || []).some((p) => p.name === 'grpc'));
  const args = gw ? [...(gw.command || []), ...(gw.args || [])].map(String) : [];
  const i = args.findIndex((a) => a === '--redis-password-file' || a.startsWith('--redis-password-file='));
  if (i < 0) err('redis', 'the gateway has no --redis-password-file while Redis requires a password');
  return errors;
}

function checkAll(objects, ctx) {
  const errors = [];
  objects.forEach((o) => {
    for (const e of schemaErrors(o)) errors.push(`${o.kind}/${o.metadata && o.metadata.name}: ${e}`);
  });
  const policy = policyErrors(objects, ctx);
  return { errors: errors.concat(policy.errors, redisErrors(objects, ctx)), notes: policy.notes };
}

// ---------------------------------------------------------------------------------------------------------
// Self-test: each break of a good rendering must produce an error matching `expect`.

const clone = (x) => JSON.parse(JSON.stringify(x));
const dep = (objs) => objs.find((o) => o.kind === 'Deployment' && !isRedis(o));
const rdep = (objs) => objs.find((o) => (o.kind === 'Deployment' || o.kind === 'StatefulSet') && isRedis(o));
const rc = (objs) => rdep(objs).spec.template.spec.containers[0];
const gwc = (objs) => dep(objs).spec.template.spec.containers[0];

const BREAKS = [
  { name: 'image :latest', expect: /:latest/, apply: (o) => { gwc(o).image = 'registry.example.com/aarthik/aarthik-gateway:latest'; } },
  { name: 'image unpinned', expect: /not pinned|by digest/, apply: (o) => { gwc(o).image = 'registry.example.com/aarthik/aarthik-gateway'; } },
  { name: 'liveness over HTTP', expect: /livenessProbe uses httpGet|not a native grpc/, apply: (o) => { gwc(o).livenessProbe = { httpGet: { path: '/healthz', port: 8080 } }; } },
  { name: 'readiness on the wrong port', expect: /readinessProbe targets port/, apply: (o) => { gwc(o).readinessProbe.grpc.port = 8080; } },
  { name: 'readiness on an unknown service', expect: /no proto under proto\/ declares/, apply: (o) => { gwc(o).readinessProbe.grpc.service = 'aarthik.nope.v1.Nope'; } },
  { name: 'readiness on the upstream breaker', expect: /aarthik\.gateway\.upstream/, apply: (o) => { gwc(o).readinessProbe.grpc.service = 'aarthik.gateway.upstream'; } },
  { name: 'no readiness probe', expect: /readinessProbe is missing/, apply: (o) => { delete gwc(o).readinessProbe; } },
  { name: 'runs as root', expect: /runAsNonRoot|runAsUser/, apply: (o) => { gwc(o).securityContext.runAsNonRoot = false; gwc(o).securityContext.runAsUser = 0; } },
  { name: 'writable root fs', expect: /readOnlyRootFilesystem/, apply: (o) => { delete gwc(o).securityContext.readOnlyRootFilesystem; } },
  { name: 'privilege escalation', expect: /allowPrivilegeEscalation/, apply: (o) => { gwc(o).securityContext.allowPrivilegeEscalation = true; } },
  { name: 'capabilities kept', expect: /drop ALL/, apply: (o) => { gwc(o).securityContext.capabilities.drop = ['NET_RAW']; } },
  { name: 'no seccomp', expect: /seccompProfile/, apply: (o) => { delete gwc(o).securityContext.seccompProfile; delete dep(o).spec.template.spec.securityContext.seccompProfile; } },
  { name: 'no memory limit', expect: /limits\.memory is not set/, apply: (o) => { delete gwc(o).resources.limits.memory; } },
  { name: 'no resources', expect: /requests\.cpu is not set/, apply: (o) => { delete gwc(o).resources; } },
  { name: 'API key inlined in env', expect: /AARTHIK_API_KEY is set|inlines a secret/, apply: (o) => { gwc(o).env = [{ name: 'AARTHIK_API_KEY', value: 'sk_test_123' }]; } },
  { name: 'API key from envFrom secretRef', expect: /envFrom secretRef/, apply: (o) => { gwc(o).envFrom.push({ secretRef: { name: 'aarthik-gateway-api-key' } }); } },
  { name: 'no --api-key-file', expect: /no --api-key-file/, apply: (o) => { gwc(o).args = []; } },
  { name: 'no --webhook-secret-file', expect: /no --webhook-secret-file/, apply: (o) => { gwc(o).args = gwc(o).args.slice(0, 2); } },
  { name: 'optional web-hook secret', expect: /web-hook secret Secret must not be optional/, apply: (o) => { dep(o).spec.template.spec.volumes.find((v) => v.name === 'secrets').projected.sources[1].secret.optional = true; } },
  { name: 'key file not from a Secret', expect: /not provided by a Secret volume|not under any volumeMount/, apply: (o) => { dep(o).spec.template.spec.volumes.find((v) => v.name === 'secrets').projected.sources = []; } },
  { name: 'Secret rendered', expect: /a Secret is rendered/, apply: (o) => { o.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'n' }, stringData: { 'api-key': 'sk_x' } }); } },
  { name: 'key in ConfigMap', expect: /looks like a secret/, apply: (o) => { o.find((x) => x.kind === 'ConfigMap').data.AARTHIK_API_KEY = 'sk_test_1'; } },
  { name: 'ConfigMap typo', expect: /not an environment name the gateway reads/, apply: (o) => { o.find((x) => x.kind === 'ConfigMap').data.AARTHIK_LOGLEVEL = 'debug'; } },
  { name: 'no /tmp emptyDir', expect: /\/tmp must be an emptyDir/, apply: (o) => { gwc(o).volumeMounts = gwc(o).volumeMounts.filter((m) => m.mountPath !== '/tmp'); } },
  { name: 'grace too short', expect: /terminationGracePeriodSeconds/, apply: (o) => { dep(o).spec.template.spec.terminationGracePeriodSeconds = 5; } },
  { name: 'drain longer than the pod grace', expect: /terminationGracePeriodSeconds/, apply: (o) => { o.find((x) => x.kind === 'ConfigMap').data.AARTHIK_SHUTDOWN_GRACE = '1m'; } },
  { name: 'replicas without Redis', expect: /no shared token store/, apply: (o) => { o.find((x) => x.kind === 'ConfigMap').data.AARTHIK_REDIS_URL = ''; } },
  { name: 'no topology spread', expect: /topologySpreadConstraints/, apply: (o) => { delete dep(o).spec.template.spec.topologySpreadConstraints; } },
  { name: 'Service misses pods', expect: /selector does not match/, apply: (o) => { o.find((x) => x.kind === 'Service').spec.selector = { app: 'other' }; } },
  { name: 'Service without appProtocol', expect: /appProtocol: grpc/, apply: (o) => { delete o.find((x) => x.kind === 'Service').spec.ports[0].appProtocol; } },
  { name: 'no NetworkPolicy', expect: /NetworkPolicy: none selects/, apply: (o) => { o.splice(o.findIndex((x) => x.kind === 'NetworkPolicy'), 1); } },
  { name: 'no PDB in prod', expect: /no PodDisruptionBudget/, prodOnly: true, apply: (o) => { o.splice(o.findIndex((x) => x.kind === 'PodDisruptionBudget'), 1); } },
  { name: 'no HPA in prod', expect: /no HorizontalPodAutoscaler/, prodOnly: true, apply: (o) => { o.splice(o.findIndex((x) => x.kind === 'HorizontalPodAutoscaler'), 1); } },
  { name: 'one replica in prod', expect: /3\+ replicas/, prodOnly: true, apply: (o) => { dep(o).spec.replicas = 1; } },
  { name: 'no authorization policy in prod', expect: /no authorization policy/, prodOnly: true, apply: (o) => { for (const cm of o.filter((x) => x.kind === 'ConfigMap')) delete (cm.data || {}).AARTHIK_AUTHZ_POLICY_FILE; } },
  { name: 'authorization off in prod', expect: /AUTHZ_MODE=off/, prodOnly: true, apply: (o) => { o.find((x) => x.kind === 'ConfigMap' && x.data && x.data.AARTHIK_AUTHZ_MODE).data.AARTHIK_AUTHZ_MODE = 'off'; } },
  { name: 'policy ConfigMap missing in prod', expect: /authorization policy .* (not in the rendering|not under any volumeMount|not provided)/, prodOnly: true, apply: (o) => { o.splice(o.findIndex((x) => x.kind === 'ConfigMap' && x.data && x.data['policy.yaml'] !== undefined), 1); } },
  { name: 'schema: container without name', expect: /schema:.*name/, apply: (o) => { delete gwc(o).name; } },
  { name: 'schema: grpc probe without port', expect: /schema:.*port/, apply: (o) => { delete gwc(o).livenessProbe.grpc.port; } },
  { name: 'redis as root', expect: /aarthik-redis container redis: runAsNonRoot|aarthik-redis container redis: runAsUser/, redisOnly: true, apply: (o) => { rc(o).securityContext.runAsNonRoot = false; rc(o).securityContext.runAsUser = 0; rdep(o).spec.template.spec.securityContext.runAsUser = 0; } },
  { name: 'redis without resources', expect: /aarthik-redis container redis: resources/, redisOnly: true, apply: (o) => { delete rc(o).resources; } },
  { name: 'redis without readiness probe', expect: /aarthik-redis container redis: readinessProbe/, redisOnly: true, apply: (o) => { delete rc(o).readinessProbe; } },
  { name: 'redis password not from a Secret', expect: /Redis password does not come from/, redisOnly: true, apply: (o) => { rdep(o).spec.template.spec.volumes = rdep(o).spec.template.spec.volumes.filter((v) => !v.secret); rc(o).volumeMounts = rc(o).volumeMounts.filter((m) => m.name !== 'auth'); } },
  { name: 'redis open to every namespace', expect: /only the gateway pods may reach Redis/, redisOnly: true, apply: (o) => { o.find((x) => x.kind === 'NetworkPolicy' && isRedis(x)).spec.ingress[0].from.push({ namespaceSelector: {} }); } },
  { name: 'redis without NetworkPolicy', expect: /no NetworkPolicy selects the Redis pods/, redisOnly: true, apply: (o) => { o.splice(o.findIndex((x) => x.kind === 'NetworkPolicy' && isRedis(x)), 1); } },
  { name: 'redis without Service', expect: /no Service selects the Redis pods/, redisOnly: true, apply: (o) => { o.splice(o.findIndex((x) => x.kind === 'Service' && isRedis(x)), 1); } },
  { name: 'gateway without the Redis password', expect: /no --redis-password-file/, redisOnly: true, apply: (o) => { gwc(o).args = gwc(o).args.filter((a) => !/redis-password/.test(a)); } },
  { name: 'in-cluster Redis URL without Redis', expect: /names the in-cluster Redis, which is not rendered/, redisOnly: true, apply: (o) => { for (let i = o.length - 1; i >= 0; --i) if (isRedis(o[i])) o.splice(i, 1); } },
  { name: 'schema: port as text', expect: /schema:/, apply: (o) => { gwc(o).ports[0].containerPort = 'fifty'; } },
];

// ---------------------------------------------------------------------------------------------------------

function main() {
  const [mode, repoRoot, overlay, renderedFile] = process.argv.slice(2);
  if (!['check', 'self-test'].includes(mode) || !renderedFile) {
    console.error('usage: check_manifests.js check|self-test <repo_root> <overlay> <rendered.json>');
    process.exit(2);
  }
  const objects = JSON.parse(fs.readFileSync(renderedFile, 'utf8')).filter((o) => o !== null);
  const ctx = { overlay, services: protoServices(repoRoot), envNames: gatewayEnvNames(repoRoot),
    drainSeconds: drainGraceSeconds(repoRoot) };

  if (mode === 'check') {
    const { errors, notes } = checkAll(objects, ctx);
    for (const n of notes) console.log(`  note: ${n}`);
    for (const e of errors) console.log(`  FAIL ${overlay}: ${e}`);
    console.log(`  ${overlay}: ${objects.length} objects, ${errors.length} problem(s)`);
    process.exit(errors.length === 0 ? 0 : 1);
  }

  const base = checkAll(objects, ctx);
  if (base.errors.length > 0) {
    console.log(`  self-test needs a clean rendering; ${overlay} has: ${base.errors.join('; ')}`);
    process.exit(1);
  }
  let missed = 0;
  let run = 0;
  for (const b of BREAKS) {
    if (b.prodOnly && overlay !== 'prod') continue;
    if (b.redisOnly && !objects.some(isRedis)) continue;
    run++;
    const broken = clone(objects);
    b.apply(broken);
    const { errors } = checkAll(broken, ctx);
    if (!errors.some((e) => b.expect.test(e))) {
      missed++;
      console.log(`  MISSED ${overlay} break '${b.name}': got ${errors.length ? errors.join('; ') : 'no error'}`);
    }
  }
  console.log(`  ${overlay}: ${run - missed}/${run} deliberate breaks caught`);
  process.exit(missed === 0 ? 0 : 1);
}

main();
