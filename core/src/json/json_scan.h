// Lenient, allocation-free JSON scanning for span attribute text.
//
// Attribute columns hold what Python's json.dumps wrote: JSON plus the non-standard number
// literals NaN, Infinity and -Infinity. Some rows are truncated or not JSON at all, so every
// function here takes untrusted text: no recursion (nesting is bounded by kMaxDepth), no reads
// outside the given view, and bytes >= 0x80 inside strings are accepted unchecked because
// SQLite text may carry raw (even invalid) UTF-8.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include <nlohmann/json.hpp>

namespace tracedrop::json {

// Deeper nesting is reported as invalid (a document of 513 nested arrays is rejected).
inline constexpr int kMaxDepth = 512;

enum class ValueType : uint8_t { kString, kNumber, kTrue, kFalse, kNull, kArray, kObject, kNonFinite };

struct Member {
  std::string_view key;    // raw key text between the quotes (still escaped if key_escaped)
  bool key_escaped;        // the key holds a backslash escape: decode before comparing
  std::string_view value;  // raw value text; strings include their quotes
  ValueType type;
};

struct ScanResult {
  bool valid = false;           // the text is one (lenient) JSON value with only whitespace around
  bool is_object = false;       // ... and that value is an object
  bool has_non_finite = false;  // a NaN/Infinity/-Infinity literal occurred in the scanned part
  size_t error_offset = 0;      // first bad byte when !valid (text.size() when the text ends early)
};

namespace detail {

// Shared between the out-of-line scanner and the inline member loop of scan_object.
struct ScanState {
  const char* error = nullptr;  // first bad byte once a helper returned nullptr
  bool non_finite = false;
};

inline const char* skip_ws(const char* p, const char* end) {
  while (p != end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) ++p;
  return p;
}

// `p` is at the opening quote. Returns the byte after the closing quote, or nullptr.
const char* skip_string(const char* p, const char* end, bool& escaped, ScanState& st);
// `p` is at the first byte of a value nested `depth` containers deep. Returns the byte after
// the value, or nullptr.
const char* skip_value(const char* p, const char* end, int depth, ValueType& type, ScanState& st);

// Which string body scanner is in use (x86-64 builds: SSE2, AVX2 or AVX-512BW; elsewhere a
// portable one); kAuto picks the fastest the CPU has. Tests force each in turn. Returns false, changing
// nothing, when the CPU or the build lacks it. Not thread-safe: set it while nothing scans.
enum class StringScanner { kAuto, kSse2, kAvx2, kAvx512 };
bool use_string_scanner(StringScanner which);

ScanResult scan_failed(const char* begin, const ScanState& st);
ScanResult scan_done(const char* begin, const char* p, const char* end, bool is_object, const ScanState& st);

template <typename F>
bool deliver(F& on_member, const Member& m) {
  if constexpr (std::is_void_v<std::invoke_result_t<F&, const Member&>>) {
    on_member(m);
    return true;
  } else {
    return static_cast<bool>(on_member(m));
  }
}

}  // namespace detail

// Validates the text (fastest path, no callback).
ScanResult validate(std::string_view text);

// Validates `text`; if it is an object, calls on_member(const Member&) for each top-level member
// in order. on_member may return void, or bool where false stops the scan: the result then
// describes only the scanned part (valid = true, is_object = true). On broken text the members
// before the defect have already been delivered; the result says where the defect is.
template <typename F>
ScanResult scan_object(std::string_view text, F&& on_member) {
  const char* const begin = text.data();
  const char* const end = begin + text.size();
  const char* p = detail::skip_ws(begin, end);
  if (p == end || *p != '{') return validate(text);
  detail::ScanState st;
  p = detail::skip_ws(p + 1, end);
  if (p != end && *p == '}') return detail::scan_done(begin, p + 1, end, true, st);
  for (;;) {
    if (p == end || *p != '"') return detail::scan_failed(begin, detail::ScanState{p, st.non_finite});
    Member m{};
    const char* q = detail::skip_string(p, end, m.key_escaped, st);
    if (!q) return detail::scan_failed(begin, st);
    m.key = std::string_view(p + 1, static_cast<size_t>(q - p - 2));
    p = detail::skip_ws(q, end);
    if (p == end || *p != ':') return detail::scan_failed(begin, detail::ScanState{p, st.non_finite});
    p = detail::skip_ws(p + 1, end);
    q = detail::skip_value(p, end, 1, m.type, st);
    if (!q) return detail::scan_failed(begin, st);
    m.value = std::string_view(p, static_cast<size_t>(q - p));
    if (!detail::deliver(on_member, m)) return ScanResult{true, true, st.non_finite, 0};
    p = detail::skip_ws(q, end);
    if (p != end && *p == ',') {
      p = detail::skip_ws(p + 1, end);
      continue;
    }
    if (p != end && *p == '}') return detail::scan_done(begin, p + 1, end, true, st);
    return detail::scan_failed(begin, detail::ScanState{p, st.non_finite});
  }
}

// The LAST top-level member whose decoded key equals `key` (Python's json.loads keeps the last
// duplicate too). nullopt when absent or when the text is not a valid object.
std::optional<Member> find_member(std::string_view object_text, std::string_view key);

// Decodes a quoted JSON string into `out` (replacing its content): all escapes, surrogate pairs
// to UTF-8, a lone surrogate to U+FFFD. Raw bytes >= 0x80 are copied as they are. Returns false
// when the text is not exactly one well-formed JSON string.
bool decode_string(std::string_view quoted, std::string& out);
// Best effort: surrounding quotes are optional, malformed escapes are copied verbatim.
std::string decode_string(std::string_view quoted);
// Appends the decoded string body (the text between the quotes) to `out`; false if malformed
// (the best-effort decoding is appended anyway).
bool append_decoded(std::string_view body, std::string& out);

// Raw number text (as in Member::value) that is an integer (no '.', 'e', 'E') fitting int64.
bool parse_int64(std::string_view raw, int64_t& out);
// Any JSON number text or NaN/Infinity/-Infinity; locale-independent. Overflow gives +-inf and
// underflow +-0, as Python's float() does.
bool parse_double(std::string_view raw, double& out);

// Parses into nlohmann::json: integers fitting int64 -> number_integer, larger non-negative ones
// fitting uint64 -> number_unsigned, other numbers -> number_float (NaN/Infinity included),
// strings and keys decoded, the last duplicate key wins. nullopt if invalid.
std::optional<nlohmann::json> parse_lenient(std::string_view text);

}  // namespace tracedrop::json
