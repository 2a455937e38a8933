#include "text/snippet.h"

#include <algorithm>

#include "text/utf8.h"

namespace tracedrop::text {
namespace {

constexpr std::string_view kEllipsis = "\xE2\x80\xA6";  // U+2026

bool at_boundary(std::string_view text, size_t pos) {
  return pos == 0 || pos >= text.size() || !is_continuation(static_cast<unsigned char>(text[pos]));
}

}  // namespace

std::string make_snippet(std::string_view text, size_t match_pos, size_t match_len, size_t context) {
  match_pos = std::min(match_pos, text.size());
  const size_t match_end = std::min(text.size(), match_pos + match_len);
  size_t begin = match_pos > context ? match_pos - context : 0;
  size_t end = std::min(text.size(), match_end + context);
  // Move inwards to the nearest character start, so no character is split. (Invalid UTF-8
  // can have long continuation runs; those bytes are shown as U+FFFD anyway.)
  while (begin < match_pos && !at_boundary(text, begin)) ++begin;
  while (end > match_end && !at_boundary(text, end)) --end;
  std::string out;
  out.reserve(end - begin + 2 * kEllipsis.size());
  if (begin > 0) out += kEllipsis;
  append_display(out, text.substr(begin, end - begin));
  if (end < text.size()) out += kEllipsis;
  return out;
}

}  // namespace tracedrop::text
