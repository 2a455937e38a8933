// Case folding without ICU: ASCII, Latin-1, Latin Extended-A (and the common part of
// Extended-B), Greek, Cyrillic and Armenian capital letters map to their small letters.
//
// Two properties the search relies on (and tests check):
//  - every mapping stays within the same UTF-8 length (ASCII -> ASCII, 2 bytes -> 2 bytes),
//    so a folded text has the same byte offsets as the original;
//  - no non-ASCII character folds to ASCII (so U+0130 and U+017F are left alone), so an ASCII
//    needle can only ever match ASCII bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tracedrop::text {

// The small letter of `cp`, or `cp` itself.
uint32_t fold_code_point(uint32_t cp);

// All code points whose fold is `cp` (including `cp` itself when it folds to itself).
std::vector<uint32_t> unfold_code_point(uint32_t cp);

inline char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c; }

// `out` = `in` folded; same size as `in`. Invalid UTF-8 bytes are copied unchanged.
void fold_utf8(std::string_view in, std::string& out);

// Position of the first ASCII-case-insensitive occurrence of `lower_needle` (already lower
// case, non-empty) in `haystack`, or npos. Bytes >= 0x80 compare exactly. This is the hot
// loop of the search (it runs over every byte of attribute text), hence SSE2 when available.
size_t find_ascii_ci(std::string_view haystack, std::string_view lower_needle);

// The first position where any of `lower_patterns` (non-empty, lower case as above) occurs,
// or npos: one pass over the haystack however many patterns there are.
size_t find_any_ascii_ci(std::string_view haystack, const std::vector<std::string>& lower_patterns);

}  // namespace tracedrop::text
