#include "analysis/pyrepr.h"

#include <charconv>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "json/json_scan.h"

namespace tracedrop::pyrepr {
namespace {

using nlohmann::json;

constexpr uint32_t kReplacement = 0xFFFD;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c); }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Appends code points from escapes, pairing surrogates (\ud83d\ude00 -> one emoji); a lone
// surrogate or an out-of-range value becomes U+FFFD so the text stays valid UTF-8.
class CodePointSink {
 public:
  explicit CodePointSink(std::string& out) : out_(out) {}
  void code_point(uint32_t cp) {
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      flush();
      high_ = cp;
      return;
    }
    if (cp >= 0xDC00 && cp <= 0xDFFF) {
      if (high_ != 0) {
        append_utf8(out_, 0x10000u + ((high_ - 0xD800u) << 10) + (cp - 0xDC00u));
        high_ = 0;
      } else {
        append_utf8(out_, kReplacement);
      }
      return;
    }
    flush();
    append_utf8(out_, cp > 0x10FFFF ? kReplacement : cp);
  }
  void byte(char c) {
    flush();
    out_.push_back(c);
  }
  void flush() {
    if (high_ != 0) append_utf8(out_, kReplacement);
    high_ = 0;
  }

 private:
  std::string& out_;
  uint32_t high_ = 0;
};

// Reads exactly `n` hex digits at p; false if they are not there.
bool read_hex(const char* p, const char* end, int n, uint32_t& out) {
  if (end - p < n) return false;
  uint32_t v = 0;
  for (int i = 0; i < n; ++i) {
    const int h = hex_value(p[i]);
    if (h < 0) return false;
    v = (v << 4) | static_cast<uint32_t>(h);
  }
  out = v;
  return true;
}

// Decodes one escape; `p` is just after the backslash and not at end. Returns the next byte.
const char* read_escape(const char* p, const char* end, CodePointSink& sink) {
  const char e = *p++;
  uint32_t cp = 0;
  switch (e) {
    case '\n': return p;  // line continuation
    case 'n': sink.code_point('\n'); return p;
    case 'r': sink.code_point('\r'); return p;
    case 't': sink.code_point('\t'); return p;
    case 'a': sink.code_point(0x07); return p;
    case 'b': sink.code_point(0x08); return p;
    case 'f': sink.code_point(0x0C); return p;
    case 'v': sink.code_point(0x0B); return p;
    case 'x':
    case 'u':
    case 'U': {
      const int digits = e == 'x' ? 2 : (e == 'u' ? 4 : 8);
      if (read_hex(p, end, digits, cp)) {
        sink.code_point(cp);
        return p + digits;
      }
      break;  // malformed: kept verbatim below
    }
    default:
      if (e >= '0' && e <= '7') {
        cp = static_cast<uint32_t>(e - '0');
        for (int i = 0; i < 2 && p != end && *p >= '0' && *p <= '7'; ++i, ++p) {
          cp = cp * 8 + static_cast<uint32_t>(*p - '0');
        }
        sink.code_point(cp);
        return p;
      }
      if (e == '\\' || e == '\'' || e == '"') {
        sink.code_point(static_cast<unsigned char>(e));
        return p;
      }
      break;
  }
  // Python keeps an unknown escape as it is written.
  sink.byte('\\');
  sink.byte(e);
  return p;
}

// `p` is at the opening quote. Appends the decoded body; returns the byte after the closing
// quote, or nullptr when the string does not end.
const char* read_string_body(const char* p, const char* end, bool raw, std::string& out) {
  const char quote = *p++;
  CodePointSink sink(out);
  while (p != end) {
    const char c = *p;
    if (c == quote) {
      sink.flush();
      return p + 1;
    }
    if (c != '\\') {
      sink.byte(c);
      ++p;
      continue;
    }
    if (++p == end) return nullptr;
    if (raw) {  // r'...': the backslash stays, but still protects the next character
      sink.byte('\\');
      sink.byte(*p++);
      continue;
    }
    p = read_escape(p, end, sink);
  }
  return nullptr;
}

