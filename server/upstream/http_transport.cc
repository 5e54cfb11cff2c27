#include "server/upstream/http_transport.h"

#include "absl/strings/cord.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"

namespace aarthik::upstream {
namespace {

// Payload key on transport error statuses; the value is "connect" or "exchange".
constexpr absl::string_view kFailurePhaseUrl = "type.aarthik.dev/aarthik.upstream.FailurePhase";

}  // namespace

std::string_view HttpResponse::Header(std::string_view lower_case_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_case_name) return value;
  }
  return {};
}

FailurePhase GetFailurePhase(const absl::Status& status) {
  absl::optional<absl::Cord> phase = status.GetPayload(kFailurePhaseUrl);
  if (!phase.has_value()) return FailurePhase::kUnknown;
  if (*phase == "connect") return FailurePhase::kConnect;
  if (*phase == "exchange") return FailurePhase::kExchange;
  return FailurePhase::kUnknown;
}

bool IsConnectFailure(const absl::Status& status) {
  return absl::IsUnavailable(status) && GetFailurePhase(status) == FailurePhase::kConnect;
}

void SetFailurePhase(absl::Status& status, FailurePhase phase) {
  switch (phase) {
    case FailurePhase::kConnect:
      status.SetPayload(kFailurePhaseUrl, absl::Cord("connect"));
      break;
    case FailurePhase::kExchange:
      status.SetPayload(kFailurePhaseUrl, absl::Cord("exchange"));
      break;
    case FailurePhase::kUnknown:
      status.ErasePayload(kFailurePhaseUrl);
      break;
  }
}

absl::Status WithPhase(absl::Status status, FailurePhase phase) {
  SetFailurePhase(status, phase);
  return status;
}

}  // namespace aarthik::upstream
