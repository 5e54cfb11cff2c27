#!/usr/bin/env bash
# Checks deploy/ without a cluster or a Docker engine:
#   1. yamllint --strict on deploy/ (config deploy/.yamllint);
#   2. static checks of deploy/Dockerfile (check_dockerfile.js);
#   3. every overlay under deploy/k8s/overlays rendered with `kubectl kustomize`, each object validated with npm
#      kubernetes-models, plus our rules (check_manifests.js: gRPC health probes, pinned images, non-root
#      read-only containers, resources, the API key as a mounted Secret file, PDB/HPA in prod, ...);
#   4. that the checks can fail: deliberate breaks of each rendering (check_manifests.js self-test), and of
#      the sources (an overlay pinned to :latest, a base without readOnlyRootFilesystem, a Dockerfile running
#      as root, invalid YAML), each of which must be reported.
# Needs: kubectl (Debian's kubernetes-client 1.20, whose kustomize v2 the overlays are written for, or any newer),
# yamllint, node, Debian python3-yaml (a dependency of yamllint), and kubernetes-models in tools/node_modules (scripts/setup installs them).
# Usage: tests/deploy/deploy_test.sh [repo_root]          KUBECTL=/path/to/kubectl to choose the kubectl.
set -euo pipefail

REPO="$(cd "${1:-$(dirname "$0")/../..}" && pwd)"
HERE="$REPO/tests/deploy"
KUBECTL="${KUBECTL:-kubectl}"
export NODE_PATH="$REPO/tools/node_modules"

# Debian's interpreter has python3-yaml; a python3 earlier on PATH may be another one without it.
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON="$(command -v python3 || true)"

