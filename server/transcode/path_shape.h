// PathShape: checks that a rendered request path still has the shape of its route template before
// the gateway sends it with the API key, so that no path variable can move a call onto another
// platform endpoint.
//
// A path variable is one segment (or part of one) of the template. Escaping keeps '/', '?' and '#'
// out of a value, but not dot segments: a value of ".." rendered as
// "/borrowers/../journey/offers" is resolved away by HTTP stacks (RFC 3986 §5.2.4) and reaches
// "/journey/offers" instead. Two checks close that:
//   - IsDotSegment(value): a value that is, or percent-decodes to, "." or ".." is refused by the
//     request mapper, naming the field. A '.' inside a longer value ("a.b", "...") stays literal:
//     it is not a dot segment.
//   - PathShape::Check(path): the rendered path has the template's number of segments, every
//     literal segment unchanged, and every variable segment non-empty, not a dot segment, and made
//     only of unreserved characters and %XX escapes (what UrlEscape produces). It cannot fail for
//     values the mapper accepted; it is the guard against a future change of the escaping.
//
//   PathShape shape = PathShape::FromTemplate("/api/journeys/{journey_id}/state");  // at start-up
//   std::optional<PathMismatch> bad = shape.Check("/api/journeys/../state");
//   // bad->field == "journey_id"
//
// Check does not allocate when the path matches. Thread-safety: immutable after FromTemplate; Check
// may run concurrently.
#ifndef AARTHIK_SERVER_TRANSCODE_PATH_SHAPE_H_
#define AARTHIK_SERVER_TRANSCODE_PATH_SHAPE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace aarthik::transcode {

// True for ".", "..", and their percent-encoded spellings ("%2e", ".%2E", "%2e%2e", ...).
bool IsDotSegment(absl::string_view segment);

// Why a rendered path does not fit its template: the path variable to blame (empty when none can
// be named) and what was wrong.
struct PathMismatch {
  std::string field;
  std::string description;
};

class PathShape {
 public:
  PathShape() = default;
  // `path_template` as in google.api.http: "/literal/{field}/literal"; a variable may share its
  // segment with literal text ("/files/{name}.json").
  static PathShape FromTemplate(absl::string_view path_template);

  // `path` is the rendered path without the query string.
  std::optional<PathMismatch> Check(absl::string_view path) const;

  size_t segment_count() const { return segments_.size(); }

 private:
  struct Segment {
    // A literal segment: its text in `prefix`, `variable` empty. A variable segment: the literal
    // text around its variable(s), and the (first) variable's name.
    std::string prefix;
    std::string suffix;
    std::string variable;
  };
  std::vector<Segment> segments_;
};

}  // namespace aarthik::transcode

#endif  // AARTHIK_SERVER_TRANSCODE_PATH_SHAPE_H_
