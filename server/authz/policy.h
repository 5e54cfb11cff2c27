// Policy: the authorization policy file (--authz-policy-file), parsed and compiled against the
// gateway's methods so that a decision is a table lookup.
//
//   # policy.yaml: deny by default; each rule grants its principals its methods.
//   rules:
//     - name: loans-service
//       principals: ["spiffe://cluster.local/ns/loans/sa/loans-api"]
//       methods: ["aarthik.headless.v1.OffersService/*", "*/Get*"]
//     - name: payments-readers
//       principals: ["spiffe://cluster.local/ns/payments/*"]
//       methods: ["*/Get*"]
//
//   absl::StatusOr<Policy> policy = Policy::Compile(yaml_text, method_names);
//   const Policy::Rule* grant = policy->Allows(principal, method_id);   // null: denied
//
// Patterns (principals and methods alike) are exact strings or globs where `*` matches any run of
// characters, '/' included. Methods are "<package>.<Service>/<Method>" as in the gRPC path without
// its leading '/'. Unknown keys, a rule without principals or methods, and an empty pattern are
// errors: a typo in a security policy must fail loudly rather than grant or deny silently.
//
// Thread-safety: a Policy is immutable after Compile, except for its decision cache, which has a
// lock of its own; Allows may be called from any thread.
#ifndef AARTHIK_SERVER_AUTHZ_POLICY_H_
#define AARTHIK_SERVER_AUTHZ_POLICY_H_

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace aarthik::authz {

// Whether `text` matches `pattern`, where `*` stands for any run of characters.
bool GlobMatch(absl::string_view pattern, absl::string_view text);

class Policy {
 public:
  struct Rule {
    std::string name;
    absl::flat_hash_set<std::string> exact_principals;
    std::vector<std::string> principal_globs;
    std::vector<std::string> method_patterns;
    bool Grants(absl::string_view principal) const;
  };

  Policy(Policy&&) = default;
  Policy& operator=(Policy&&) = default;
  // Rules are referred to by pointer from the per-method table: a copy would point into the source.
  Policy(const Policy&) = delete;
  Policy& operator=(const Policy&) = delete;

  // Parses `yaml` and resolves every rule's method patterns against `methods` (index = method id).
  // Warnings (e.g. a pattern that matches no method) go to `warnings` when not null.
  static absl::StatusOr<Policy> Compile(absl::string_view yaml,
                                        const std::vector<std::string>& methods,
                                        std::vector<std::string>* warnings = nullptr);

  // The first rule granting `principal` the method, or null (denied). An unknown method id is
  // denied. The first call for a principal judges every method for it at once and remembers the
  // answers (up to kCachedPrincipals principals), so that later calls cost one hash lookup however
  // many rules and globs the policy has.
  const Rule* Allows(absl::string_view principal, int method) const;
  static constexpr size_t kCachedPrincipals = 4096;

  size_t rule_count() const { return rules_.size(); }

 private:
  struct Cache {
    std::mutex mu;
    // Per principal, per method id: the granting rule or null.
    absl::flat_hash_map<std::string, std::vector<const Rule*>> grants;  // guarded by mu
  };
  Policy() = default;
  const Rule* Judge(absl::string_view principal, int method) const;

  std::vector<Rule> rules_;
  // Per method id: the rules whose method patterns match it, in file order.
  std::vector<std::vector<const Rule*>> by_method_;
  std::unique_ptr<Cache> cache_ = std::make_unique<Cache>();
};

}  // namespace aarthik::authz

#endif  // AARTHIK_SERVER_AUTHZ_POLICY_H_
