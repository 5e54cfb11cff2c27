#include "server/rpc/field_drop_log.h"

#include "absl/strings/str_cat.h"
#include "server/core/log.h"

namespace aarthik::rpc {
namespace {

// A JSON key can be anything the platform sends; keep a log line bounded.
constexpr size_t kMaxPathBytes = 256;

}  // namespace

bool FieldDropLog::Record(absl::string_view rpc, transcode::FieldDrop reason,
                          absl::string_view json_path, absl::string_view correlation_id) {
  const absl::string_view reason_name = transcode::FieldDropName(reason);
  const absl::string_view path = json_path.substr(0, kMaxPathBytes);
  {
    absl::MutexLock lock(&mu_);
    if (seen_.size() >= max_paths_) {
      if (full_logged_) return false;
      full_logged_ = true;
      core::Log(core::Severity::kWarning,
                "upstream field drops: too many distinct paths, further new ones are counted "
                "but not logged",
                {{"max_paths", absl::StrCat(max_paths_)}});
      return false;
    }
    if (!seen_.insert(absl::StrCat(rpc, " ", reason_name, " ", path)).second) return false;
  }
  core::Log(core::Severity::kWarning, "upstream field dropped",
            {{"rpc", rpc},
             {"reason", reason_name},
             {"json_path", path},
             {"correlation_id", correlation_id}});
  return true;
}

}  // namespace aarthik::rpc