// Length of a string prefix (b, r, u, br, rb in any case) followed by a quote at p, or -1.
int string_prefix_length(const char* p, const char* end) {
  int n = 0;
  while (n < 2 && p + n != end) {
    const char c = static_cast<char>(p[n] | 0x20);
    if (c != 'b' && c != 'r' && c != 'u') break;
    ++n;
  }
  if (p + n == end || (p[n] != '\'' && p[n] != '"')) return -1;
  return n;
}

bool prefix_is_raw(const char* p, int n) {
  for (int i = 0; i < n; ++i) {
    if ((p[i] | 0x20) == 'r') return true;
  }
  return false;
}

// Python int/float text (digits, optional fraction and exponent) at p.
const char* read_number(const char* p, const char* end, bool negative, json& out) {
  std::string text;
  if (negative) text.push_back('-');
  bool is_float = false;
  while (p != end && is_digit(*p)) text.push_back(*p++);
  if (p != end && *p == '.') {
    is_float = true;
    text.push_back(*p++);
    if (p == end || !is_digit(*p)) text.push_back('0');  // "1." is a Python float
    while (p != end && is_digit(*p)) text.push_back(*p++);
  }
  if (p != end && (*p == 'e' || *p == 'E')) {
    is_float = true;
    text.push_back(*p++);
    if (p != end && (*p == '+' || *p == '-')) text.push_back(*p++);
    if (p == end || !is_digit(*p)) return nullptr;
    while (p != end && is_digit(*p)) text.push_back(*p++);
  }
  if (p != end && (is_ident_char(*p) || *p == '.')) return nullptr;  // 1j, 0x1f, 1.2.3
  if (!is_float) {
    int64_t i = 0;
    if (::tracedrop::json::parse_int64(text, i)) {
      out = i;
      return p;
    }
    uint64_t u = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), u);
    if (ec == std::errc() && ptr == text.data() + text.size()) {
      out = u;
      return p;
    }
  }
  // Python allows leading zeros in floats ("007.5"), JSON does not.
  const size_t digits = negative ? 1 : 0;
  while (text.size() > digits + 1 && text[digits] == '0' && is_digit(text[digits + 1])) {
    text.erase(digits, 1);
  }
  double d = 0;
  if (!::tracedrop::json::parse_double(text, d)) return nullptr;
  out = d;
  return p;
}

