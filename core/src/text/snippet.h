// The text shown around a search match: a window of whole UTF-8 characters, "…" where cut,
// control characters as spaces, always valid UTF-8.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tracedrop::text {

inline constexpr size_t kSnippetContext = 40;  // bytes of context on each side of the match

// `text[match_pos, match_pos + match_len)` is the match. The window extends about `context`
// bytes either way and is narrowed to character boundaries (never widened).
std::string make_snippet(std::string_view text, size_t match_pos, size_t match_len,
                         size_t context = kSnippetContext);

}  // namespace tracedrop::text
