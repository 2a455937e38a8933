#include "text/needle.h"

#include <algorithm>

#include "json/json_scan.h"
#include "text/fold.h"
#include "text/snippet.h"
#include "text/utf8.h"

namespace tracedrop::text {
namespace {

constexpr size_t kNpos = std::string_view::npos;
constexpr size_t kMinLeadingRun = 3;        // shorter ASCII runs filter little: test them last
constexpr size_t kMaxRawPerCodePoint = 12;  // a surrogate pair: \ud83c\udf3e
// Raw bytes that surely hold more than kSnippetContext decoded bytes (an escape is at most 6
// raw bytes for at least one decoded byte), so a window gives the same snippet as the whole.
constexpr size_t kSnippetRawMargin = 6 * (kSnippetContext + 2);
// How far a window edge may move to reach an escape boundary before the whole text is decoded
// instead (only text made of escapes and hex digits gets there).
constexpr size_t kMaxBoundaryWalk = 256;
// Windows decoded around anchor occurrences that turned out not to be matches before the whole
// text is decoded instead: bounds the work on adversarial text.
constexpr int kMaxFailedWindows = 16;

// ASCII that Python's json.dumps always writes as itself.
bool raw_safe_ascii(char c) { return c >= 0x20 && c < 0x7F && c != '"' && c != '\\' && c != '/'; }

// A byte that, just before a position, proves the position starts a new token of a JSON string
// body: printable ASCII that is neither an escape letter nor a hex digit of a \u escape.
bool ends_token(char c) {
  if (c < 0x20 || c >= 0x7F) return false;
  if (c == '\\' || c == '"' || c == '/' || c == 'n' || c == 'r' || c == 't' || c == 'u') return false;
  return !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'));
}

// Whether decoding may start (or stop) at `q` without cutting an escape sequence. A backslash
// after an even run of backslashes starts an escape: those before it pair up as "\\".
bool is_boundary(std::string_view s, size_t q) {
  if (q == 0 || q >= s.size()) return true;
  if (ends_token(s[q - 1])) return true;
  if (s[q] != '\\') return false;
  size_t run = 0;
  while (run < q && s[q - 1 - run] == '\\') {
    if (++run > kMaxBoundaryWalk) return false;
  }
  return run % 2 == 0;
}

// The nearest boundary at or before `x` (npos if too far).
size_t boundary_before(std::string_view s, size_t x) {
  size_t q = std::min(x, s.size());
  while (!is_boundary(s, q)) {
    if (x - q >= kMaxBoundaryWalk) return kNpos;
    --q;
  }
  return q;
}

// The nearest boundary at or after `y` (npos if too far).
size_t boundary_after(std::string_view s, size_t y) {
  size_t e = std::min(y, s.size());
  const size_t start = e;
  while (!is_boundary(s, e)) {
    if (e - start >= kMaxBoundaryWalk) return kNpos;
    ++e;
  }
  return e;
}

size_t minus_clamped(size_t a, size_t b) { return a > b ? a - b : 0; }

// `unit` is a UTF-16 code unit (at most 0xffff).
void append_u_escape(std::string& out, uint32_t unit) {
  static const char kHex[] = "0123456789abcdef";
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(unit >> shift) & 0xf];
}

// The ways a character can appear in raw JSON text: UTF-8 bytes or a \u escape.
void add_raw_forms(std::vector<std::string>& forms, uint32_t cp) {
  std::string utf8;
  append_utf8(utf8, cp);
  forms.push_back(utf8);
  std::string escaped;
  if (cp >= 0x10000) {
    append_u_escape(escaped, 0xD800 + ((cp - 0x10000) >> 10));
    append_u_escape(escaped, 0xDC00 + ((cp - 0x10000) & 0x3FF));
  } else {
    append_u_escape(escaped, cp);
  }
  forms.push_back(escaped);
}

size_t code_point_count(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size();) {
    size_t len = 0;
    decode_utf8(s, i, len);
    i += len;
    ++n;
  }
  return n;
}

}  // namespace

