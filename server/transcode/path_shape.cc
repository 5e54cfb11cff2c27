#include "server/transcode/path_shape.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace aarthik::transcode {
namespace {

bool IsUnreserved(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

// Only what UrlEscape produces: unreserved characters and %XX escapes. Anything else ('?', '#',
// ';', spaces, raw bytes >= 0x80) would be read by the platform's HTTP stack differently from the
// value we meant.
bool IsEscapedText(absl::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (IsUnreserved(text[i])) continue;
    if (text[i] == '%' && i + 2 < text.size() &&
        absl::ascii_isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        absl::ascii_isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      i += 2;
      continue;
    }
    return false;
  }
  return true;
}

// For error messages: the caller's own text, bounded.
std::string Quoted(absl::string_view text) {
  constexpr size_t kShown = 64;
  return text.size() <= kShown
             ? absl::StrCat("'", text, "'")
             : absl::StrCat("'", text.substr(0, kShown), "…' (", text.size(), " bytes)");
}

}  // namespace

bool IsDotSegment(absl::string_view segment) {
  if (segment.empty() || segment.size() > 6) return false;  // "%2e%2e" is the longest spelling
  int dots = 0;
  for (size_t i = 0; i < segment.size();) {
    if (segment[i] == '.') {
      ++i;
    } else if (segment[i] == '%' && i + 2 < segment.size() && segment[i + 1] == '2' &&
               (segment[i + 2] == 'e' || segment[i + 2] == 'E')) {
      i += 3;
    } else {
      return false;
    }
    if (++dots > 2) return false;
  }
  return true;
}

PathShape PathShape::FromTemplate(absl::string_view path_template) {
  PathShape shape;
  absl::string_view rest = absl::StripPrefix(path_template, "/");
  while (true) {
    size_t slash = rest.find('/');
    absl::string_view text = rest.substr(0, slash);
    Segment segment;
    size_t open = text.find('{');
    if (open == absl::string_view::npos) {
      segment.prefix = std::string(text);
    } else {
      size_t close = text.find('}', open);
      segment.prefix = std::string(text.substr(0, open));
      segment.variable = std::string(text.substr(open + 1, close - open - 1));
      segment.suffix = std::string(text.substr(text.rfind('}') + 1));
    }
    shape.segments_.push_back(std::move(segment));
    if (slash == absl::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return shape;
}

std::optional<PathMismatch> PathShape::Check(absl::string_view path) const {
  // The variable to blame for a mismatch at some segment: its own, or the last one before it (a
  // value that smuggled a '/' in shifts every literal after it).
  absl::string_view blamed;
  if (!absl::ConsumePrefix(&path, "/")) {
    return PathMismatch{"", "the rendered path does not start with '/'"};
  }
  size_t index = 0;
  while (true) {
    size_t slash = path.find('/');
    absl::string_view text = path.substr(0, slash);
    if (index == segments_.size()) {
      return PathMismatch{std::string(blamed),
                          absl::StrCat("the rendered path has more than the template's ",
                                       segments_.size(), " segments")};
    }
    const Segment& expected = segments_[index];
    if (expected.variable.empty()) {
      if (text != expected.prefix) {
        return PathMismatch{
            std::string(blamed),
            absl::StrCat("segment ", index + 1, " of the rendered path is ", Quoted(text),
                         " where the template has ", Quoted(expected.prefix))};
      }
    } else {
      blamed = expected.variable;
      const size_t fixed = expected.prefix.size() + expected.suffix.size();
      if (text.size() <= fixed || !absl::StartsWith(text, expected.prefix) ||
          !absl::EndsWith(text, expected.suffix)) {
        return PathMismatch{std::string(blamed),
                            absl::StrCat("segment ", index + 1, " of the rendered path is ",
                                         Quoted(text), ", which does not fit the template")};
      }
      if (IsDotSegment(text)) {
        return PathMismatch{std::string(blamed),
                            "renders as a dot segment ('.' or '..'), which would change the path"};
      }
      if (!IsEscapedText(text.substr(expected.prefix.size(), text.size() - fixed))) {
        return PathMismatch{std::string(blamed),
                            "renders with a character that is neither unreserved nor %-escaped"};
      }
    }
    ++index;
    if (slash == absl::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  if (index != segments_.size()) {
    return PathMismatch{std::string(blamed),
                        absl::StrCat("the rendered path has ", index, " of the template's ",
                                     segments_.size(), " segments")};
  }
  return std::nullopt;
}

}  // namespace aarthik::transcode
