// Small UTF-8 helpers for search and display: decoding one code point, encoding, and making
// arbitrary bytes (SQLite text may hold invalid UTF-8) safe to put into JSON output.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tracedrop::text {

inline constexpr uint32_t kInvalidCodePoint = 0xFFFFFFFFu;
inline constexpr uint32_t kReplacementChar = 0xFFFDu;

inline bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Decodes the code point at text[pos]. Sets `len` to the bytes used (1 for an invalid byte,
// which returns kInvalidCodePoint). Rejects overlong forms, surrogates and values > U+10FFFF.
uint32_t decode_utf8(std::string_view text, size_t pos, size_t& len);

// Appends the UTF-8 form of `cp` (which must be a valid scalar value).
void append_utf8(std::string& out, uint32_t cp);

// Appends `text` with each invalid byte replaced by U+FFFD and each control character
// (< 0x20, 0x7F) by a space, so the result is valid one-line UTF-8.
void append_display(std::string& out, std::string_view text);

// `text` with each invalid byte replaced by U+FFFD (control characters kept): safe for JSON.
std::string to_valid_utf8(std::string_view text);

}  // namespace tracedrop::text