missing=()
command -v "$KUBECTL" >/dev/null 2>&1 || missing+=("kubectl (Debian package kubernetes-client)")
command -v yamllint >/dev/null 2>&1 || missing+=("yamllint (Debian package yamllint)")
command -v node >/dev/null 2>&1 || missing+=("node (Debian package nodejs)")
{ [ -n "$PYTHON" ] && "$PYTHON" -c 'import yaml' 2>/dev/null; } || missing+=("python3 with PyYAML (Debian python3-yaml)")
[ -d "$NODE_PATH/kubernetes-models" ] || missing+=("npm kubernetes-models in tools/node_modules")
if [ ${#missing[@]} -gt 0 ]; then
  printf 'deploy_test: missing %s\n' "${missing[@]}" >&2
  echo 'deploy_test: run scripts/setup' >&2
  exit 1
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }

# Renders a kustomization directory to a JSON array of objects. Kustomize's deprecation warnings (v5 about
# the v2-compatible `bases`/`patchesStrategicMerge`) go to stderr and are dropped unless rendering fails.
render() {  # render <kustomization dir> <out.json>
  local yaml="$WORK/render.yaml" err="$WORK/render.err"
  if ! "$KUBECTL" kustomize "$1" >"$yaml" 2>"$err"; then
    grep -v '^# Warning:' "$err" >&2 || true
    return 1
  fi
  "$PYTHON" -c 'import json, sys, yaml
json.dump([d for d in yaml.safe_load_all(sys.stdin) if d is not None], sys.stdout)' <"$yaml" >"$2"
}

# Renders and checks every overlay of the deploy tree rooted at $1; prints one line per problem.
check_tree() {  # check_tree <deploy dir> <label> ; returns non-zero when anything fails
  local deploy="$1" label="$2" status=0 overlay name
  yamllint --strict -c "$deploy/.yamllint" "$deploy" || status=1
  node "$HERE/check_dockerfile.js" "$deploy/Dockerfile" || status=1
  for overlay in "$deploy"/k8s/overlays/*/; do
    name="$(basename "$overlay")"
    if ! render "$overlay" "$WORK/$label-$name.json"; then
      echo "  $name: kubectl kustomize failed"
      status=1
      continue
    fi
    node "$HERE/check_manifests.js" check "$REPO" "$name" "$WORK/$label-$name.json" || status=1
  done
  return $status
}

echo "== kubectl: $("$KUBECTL" version --client 2>/dev/null | head -1)"

# 1-3: the real tree.
overlays=("$REPO"/deploy/k8s/overlays/*/)
[ -d "${overlays[0]}" ] || { bad "no overlays under deploy/k8s/overlays"; exit 1; }
if yamllint --strict -c "$REPO/deploy/.yamllint" "$REPO/deploy"; then ok "yamllint deploy/"; else bad "yamllint deploy/"; fi
if node "$HERE/check_dockerfile.js" "$REPO/deploy/Dockerfile"; then ok "Dockerfile"; else bad "Dockerfile"; fi
if render "$REPO/deploy/k8s/base" "$WORK/base.json"; then ok "base renders"; else bad "base renders"; fi
for overlay in "${overlays[@]}"; do
  name="$(basename "$overlay")"
  if ! render "$overlay" "$WORK/$name.json"; then
    bad "overlay $name renders"
    continue
  fi
  ok "overlay $name renders"
  if node "$HERE/check_manifests.js" check "$REPO" "$name" "$WORK/$name.json"; then
    ok "overlay $name: schema and rules"
  else
    bad "overlay $name: schema and rules"
  fi
  # 4a: the rules catch deliberate breaks of this rendering.
  if node "$HERE/check_manifests.js" self-test "$REPO" "$name" "$WORK/$name.json"; then
    ok "overlay $name: deliberate breaks are caught"
  else
    bad "overlay $name: deliberate breaks are caught"
  fi
done

# 4b: broken sources fail the whole pipeline. Each case copies deploy/, breaks one thing, and must fail.
break_case() {  # break_case <description> <command run inside the copy's deploy/ dir>
  local copy="$WORK/broken" out
  rm -rf "$copy"
  mkdir -p "$copy"
  cp -r "$REPO/deploy" "$copy/deploy"
  (cd "$copy/deploy" && eval "$2")
  if out="$(check_tree "$copy/deploy" broken 2>&1)"; then
    bad "broken source not detected: $1"
    echo "$out" | sed 's/^/    /'
  else
    ok "broken source detected: $1 ($(echo "$out" | grep -m1 -E 'FAIL|error|failed' | sed 's/^ *//' | cut -c1-110))"
  fi
}
# Sanity: an unbroken copy passes, so the cases below fail for their break and not for the copying.
if out="$(check_tree "$REPO/deploy" good 2>&1)"; then ok "unbroken tree passes check_tree"; else bad "unbroken tree fails check_tree"; echo "$out"; fi
break_case "dev image pinned to :latest" "sed -i 's/newTag: .*/newTag: latest/' k8s/overlays/dev/kustomization.yaml"
break_case "prod image without digest, tag latest" \
  "sed -i -e '/digest: sha256/d' -e 's/newTag: .*/newTag: latest/' k8s/overlays/prod/kustomization.yaml"
break_case "base without readOnlyRootFilesystem" \
  "sed -i 's/readOnlyRootFilesystem: true/readOnlyRootFilesystem: false/' k8s/base/deployment.yaml"
break_case "readiness probe over HTTP" \
  "sed -i '/readinessProbe:/,/periodSeconds/{s/grpc:/httpGet:/;s/port: 50051/port: 8080/;s/service: \"\"/path: \\/healthz/}' k8s/base/deployment.yaml"
break_case "prod without PDB" "sed -i '/pdb.yaml/d' k8s/base/kustomization.yaml; sed -i '/pdb-patch.yaml/d' k8s/overlays/prod/kustomization.yaml"
break_case "prod without the Redis component" "sed -i 's|../../components/redis|../../base|' k8s/overlays/prod/kustomization.yaml"
break_case "Redis reachable from every namespace" \
  "sed -i 's/^        - podSelector:/        - namespaceSelector: {}\n          podSelector:/' k8s/components/redis/networkpolicy.yaml"
break_case "Redis running as root" "sed -i 's/runAsUser: 999.*/runAsUser: 0/' k8s/components/redis/deployment.yaml"
break_case "prod without an authorization policy" "sed -i '/AARTHIK_AUTHZ_POLICY_FILE/d' k8s/overlays/prod/kustomization.yaml"
break_case "Dockerfile running as root" "sed -i 's/^USER .*/USER root/' Dockerfile"
break_case "Dockerfile on debian:latest" "sed -i 's/^ARG BUILD_IMAGE=.*/ARG BUILD_IMAGE=debian:latest/' Dockerfile"
break_case "invalid YAML (bad indentation)" "sed -i 's/^  minReplicas: 3/ minReplicas: 3/' k8s/overlays/prod/hpa-patch.yaml"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