Needle::Needle(std::string_view text) {
  fold_utf8(text, folded_);
  ascii_ = std::all_of(folded_.begin(), folded_.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  max_raw_len_ = kMaxRawPerCodePoint * (code_point_count(folded_) + 1);
  build_prefilter();
}

// Groups in the order they are tested; the first is the anchor of find_escaped.
void Needle::build_prefilter() {
  size_t run_pos = 0;
  const std::string run = longest_safe_ascii_run(run_pos);
  if (run.size() >= kMinLeadingRun) add_group({run}, run_pos);
  add_non_ascii_groups();
  if (!run.empty() && run.size() < kMinLeadingRun) add_group({run}, run_pos);
  if (!groups_.empty()) anchor_rest_ = folded_.substr(group_offsets_.front());
  anchor_rest_raw_max_ = kMaxRawPerCodePoint * (code_point_count(anchor_rest_) + 1);
}

void Needle::add_group(std::vector<std::string> patterns, size_t offset) {
  groups_.push_back(std::move(patterns));
  group_offsets_.push_back(offset);
}

// The longest run of ASCII that json.dumps writes as itself (the first of equal length).
std::string Needle::longest_safe_ascii_run(size_t& pos) const {
  size_t best_pos = 0, best_len = 0;
  for (size_t i = 0; i < folded_.size();) {
    if (!raw_safe_ascii(folded_[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < folded_.size() && raw_safe_ascii(folded_[j])) ++j;
    if (j - i > best_len) best_pos = i, best_len = j - i;
    i = j;
  }
  pos = best_pos;
  return folded_.substr(best_pos, best_len);
}

// One group per distinct non-ASCII character: one of its raw forms must occur.
void Needle::add_non_ascii_groups() {
  std::vector<uint32_t> seen;
  for (size_t i = 0; i < folded_.size();) {
    size_t len = 0;
    const size_t at = i;
    const uint32_t cp = decode_utf8(folded_, i, len);
    i += len;
    // Invalid bytes and U+FFFD (what a lone surrogate escape decodes to) have no reliable raw form.
    if (cp < 0x80 || cp == kInvalidCodePoint || cp == kReplacementChar) continue;
    if (std::find(seen.begin(), seen.end(), cp) != seen.end()) continue;
    seen.push_back(cp);
    std::vector<std::string> forms;
    // Every case variant, in each raw form: UTF-8 bytes are compared exactly, so an upper-case
    // letter stored unescaped needs its own form; the \u escapes are already lower-case ASCII.
    for (uint32_t u : unfold_code_point(cp)) add_raw_forms(forms, u);
    add_group(std::move(forms), at);
  }
}

bool Needle::may_match_raw(std::string_view raw) const { return first_candidate(raw) != kNpos; }

size_t Needle::first_candidate(std::string_view raw) const {
  if (groups_.empty()) return 0;
  const size_t anchor = find_any_ascii_ci(raw, groups_.front());
  if (anchor == kNpos) return kNpos;
  for (size_t g = 1; g < groups_.size(); ++g) {
    if (find_any_ascii_ci(raw, groups_[g]) == kNpos) return kNpos;
  }
  return anchor;
}

size_t Needle::find(std::string_view plain) {
  if (ascii_) return find_ascii_ci(plain, folded_);
  // Folding keeps byte offsets (fold.h), so a position in the folded copy is one in `plain`.
  fold_utf8(plain, fold_buffer_);
  return fold_buffer_.find(folded_);
}

bool Needle::find_in_full_decoding(std::string_view escaped, std::string& snippet) {
  decoded_.clear();
  json::append_decoded(escaped, decoded_);
  const size_t pos = find(decoded_);
  if (pos == kNpos) return false;
  snippet = make_snippet(decoded_, pos, size());
  return true;
}

bool Needle::decode_window(std::string_view escaped, size_t from, size_t to) {
  if (from == kNpos || to == kNpos) return false;
  decoded_.clear();
  json::append_decoded(escaped.substr(from, to - from), decoded_);
  return true;
}

// The text from raw position `r` on, decoded, starts with the needle's part from the anchor
// on: a cheap test that rejects most anchor occurrences before any window is decoded.
bool Needle::continues_at(std::string_view escaped, size_t r) {
  probe_.clear();
  json::append_decoded(escaped.substr(r, anchor_rest_raw_max_), probe_);
  if (probe_.size() < anchor_rest_.size()) return false;
  probe_.resize(anchor_rest_.size());
  fold_utf8(probe_, fold_buffer_);
  return fold_buffer_ == anchor_rest_;
}

bool Needle::find_escaped(std::string_view escaped, std::string& snippet) {
  if (groups_.empty()) return find_in_full_decoding(escaped, snippet);
  // Every match holds the anchor at a known offset, whose raw form is a real token start:
  // visit the anchor's occurrences in raw order; a window around the first that really
  // continues as the needle holds the first match (find_escaped's comment in needle.h).
  const std::vector<std::string>& anchor = groups_.front();
  int failed_windows = 0;
  for (size_t r = find_any_ascii_ci(escaped, anchor); r != kNpos;) {
    if (continues_at(escaped, r)) {
      if (failed_windows == kMaxFailedWindows) return find_in_full_decoding(escaped, snippet);
      const size_t from = boundary_before(escaped, minus_clamped(r, max_raw_len_));
      const size_t to = boundary_after(escaped, r + max_raw_len_);
      if (!decode_window(escaped, from, to)) return find_in_full_decoding(escaped, snippet);
      if (find(decoded_) != kNpos) {
        // Decode again with room for the snippet's context on both sides.
        const size_t wide_from = boundary_before(escaped, minus_clamped(from, kSnippetRawMargin));
        const size_t wide_to = boundary_after(escaped, to + kSnippetRawMargin);
        if (!decode_window(escaped, wide_from, wide_to)) return find_in_full_decoding(escaped, snippet);
        snippet = make_snippet(decoded_, find(decoded_), size());
        return true;
      }
      ++failed_windows;
    }
    const size_t again = find_any_ascii_ci(escaped.substr(r + 1), anchor);
    r = again == kNpos ? kNpos : r + 1 + again;
  }
  return false;
}

}  // namespace tracedrop::text