// The value of a bare name: True, False, None, nan, inf, Ellipsis.
bool name_value(std::string_view name, bool negative, json& out) {
  if (name == "inf") {
    out = negative ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
    return true;
  }
  if (name == "nan") {
    out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  if (negative) return false;
  if (name == "True" || name == "False") {
    out = name == "True";
    return true;
  }
  if (name == "None" || name == "Ellipsis") {
    out = nullptr;
    return true;
  }
  return false;
}

std::string_view last_component(std::string_view dotted) {
  const size_t dot = dotted.rfind('.');
  return dot == std::string_view::npos ? dotted : dotted.substr(dot + 1);
}

enum class Kind : uint8_t {
  kList,   // [...]
  kTuple,  // (...)
  kBrace,  // {...} before its first element says whether it is a dict or a set
  kSet,
  kDict,
  kCall,  // Name(...)
};

struct Frame {
  Kind kind;
  json value;                  // array or object being built (null while kBrace is undecided)
  size_t count = 0;            // elements attached so far
  bool trailing_comma = false;  // the last thing read was ',' ("(1,)" is a tuple, "(1)" is not)
  bool after_colon = false;    // kDict: the value for `key` comes next
  bool keyword = false;        // kCall: the value for keyword `key` comes next
  std::string key;
  const char* element_start = nullptr;  // kBrace/kDict: where the current key began
  std::string callee;                   // kCall
  json positional;                      // kCall: positional arguments
};

char closer(Kind k) {
  switch (k) {
    case Kind::kList: return ']';
    case Kind::kTuple:
    case Kind::kCall: return ')';
    default: return '}';
  }
}

class Parser {
 public:
  explicit Parser(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}
  std::optional<json> run();

 private:
  enum class Read { kFailed, kScalar, kOpened };
  enum class Attached { kFailed, kNeedValue, kSeparator };

  void skip_ws() {
    while (p_ != end_ && is_space(*p_)) ++p_;
  }
  Read value(json& out);
  Read open(Kind kind, std::string callee = {});
  bool string_value(json& out);
  Read name_or_call(bool negative, json& out);
  void begin_element();
  Attached attach(json v);
  json close_top();

  const char* p_;
  const char* const end_;
  std::vector<Frame> stack_;
  bool element_start_ = false;  // just after an opening bracket or a comma: a closer may come
};

std::optional<json> Parser::run() {
  for (;;) {
    skip_ws();
    if (p_ == end_) return std::nullopt;
    json v;
    if (element_start_ && *p_ == closer(stack_.back().kind)) {
      ++p_;
      v = close_top();
    } else {
      if (element_start_) begin_element();
      element_start_ = false;
      skip_ws();
      const Read r = p_ == end_ ? Read::kFailed : value(v);
      if (r == Read::kFailed) return std::nullopt;
      if (r == Read::kOpened) {
        element_start_ = true;
        continue;
      }
    }
    // Hand the finished value to its container; closers may finish several in a row.
    for (;;) {
      if (stack_.empty()) {
        skip_ws();
        if (p_ != end_) return std::nullopt;
        return v;
      }
      const Attached a = attach(std::move(v));
      if (a == Attached::kFailed) return std::nullopt;
      if (a == Attached::kNeedValue) break;
      skip_ws();
      if (p_ == end_) return std::nullopt;
      if (*p_ == ',') {
        ++p_;
        stack_.back().trailing_comma = true;
        element_start_ = true;
        break;
      }
      if (*p_ != closer(stack_.back().kind)) return std::nullopt;
      ++p_;
      v = close_top();
    }
  }
}

Parser::Read Parser::value(json& out) {
  const char c = *p_;
  if (c == '[') return open(Kind::kList);
  if (c == '(') return open(Kind::kTuple);
  if (c == '{') return open(Kind::kBrace);
  if (c == '\'' || c == '"' || string_prefix_length(p_, end_) >= 0) {
    return string_value(out) ? Read::kScalar : Read::kFailed;
  }
  bool negative = false;
  if (c == '-' || c == '+') {
    negative = c == '-';
    ++p_;
    if (p_ == end_) return Read::kFailed;
  }
  if (is_digit(*p_)) {
    p_ = read_number(p_, end_, negative, out);
    return p_ ? Read::kScalar : Read::kFailed;
  }
  if (is_ident_start(*p_)) return name_or_call(negative, out);
  if (!negative && end_ - p_ >= 3 && p_[0] == '.' && p_[1] == '.' && p_[2] == '.') {
    p_ += 3;  // Ellipsis, as repr writes a recursive container
    out = nullptr;
    return Read::kScalar;
  }
  return Read::kFailed;
}

Parser::Read Parser::open(Kind kind, std::string callee) {
  if (stack_.size() >= static_cast<size_t>(kMaxDepth)) return Read::kFailed;
  ++p_;
  Frame f{};
  f.kind = kind;
  if (kind == Kind::kList || kind == Kind::kTuple) f.value = json::array();
  if (kind == Kind::kCall) {
    f.value = json::object();
    f.positional = json::array();
    f.callee = std::move(callee);
  }
  stack_.push_back(std::move(f));
  return Read::kOpened;
}

// A string literal; adjacent literals concatenate ('a' 'b' == 'ab', as pprint wraps them).
bool Parser::string_value(json& out) {
  std::string s;
  for (;;) {
    const int prefix = string_prefix_length(p_, end_);
    if (prefix < 0) break;
    const bool raw = prefix_is_raw(p_, prefix);
    p_ = read_string_body(p_ + prefix, end_, raw, s);
    if (!p_) return false;
    const char* const after = p_;
    skip_ws();
    if (p_ == end_ || string_prefix_length(p_, end_) < 0) {
      p_ = after;
      break;
    }
  }
  out = std::move(s);
  return true;
}

Parser::Read Parser::name_or_call(bool negative, json& out) {
  const char* const start = p_;
  while (p_ != end_ && (is_ident_char(*p_) || (*p_ == '.' && p_ + 1 != end_ && is_ident_start(p_[1])))) ++p_;
  const std::string_view name(start, static_cast<size_t>(p_ - start));
  const char* const after = p_;
  skip_ws();
  if (!negative && p_ != end_ && *p_ == '(') return open(Kind::kCall, std::string(name));
  p_ = after;
  return name_value(name, negative, out) ? Read::kScalar : Read::kFailed;
}

// At the first byte of an element: remember where a dict key starts; read a call's `name=`.
void Parser::begin_element() {
  Frame& f = stack_.back();
  if (f.kind == Kind::kBrace || f.kind == Kind::kDict) f.element_start = p_;
  if (f.kind != Kind::kCall || !is_ident_start(*p_)) return;
  const char* q = p_;
  while (q != end_ && is_ident_char(*q)) ++q;
  const char* eq = q;
  while (eq != end_ && is_space(*eq)) ++eq;
  if (eq == end_ || *eq != '=' || (eq + 1 != end_ && eq[1] == '=')) return;
  f.keyword = true;
  f.key.assign(p_, static_cast<size_t>(q - p_));
  p_ = eq + 1;
}

Parser::Attached Parser::attach(json v) {
  Frame& f = stack_.back();
  f.trailing_comma = false;
  ++f.count;
  switch (f.kind) {
    case Kind::kList:
    case Kind::kTuple:
    case Kind::kSet:
      f.value.push_back(std::move(v));
      return Attached::kSeparator;
    case Kind::kCall:
      if (f.keyword) {
        f.value[f.key] = std::move(v);
        f.keyword = false;
      } else {
        f.positional.push_back(std::move(v));
      }
      return Attached::kSeparator;
    case Kind::kBrace:
    case Kind::kDict:
      break;
  }
  if (f.after_colon) {
    f.value[f.key] = std::move(v);
    f.after_colon = false;
    return Attached::kSeparator;
  }
  // A key (or a set element): a ':' decides.
  const char* const key_end = p_;
  skip_ws();
  if (p_ != end_ && *p_ == ':') {
    if (f.kind == Kind::kBrace) {
      f.kind = Kind::kDict;
      f.value = json::object();
    }
    ++p_;
    --f.count;  // the pair counts once, with its value
    f.after_colon = true;
    if (v.is_string()) {
      f.key = std::move(v.get_ref<std::string&>());
    } else {
      f.key.assign(f.element_start, static_cast<size_t>(key_end - f.element_start));
    }
    return Attached::kNeedValue;
  }
  if (f.kind == Kind::kDict) return Attached::kFailed;
  f.kind = Kind::kSet;
  f.value = json::array();
  f.value.push_back(std::move(v));
  return Attached::kSeparator;
}

json Parser::close_top() {
  Frame f = std::move(stack_.back());
  stack_.pop_back();
  element_start_ = false;
  switch (f.kind) {
    case Kind::kBrace: return json::object();  // "{}" is an empty dict
    case Kind::kTuple:
      if (f.count == 1 && !f.trailing_comma) return std::move(f.value[0]);  // "(x)" is x
      return std::move(f.value);
    case Kind::kCall: break;
    default: return std::move(f.value);
  }
  const std::string_view callee = last_component(f.callee);
  const bool sequence = callee == "set" || callee == "frozenset" || callee == "list" || callee == "tuple";
  if (f.value.empty()) {
    if (sequence && f.positional.size() == 1) return std::move(f.positional[0]);
    if (sequence && f.positional.empty()) return json::array();
    if (callee == "dict" && f.positional.empty()) return json::object();
    return std::move(f.positional);
  }
  if (!f.positional.empty()) f.value["__args__"] = std::move(f.positional);
  return std::move(f.value);
}

}  // namespace

std::optional<nlohmann::json> parse(std::string_view text) { return Parser(text).run(); }

}  // namespace tracedrop::pyrepr
