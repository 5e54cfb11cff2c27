#!/usr/bin/python3
"""What authorization costs per RPC, in user-space instructions counted by callgrind (exact and
repeatable on a shared machine; no timings): the instruction budget's measurement
(instruction_budget.py) run three times against the same binaries:

  none      no authorization flags (the default: the call path skips identity and policy entirely)
  policy    --authz-policy-file + JWT identity (--jwt-jwks-file ...), every call carrying a valid
            RS256 bearer token for a principal the policy grants the measured methods (a dozen rules
            before the granting one); enforce mode
  audit     as `policy`, plus --audit-log to a file (reads are not audited: this shows the audit
            log costs the measured reads nothing)

  bench/gateway/authz_cost.py --bin build-rel/bin [--requests 300]

Prints one JSON object: instructions per RPC by variant and RPC kind, and the difference to `none`.
The key, JWKS and token are made with the openssl command line in a temporary directory.
"""
import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import instruction_budget  # noqa: E402

ISSUER = "https://kubernetes.default.svc.cluster.local"
AUDIENCE = "aarthik-gateway"
PRINCIPAL = "system:serviceaccount:bench:load"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_identity(workdir):
    """An RSA key, its JWKS file, a policy and a token; returns (gateway args, metadata)."""
    key = os.path.join(workdir, "jwt.key")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", key], check=True, capture_output=True)
    modulus = subprocess.run(["openssl", "rsa", "-in", key, "-noout", "-modulus"], check=True,
                             capture_output=True, text=True).stdout.strip().split("=", 1)[1]
    jwks = {"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": "bench",
                      "n": b64url(bytes.fromhex(modulus)), "e": b64url((65537).to_bytes(3, "big"))}]}
    jwks_path = os.path.join(workdir, "jwks.json")
    with open(jwks_path, "w") as f:
        json.dump(jwks, f)
    now = int(time.time())
    header = b64url(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "bench"}).encode())
    claims = b64url(json.dumps({"iss": ISSUER, "aud": [AUDIENCE], "sub": PRINCIPAL, "iat": now,
                                "nbf": now, "exp": now + 3600}).encode())
    signing_input = f"{header}.{claims}".encode()
    signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=signing_input,
                               check=True, capture_output=True).stdout
    token = f"{header}.{claims}.{b64url(signature)}"
    # A realistic policy: the granting rule comes after a dozen others that name other principals.
    rules = [f"  - name: other-{i}\n    principals: [\"system:serviceaccount:team{i}:*\"]\n"
             f"    methods: [\"aarthik.headless.v1.OffersService/*\", \"*/Get*\"]\n" for i in range(12)]
    rules.append(f"  - name: bench\n    principals: [\"{PRINCIPAL}\"]\n"
                 "    methods: [\"aarthik.headless.v1.*\", \"aarthik.hosted.v1.*\"]\n")
    policy_path = os.path.join(workdir, "policy.yaml")
    with open(policy_path, "w") as f:
        f.write("rules:\n" + "".join(rules))
    args = [f"--authz-policy-file={policy_path}", f"--jwt-jwks-file={jwks_path}",
            f"--jwt-issuer={ISSUER}", f"--jwt-audience={AUDIENCE}"]
    return args, [f"authorization:Bearer {token}"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", required=True, help="directory holding the three binaries")
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    bin_dir = os.path.abspath(args.bin)
    results = {}
    with tempfile.TemporaryDirectory(prefix="authz-cost-") as workdir:
        gateway_args, metadata = make_identity(workdir)
        variants = {
            "none": ([], []),
            "policy": (gateway_args, metadata),
            "audit": (gateway_args + [f"--audit-log={os.path.join(workdir, 'audit.log')}"], metadata),
        }
        for name, (extra, meta) in variants.items():
            with tempfile.TemporaryDirectory(prefix=f"authz-cost-{name}-") as run_dir:
                per_rpc = instruction_budget.measure(bin_dir, args.requests, run_dir,
                                                     gateway_args=extra, metadata=meta)
            results[name] = {k: round(v) for k, v in per_rpc.items()}
    report = {"instructions_per_rpc": results,
              "added_by_authz": {name: {rpc: results[name][rpc] - results["none"][rpc]
                                        for rpc in results["none"]}
                                 for name in results if name != "none"}}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
