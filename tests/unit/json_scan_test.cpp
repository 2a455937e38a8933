// Tests of the lenient JSON scanner (json_scan.h) and the JSON writer (json_writer.h).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "json/json_scan.h"
#include "json/json_writer.h"

namespace tj = tracedrop::json;
using nlohmann::json;
using tj::Member;
using tj::ScanResult;
using tj::ValueType;

namespace {

// What Python's json.dumps writes for a traced call (", " and ": " separators, ensure_ascii,
// NaN/Infinity), long enough that strings cross the scanner's 64-byte blocks.
const std::string kRealistic =
    R"({"__autotraced__": true, "__class__": "InferenceRouter", "__method__": "openai_chat_completion", )"
    R"("__type__": "async", "__args__": "{'params': \"{'model': 'ollama/llama3.1:8b', 'messages': [{'role': )"
    R"('system', 'content': 'You are a helpful assistant.'}, {'role': 'user', 'content': '\u092e\u0941\u091d\u0947 )"
    R"(\u090f\u0915 \u0915\u0935\u093f\u0924\u093e', 'context': None}], 'stream': True}\"}", "output": )"
    R"("[\"{\\\"role\\\":\\\"user\\\",\\\"content\\\":\\\"hi \\ud83c\\udf3e\\\"}\"]", "emoji": "\ud83c\udf3e!", )"
    R"("value": 55, "ratio": NaN, "neg": -Infinity, "big": Infinity, "pi": 3.14159e+00, "items": [1, 2, [true, )"
    R"(false, null], {"k": "v", "e": {}}, []], "none": null, "path": "a\/b\\c\n\t\r\b\f", "__ttl__": 604800})";

// A heap copy of exactly s.size() bytes, so that AddressSanitizer sees any read past the end.
class ExactCopy {
 public:
  explicit ExactCopy(std::string_view s) : data_(std::make_unique<char[]>(s.size())), size_(s.size()) {
    if (size_ != 0) std::memcpy(data_.get(), s.data(), size_);
  }
  std::string_view view() const { return std::string_view(data_.get(), size_); }

 private:
  std::unique_ptr<char[]> data_;
  size_t size_;
};

ScanResult validate_exact(std::string_view s) { return tj::validate(ExactCopy(s).view()); }

std::vector<Member> members_of(std::string_view text, ScanResult* result = nullptr) {
  std::vector<Member> out;
  const ScanResult r = tj::scan_object(text, [&](const Member& m) {
    out.push_back(m);
    return true;
  });
  if (result) *result = r;
  return out;
}

std::string utf8_of(uint32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// validate / scan_object

TEST_CASE("scan_object reports every value type with its raw text", "[json]") {
  const std::string doc =
      R"({"s": "x\"y", "n": -1.5e3, "i": 0, "t": true, "f": false, "z": null, "a": [1, "b", [2]], )"
      R"("o": {"k": {}}, "nan": NaN, "inf": Infinity, "ninf": -Infinity, "e": "", "u": "\u00e9"})";
  ScanResult r;
  const std::vector<Member> m = members_of(doc, &r);
  CHECK(r.valid);
  CHECK(r.is_object);
  CHECK(r.has_non_finite);
  REQUIRE(m.size() == 13);
  const std::vector<std::pair<std::string, ValueType>> expected = {
      {"\"x\\\"y\"", ValueType::kString}, {"-1.5e3", ValueType::kNumber},   {"0", ValueType::kNumber},
      {"true", ValueType::kTrue},         {"false", ValueType::kFalse},     {"null", ValueType::kNull},
      {"[1, \"b\", [2]]", ValueType::kArray}, {"{\"k\": {}}", ValueType::kObject}, {"NaN", ValueType::kNonFinite},
      {"Infinity", ValueType::kNonFinite}, {"-Infinity", ValueType::kNonFinite}, {"\"\"", ValueType::kString},
      {"\"\\u00e9\"", ValueType::kString}};
  const char* keys[] = {"s", "n", "i", "t", "f", "z", "a", "o", "nan", "inf", "ninf", "e", "u"};
  for (size_t i = 0; i < m.size(); ++i) {
    INFO("member " << i);
    CHECK(m[i].key == keys[i]);
    CHECK_FALSE(m[i].key_escaped);
    CHECK(m[i].value == expected[i].first);
    CHECK(m[i].type == expected[i].second);
  }
}

TEST_CASE("Python separators and a realistic attribute string", "[json]") {
  const ScanResult r = validate_exact(kRealistic);
  CHECK(r.valid);
  CHECK(r.is_object);
  CHECK(r.has_non_finite);
  const std::vector<Member> m = members_of(kRealistic);
  REQUIRE(m.size() == 16);
  CHECK(m.front().key == "__autotraced__");
  CHECK(m.front().type == ValueType::kTrue);
  CHECK(m.back().key == "__ttl__");
  CHECK(m.back().value == "604800");
  CHECK(validate_exact(R"({"a":1,"b":[2,3],"c":{"d":"e"}})").valid);  // compact separators too
  CHECK(validate_exact("{\n  \"a\": 1,\n  \"b\": [\n    2\n  ]\n}").valid);    // indent=2
}

TEST_CASE("nested arrays and objects", "[json]") {
  for (const char* doc : {"[]", "{}", "[[]]", "[{}]", "{\"a\":[]}", "[[[1,[2,[3]]]],{\"x\":{\"y\":[{}]}}]",
                          "{\"a\": {\"b\": {\"c\": [1, {\"d\": null}]}}, \"e\": [[], [[]], {}]}"}) {
    INFO(doc);
    CHECK(validate_exact(doc).valid);
    CHECK(tj::parse_lenient(doc) == json::parse(doc));
  }
  const std::vector<Member> m = members_of(R"({"a": {"b": [1, {"c": 2}]}, "d": [[], {}]})");
  REQUIRE(m.size() == 2);
  CHECK(m[0].value == R"({"b": [1, {"c": 2}]})");
  CHECK(m[1].value == "[[], {}]");
  CHECK(m[1].type == ValueType::kArray);
}

TEST_CASE("NaN, Infinity and -Infinity are accepted and flagged", "[json]") {
  for (const char* doc : {"NaN", "Infinity", "-Infinity", "[NaN]", "{\"a\": [1, {\"b\": -Infinity}]}", "[1, Infinity]"}) {
    INFO(doc);
    const ScanResult r = validate_exact(doc);
    CHECK(r.valid);
    CHECK(r.has_non_finite);
  }
  CHECK_FALSE(validate_exact("{\"a\": 1.5}").has_non_finite);
  CHECK_FALSE(validate_exact("{\"a\": \"NaN Infinity\"}").has_non_finite);
  for (const char* bad : {"nan", "NAN", "Nan", "inf", "Inf", "-inf", "+Infinity", "-NaN", "NaN1", "Infinit", "-Infinityy",
                          "[Infinity-]", "-I"}) {
    INFO(bad);
    CHECK_FALSE(validate_exact(bad).valid);
  }
  const auto j = tj::parse_lenient(R"({"a": NaN, "b": Infinity, "c": -Infinity, "d": [NaN]})");
  REQUIRE(j);
  CHECK(std::isnan((*j)["a"].get<double>()));
  CHECK((*j)["b"].get<double>() == std::numeric_limits<double>::infinity());
  CHECK((*j)["c"].get<double>() == -std::numeric_limits<double>::infinity());
  CHECK((*j)["d"][0].is_number_float());
}

TEST_CASE("every proper prefix of an attribute string is invalid at its end", "[json]") {
  const std::string samples[] = {kRealistic, R"({"a": "\u00e9\\\"", "b": [1.5e-3, -0, true], "c": nul)"
                                             R"(l})"};
  for (const std::string& full : samples) {
    REQUIRE(validate_exact(full).valid);
    for (size_t n = 0; n < full.size(); ++n) {
      const ExactCopy prefix(std::string_view(full).substr(0, n));
      const ScanResult r = tj::validate(prefix.view());
      INFO("prefix length " << n);
      REQUIRE_FALSE(r.valid);
      REQUIRE(r.error_offset == n);
      size_t count = 0;
      const ScanResult s = tj::scan_object(prefix.view(), [&](const Member&) { return ++count, true; });
      REQUIRE_FALSE(s.valid);
      REQUIRE(s.error_offset == n);
      REQUIRE_FALSE(tj::parse_lenient(prefix.view()));
      REQUIRE_FALSE(tj::find_member(prefix.view(), "__ttl__"));
    }
  }
}

TEST_CASE("garbage and malformed documents are rejected with the first bad byte", "[json]") {
  const std::vector<std::pair<std::string, size_t>> cases = {
      {"", 0},          {"   ", 3},          {"}", 0},           {"{,}", 1},        {"{\"a\"}", 4},
      {"{\"a\":}", 5},  {"[1,]", 3},         {"{\"a\":1,}", 7},  {"01", 1},         {"1.", 2},
      {".5", 0},        {"1e", 2},           {"1e+", 3},         {"--1", 1},        {"\"abc", 4},
      {"{'a': 1}", 1},  {"[1 2]", 3},        {"{\"a\" 1}", 5},   {"{\"a\":1 \"b\":2}", 7},
      {"tru", 3},       {"trUe", 2},         {"nul", 3},         {"[1]]", 3},       {"{} {}", 3},
      {"\"\\x\"", 2},   {"\"\\u12g4\"", 5},  {"\"\\u12\"", 5},   {"\"\\", 2},       {"[", 1},
      {"{\"a\":[1,2}", 9}, {"-", 1},         {"1.e5", 2},        {"{1: 2}", 1},     {"None", 1},
  };
  for (const auto& [doc, offset] : cases) {
    INFO(doc);
    const ScanResult r = validate_exact(doc);
    CHECK_FALSE(r.valid);
    CHECK(r.error_offset == offset);
    CHECK_FALSE(tj::parse_lenient(doc));
  }
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {  // random bytes: no crash; validity agrees with parse_lenient
    std::string doc(rng() % 40, '\0');
    for (char& c : doc) c = static_cast<char>(rng());
    const ScanResult r = validate_exact(doc);
    CHECK(r.valid == tj::parse_lenient(doc).has_value());
    CHECK(r.error_offset <= doc.size());
  }
}

TEST_CASE("a non-object value is valid but not an object", "[json]") {
  for (const char* doc : {"[1, 2]", "\"s\"", "42", "-0.5", "null", "true", "false", "NaN", "[]", " [ { } ] "}) {
    INFO(doc);
    const ScanResult r = validate_exact(doc);
    CHECK(r.valid);
    CHECK_FALSE(r.is_object);
    size_t calls = 0;
    const ScanResult s = tj::scan_object(doc, [&](const Member&) { return ++calls, true; });
    CHECK(s.valid);
    CHECK_FALSE(s.is_object);
    CHECK(calls == 0);
    CHECK_FALSE(tj::find_member(doc, "a"));
  }
}

TEST_CASE("whitespace around the value", "[json]") {
  CHECK(validate_exact(" \t\r\n{\"a\": 1} \n").is_object);
  CHECK(validate_exact("\n[1]\n").valid);
  CHECK(members_of("  {  \"a\"  :  1  ,  \"b\" : [ ]  }  ").size() == 2);
  CHECK_FALSE(validate_exact("\f{}").valid);  // form feed is not JSON whitespace
  CHECK_FALSE(validate_exact("{}\v").valid);
  CHECK(validate_exact("{} x").error_offset == 3);
}

TEST_CASE("control characters in strings are invalid, other bytes are accepted", "[json]") {
  for (int c = 0; c < 0x20; ++c) {
    std::string doc = "{\"a\": \"x";
    doc += static_cast<char>(c);
    doc += "y\"}";
    INFO("byte " << c);
    const ScanResult r = validate_exact(doc);
    CHECK_FALSE(r.valid);
    CHECK(r.error_offset == 8);
  }
  std::string key_doc = "{\"a\nb\": 1}";
  CHECK(validate_exact(key_doc).error_offset == 3);
  CHECK(validate_exact("\"\x7f\"").valid);
  CHECK(validate_exact("{\"caf\xc3\xa9\": \"\xe2\x82\xac \xff\xfe \x80\"}").valid);  // raw and even broken UTF-8
  std::string long_doc = "\"" + std::string(200, 'a') + "\x01\"";
  CHECK(validate_exact(long_doc).error_offset == 201);
}

TEST_CASE("escapes at every position relative to the 64-byte blocks", "[json]") {
  const std::vector<std::pair<std::string, bool>> escapes = {
      {"\\\"", true}, {"\\\\", true}, {"\\/", true},   {"\\u00e9", true}, {"\\ud83c\\udf3e", true},
      {"\\n", true},  {"\\x", false}, {"\\u00g0", false}, {"\\u00", false}, {"\\\\\\", false}, {"\x1f", false}};
  for (size_t pad = 0; pad < 140; ++pad) {
    for (const auto& [esc, ok] : escapes) {
      const std::string doc = "{\"k\": \"" + std::string(pad, 'p') + esc + "\"}";
      INFO("pad " << pad << " escape " << esc);
      const ScanResult r = validate_exact(doc);
      REQUIRE(r.valid == ok);
      REQUIRE(json::accept(doc) == ok);
      if (ok) {
        const auto m = tj::find_member(doc, "k");
        REQUIRE(m);
        REQUIRE(tj::decode_string(m->value) == json::parse(doc)["k"].get<std::string>());
      }
    }
  }
  for (size_t run = 0; run < 140; ++run) {  // long runs of backslashes: even ones end the string
    const std::string doc = "[\"" + std::string(run, '\\') + "\"]";
    INFO("backslashes " << run);
    REQUIRE(validate_exact(doc).valid == (run % 2 == 0));
  }
}

TEST_CASE("deep nesting is bounded and never overflows the stack", "[json]") {
  const std::string deep(100000, '[');
  const ScanResult r = validate_exact(deep);
  CHECK_FALSE(r.valid);
  CHECK(r.error_offset == 512);
  CHECK_FALSE(tj::parse_lenient(deep));
  const std::string deep_object = [] {
    std::string s;
    for (int i = 0; i < 100000; ++i) s += "{\"a\":";
    return s;
  }();
  CHECK_FALSE(validate_exact(deep_object).valid);
  CHECK_FALSE(tj::parse_lenient(deep_object));
  CHECK_FALSE(tj::find_member(deep_object, "a"));

  const auto nested = [](int depth) { return std::string(static_cast<size_t>(depth), '[') + std::string(static_cast<size_t>(depth), ']'); };
  CHECK(validate_exact(nested(512)).valid);
  CHECK_FALSE(validate_exact(nested(513)).valid);
  CHECK(tj::parse_lenient(nested(512)));
  CHECK_FALSE(tj::parse_lenient(nested(513)));
  CHECK(validate_exact("{\"a\": " + nested(511) + "}").valid);  // the object counts as a level
  CHECK_FALSE(validate_exact("{\"a\": " + nested(512) + "}").valid);
  CHECK(tj::find_member("{\"a\": " + nested(511) + "}", "a"));
}

TEST_CASE("scan_object stops early and reports what it scanned", "[json]") {
  std::vector<std::string> keys;
  const ScanResult r = tj::scan_object(kRealistic, [&](const Member& m) {
    keys.emplace_back(m.key);
    return keys.size() < 2;
  });
  CHECK(r.valid);
  CHECK(r.is_object);
  CHECK_FALSE(r.has_non_finite);  // the NaN comes later
  CHECK(keys == std::vector<std::string>{"__autotraced__", "__class__"});

  // Members before a defect are delivered; the defect is reported.
  ScanResult broken;
  const std::vector<Member> m = members_of(R"({"a": 1, "b": [2], "c": tru)", &broken);
  CHECK_FALSE(broken.valid);
  CHECK(broken.error_offset == 27);  // the text ends inside "tru"
  REQUIRE(m.size() == 2);
  CHECK(m[1].value == "[2]");
}

// ---------------------------------------------------------------------------------------------
// Strings and keys

TEST_CASE("decode_string handles escapes and surrogates", "[json]") {
  std::string out;
  REQUIRE(tj::decode_string(R"("\ud83c\udf3e")", out));
  CHECK(out == "\xF0\x9F\x8C\xBE");
  REQUIRE(tj::decode_string(R"("\uD83C\uDF3E")", out));
  CHECK(out == "\xF0\x9F\x8C\xBE");
  REQUIRE(tj::decode_string(R"("a\"b\\c\/d\b\f\n\r\t")", out));
  CHECK(out == "a\"b\\c/d\b\f\n\r\t");
  REQUIRE(tj::decode_string(R"("\u0000\u007f\u0080\u07ff\u0800\uffff")", out));
  CHECK(out == std::string("\0", 1) + "\x7f" + utf8_of(0x80) + utf8_of(0x7ff) + utf8_of(0x800) + utf8_of(0xffff));
  REQUIRE(tj::decode_string(R"("\u092e\u0941 caf\u00e9")", out));
  CHECK(out == "\xE0\xA4\xAE\xE0\xA5\x81 caf\xC3\xA9");
  REQUIRE(tj::decode_string("\"raw \xc3\xa9 \xff\"", out));  // raw bytes pass through
  CHECK(out == "raw \xc3\xa9 \xff");

  const std::string fffd = "\xEF\xBF\xBD";
  REQUIRE(tj::decode_string(R"("\ud83c")", out));  // lone high surrogate
  CHECK(out == fffd);
  REQUIRE(tj::decode_string(R"("\udf3e")", out));  // lone low surrogate
  CHECK(out == fffd);
  REQUIRE(tj::decode_string(R"("\ud83cx")", out));
  CHECK(out == fffd + "x");
  REQUIRE(tj::decode_string(R"("\ud83c\u0041")", out));  // high then a non-surrogate escape
  CHECK(out == fffd + "A");
  REQUIRE(tj::decode_string(R"("\ud83c\ud83c\udf3e")", out));
  CHECK(out == fffd + "\xF0\x9F\x8C\xBE");
  REQUIRE(tj::decode_string(R"("\udf3e\ud83c")", out));
  CHECK(out == fffd + fffd);

  for (const char* bad : {"", "\"", "abc", "\"abc", "abc\"", "\"\\x\"", "\"\\u12\"", "\"a\"b\"", "\"\\\"", "\"a\nb\""}) {
    INFO(bad);
    CHECK_FALSE(tj::decode_string(bad, out));
  }
  CHECK(tj::decode_string(std::string_view("\"\\q\\u00e9\"")) == "\\q\xC3\xA9");  // best effort
  CHECK(tj::decode_string(std::string_view("unquoted\\n")) == "unquoted\n");
  CHECK(tj::decode_string(std::string_view("\"trunc\\")) == "trunc\\");

  std::string appended = "pre:";
  CHECK(tj::append_decoded("a\\tb", appended));
  CHECK(appended == "pre:a\tb");
}

TEST_CASE("find_member compares decoded keys", "[json]") {
  const std::string doc = R"({"plain": 1, "\u0041bc": "escaped A", "a\"b": [2], "caf\u00e9": null, "\ud83c\udf3e": true, "x": 1, "x": 2})";
  REQUIRE(validate_exact(doc).valid);
  auto m = tj::find_member(doc, "plain");
  REQUIRE(m);
  CHECK(m->value == "1");
  CHECK_FALSE(m->key_escaped);
  m = tj::find_member(doc, "Abc");
  REQUIRE(m);
  CHECK(m->key_escaped);
  CHECK(m->key == "\\u0041bc");
  CHECK(m->value == "\"escaped A\"");
  CHECK(m->type == ValueType::kString);
  m = tj::find_member(doc, "a\"b");
  REQUIRE(m);
  CHECK(m->type == ValueType::kArray);
  CHECK(tj::find_member(doc, "caf\xC3\xA9"));
  CHECK(tj::find_member(doc, "\xF0\x9F\x8C\xBE"));
  m = tj::find_member(doc, "x");  // the last duplicate wins, as in Python
  REQUIRE(m);
  CHECK(m->value == "2");
  CHECK_FALSE(tj::find_member(doc, "abc"));
  CHECK_FALSE(tj::find_member(doc, "\\u0041bc"));
  CHECK_FALSE(tj::find_member(doc, ""));
  m = tj::find_member(R"({"": 5})", "");
  REQUIRE(m);
  CHECK(m->value == "5");
  m = tj::find_member(kRealistic, "__class__");
  REQUIRE(m);
  CHECK(m->value == "\"InferenceRouter\"");
  CHECK_FALSE(tj::find_member(R"({"a": 1, "b": })", "a"));  // broken text: no answer
  CHECK_FALSE(tj::find_member(R"({"a": {"nested": 1}})", "nested"));  // top level only
}

// ---------------------------------------------------------------------------------------------
// Numbers

TEST_CASE("parse_int64 edges", "[json]") {
  int64_t v = 0;
  CHECK(tj::parse_int64("0", v));
  CHECK(v == 0);
  CHECK(tj::parse_int64("-0", v));
  CHECK(v == 0);
  CHECK(tj::parse_int64("604800", v));
  CHECK(v == 604800);
  CHECK(tj::parse_int64("9223372036854775807", v));
  CHECK(v == std::numeric_limits<int64_t>::max());
  CHECK(tj::parse_int64("-9223372036854775808", v));
  CHECK(v == std::numeric_limits<int64_t>::min());
  v = 42;
  for (const char* bad : {"9223372036854775808", "-9223372036854775809", "18446744073709551616", "99999999999999999999999",
                          "1.0", "1e3", "1E3", "", "-", "+1", " 1", "1 ", "0x10", "NaN", "--1", "1-"}) {
    INFO(bad);
    CHECK_FALSE(tj::parse_int64(bad, v));
  }
  CHECK(v == 42);  // untouched on failure
}

TEST_CASE("parse_double", "[json]") {
  double d = 0;
  CHECK(tj::parse_double("3.14159", d));
  CHECK(d == 3.14159);
  CHECK(tj::parse_double("-1.5e-3", d));
  CHECK(d == -1.5e-3);
  CHECK(tj::parse_double("604800", d));
  CHECK(d == 604800.0);
  CHECK(tj::parse_double("1E+2", d));
  CHECK(d == 100.0);
  CHECK(tj::parse_double("-0", d));
  CHECK((d == 0.0 && std::signbit(d)));
  CHECK(tj::parse_double("0.1", d));
  CHECK(d == 0.1);
  CHECK(tj::parse_double("1.7976931348623157e308", d));
  CHECK(d == std::numeric_limits<double>::max());
  CHECK(tj::parse_double("5e-324", d));
  CHECK(d == std::numeric_limits<double>::denorm_min());
  CHECK(tj::parse_double("NaN", d));
  CHECK(std::isnan(d));
  CHECK(tj::parse_double("Infinity", d));
  CHECK(d == std::numeric_limits<double>::infinity());
  CHECK(tj::parse_double("-Infinity", d));
  CHECK(d == -std::numeric_limits<double>::infinity());
  // Out of range, as Python's float(): overflow to infinity, underflow to zero.
  CHECK(tj::parse_double("1e400", d));
  CHECK(d == std::numeric_limits<double>::infinity());
  CHECK(tj::parse_double("-123.4e99999999999999999999", d));
  CHECK(d == -std::numeric_limits<double>::infinity());
  CHECK(tj::parse_double("1e-400", d));
  CHECK(d == 0.0);
  CHECK(tj::parse_double("-0.000001e-99999999999999999", d));
  CHECK((d == 0.0 && std::signbit(d)));
  CHECK(tj::parse_double("3e-324", d));  // rounds up to the smallest subnormal
  CHECK(d == std::numeric_limits<double>::denorm_min());
  CHECK(tj::parse_double("2e-324", d));  // rounds down to zero
  CHECK(d == 0.0);
  for (const char* bad : {"", "-", "1.", ".5", "1e", "+1", "1,5", "0x1p3", "nan", "inf", "1.5x", " 1", "01", "-NaN", "Infinityx"}) {
    INFO(bad);
    CHECK_FALSE(tj::parse_double(bad, d));
  }
  std::mt19937_64 rng(11);
  for (int i = 0; i < 20000; ++i) {  // agrees with strtod (glibc rounds correctly)
    uint64_t bits = rng();
    double x;
    std::memcpy(&x, &bits, sizeof x);
    if (!std::isfinite(x)) continue;
    char text[64];
    std::snprintf(text, sizeof text, "%.*g", static_cast<int>(rng() % 18) + 1, x);
    if (std::strchr(text, 'n') || std::strchr(text, 'i')) continue;
    double parsed = 0;
    INFO(text);
    REQUIRE(tj::parse_double(text, parsed));
    REQUIRE(parsed == std::strtod(text, nullptr));
  }
}

// ---------------------------------------------------------------------------------------------
// parse_lenient

namespace {

// Random JSON text with Python-like or compact separators, escapes and all number forms.
class DocGenerator {
 public:
  explicit DocGenerator(uint64_t seed) : rng_(seed) {}

  std::string document() {
    std::string out;
    object(out, 0);
    return out;
  }

 private:
  size_t pick(size_t n) { return static_cast<size_t>(rng_() % n); }
  const char* comma() { return python_ ? ", " : ","; }

  void string(std::string& out) {
    static const char* const pieces[] = {"a", "Z", " ", "\\\"", "\\\\", "\\/", "\\n", "\\t", "\\u00e9", "\\u092e",
                                         "\\ud83c\\udf3e", "\\u0000", "'", "{", "}", "\xc3\xa9", "\xe2\x82\xac", "0123456789",
                                         "lorem ipsum dolor sit amet, consectetur"};
    out += '"';
    const size_t n = pick(12);
    for (size_t i = 0; i < n; ++i) out += pieces[pick(sizeof pieces / sizeof pieces[0])];
    out += '"';
  }

  void number(std::string& out) {
    static const char* const numbers[] = {"0", "-0", "1", "-1", "604800", "9223372036854775807", "-9223372036854775808",
                                          "9223372036854775808", "18446744073709551615", "18446744073709551616",
                                          "-9223372036854775809", "3.14159", "-2.5e-3", "1E10", "1e+2", "0.1",
                                          "123456789012345678901234567890", "1.7976931348623157e308", "5e-324", "-0.0"};
    out += numbers[pick(sizeof numbers / sizeof numbers[0])];
  }

  void value(std::string& out, int depth) {
    switch (pick(depth > 4 ? 5 : 7)) {
      case 0: string(out); break;
      case 1: number(out); break;
      case 2: out += "true"; break;
      case 3: out += "false"; break;
      case 4: out += "null"; break;
      case 5: array(out, depth + 1); break;
      default: object(out, depth + 1); break;
    }
  }

  void array(std::string& out, int depth) {
    out += '[';
    const size_t n = pick(5);
    for (size_t i = 0; i < n; ++i) {
      if (i) out += comma();
      value(out, depth);
    }
    out += ']';
  }

  void object(std::string& out, int depth) {
    python_ = pick(3) != 0;
    out += '{';
    const size_t n = pick(7);
    for (size_t i = 0; i < n; ++i) {
      if (i) out += comma();
      if (pick(8) == 0) {
        out += "\"dup\"";  // duplicate keys: the last one wins
      } else {
        string(out);
      }
      out += python_ ? ": " : ":";
      value(out, depth);
    }
    out += '}';
  }

  std::mt19937_64 rng_;
  bool python_ = true;
};

}  // namespace

TEST_CASE("parse_lenient agrees with nlohmann::json::parse", "[json]") {
  std::vector<std::string> docs = {
      kRealistic.substr(0, kRealistic.find(", \"value\"")) + "}",
      R"({})",
      R"([])",
      R"("just a string")",
      R"(42)",
      R"(-17)",
      R"(1.5)",
      R"(true)",
      R"(null)",
      R"({"a": 1, "a": 2, "a": {"b": 3}})",
      R"({"n": [0, -0, 1e2, 1E-2, 0.5, -0.5, 9223372036854775807, -9223372036854775808]})",
      R"({"big": 18446744073709551615, "bigger": 18446744073709551616, "neg": -9223372036854775809})",
      R"({"s": "\ud83c\udf3e \u00e9 \u0000 \" \\ \/ \b \f \n \r \t"})",
      R"({"\u006b\u0065\u0079": "escaped key", "k\"q": 1})",
      R"([[[[[[[[[[[[]]]]]]]]]]]])",
      R"({"a": {"b": {"c": {"d": {"e": [1, {"f": null}]}}}}})",
      " \n\t{ \"ws\" : [ 1 , 2 ] } \r\n",
      R"({"__ttl__": 604800})",
      R"({"input": "['{\"role\":\"user\",\"content\":\"\u092e\u0941\u091d\u0947\",\"context\":null}']", "output": "no violations"})",
  };
  DocGenerator gen(2024);
  while (docs.size() < 50) docs.push_back(gen.document());
  for (const std::string& doc : docs) {
    INFO(doc);
    const json expected = json::parse(doc);
    const auto got = tj::parse_lenient(ExactCopy(doc).view());
    REQUIRE(got);
    REQUIRE(*got == expected);
    REQUIRE(got->dump() == expected.dump());  // same float/integer representation
  }
}

TEST_CASE("parse_lenient number types", "[json]") {
  const auto j = tj::parse_lenient(
      R"([5, -5, 9223372036854775807, 9223372036854775808, 18446744073709551615, 18446744073709551616, -9223372036854775809, 5.0, 1e2])");
  REQUIRE(j);
  CHECK((*j)[0].is_number_integer());
  CHECK_FALSE((*j)[0].is_number_unsigned());
  CHECK((*j)[0].get<int64_t>() == 5);
  CHECK((*j)[1].get<int64_t>() == -5);
  CHECK_FALSE((*j)[2].is_number_unsigned());
  CHECK((*j)[2].get<int64_t>() == std::numeric_limits<int64_t>::max());
  CHECK((*j)[3].is_number_unsigned());
  CHECK((*j)[3].get<uint64_t>() == 9223372036854775808ull);
  CHECK((*j)[4].get<uint64_t>() == std::numeric_limits<uint64_t>::max());
  CHECK((*j)[5].is_number_float());
  CHECK((*j)[6].is_number_float());
  CHECK((*j)[7].is_number_float());
  CHECK((*j)[8].is_number_float());
  CHECK((*j)[8].get<double>() == 100.0);
}

TEST_CASE("validate agrees with nlohmann::json::accept on mutated documents", "[json]") {
  DocGenerator gen(99);
  std::mt19937_64 rng(5);
  const char alphabet[] = "\"\\{}[],: 0123456789.eE+-ntfrulsaxu";
  for (int i = 0; i < 3000; ++i) {
    std::string doc = i % 10 == 0 ? kRealistic : gen.document();
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits && !doc.empty(); ++e) {
      const size_t at = rng() % doc.size();
      const char c = alphabet[rng() % (sizeof alphabet - 1)];
      switch (rng() % 3) {
        case 0: doc[at] = c; break;
        case 1: doc.insert(doc.begin() + static_cast<std::ptrdiff_t>(at), c); break;
        default: doc.erase(at, 1 + rng() % 3); break;
      }
    }
    // Where the lenient scanner knowingly differs from strict JSON: NaN/Infinity, lone
    // surrogates (nlohmann rejects them), and raw non-ASCII bytes (nlohmann checks UTF-8).
    if (doc.find("NaN") != std::string::npos || doc.find("Infinity") != std::string::npos) continue;
    if (doc.find("\\ud") != std::string::npos) continue;
    if (std::any_of(doc.begin(), doc.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; })) continue;
    INFO(doc);
    bool accepted = true;
    try {
      const json parsed = json::parse(doc);
    } catch (const json::exception& e) {
      // nlohmann rejects numbers beyond a double; Python (and we) read them as infinity.
      if (std::string(e.what()).find("number overflow") != std::string::npos) continue;
      accepted = false;
    }
    const ScanResult r = validate_exact(doc);
    REQUIRE(r.valid == accepted);
    REQUIRE(tj::parse_lenient(doc).has_value() == r.valid);
    size_t members = 0;
    const ScanResult s = tj::scan_object(ExactCopy(doc).view(), [&](const Member&) { return ++members, true; });
    REQUIRE(s.valid == r.valid);
    REQUIRE(s.error_offset == r.error_offset);
    if (r.valid && r.is_object) REQUIRE(members >= json::parse(doc).size());  // duplicates collapse
  }
}

TEST_CASE("every string scanner the CPU has gives the same answers", "[json]") {
  using tj::detail::StringScanner;
  struct Restore {
    ~Restore() { tj::detail::use_string_scanner(StringScanner::kAuto); }
  } restore;
  // Reference answers from the SSE2 scanner (the portable one on other machines), itself
  // checked against nlohmann above; then each wider scanner must agree byte for byte.
  std::vector<std::string> docs;
  DocGenerator gen(7);
  std::mt19937_64 rng(11);
  const char alphabet[] = "\"\\{}[],: 0123456789.eE+-ntfrulsaxu\x01\x1f\x7f\xc3";
  for (int i = 0; i < 4000; ++i) {
    std::string doc = i % 10 == 0 ? kRealistic : gen.document();
    const int edits = static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !doc.empty(); ++e) {
      const size_t at = rng() % doc.size();
      const char c = alphabet[rng() % (sizeof alphabet - 1)];
      if (rng() % 2) doc[at] = c;
      else doc.insert(doc.begin() + static_cast<std::ptrdiff_t>(at), c);
    }
    docs.push_back(std::move(doc));
  }
  for (size_t pad = 0; pad < 140; ++pad)
    for (const char* esc : {"\\\"", "\\u00e9", "\\u00g0", "\\u0", "\\x", "\\\\\\", "\x1f", "\\ud83c\\udf3e"})
      docs.push_back("{\"k\": \"" + std::string(pad, 'p') + esc + "\"}");
  REQUIRE(tj::detail::use_string_scanner(StringScanner::kSse2));
  std::vector<ScanResult> expected;
  for (const auto& d : docs) expected.push_back(validate_exact(d));
  size_t valid = 0;
  for (const auto& r : expected) valid += r.valid ? 1 : 0;
  CHECK(valid > docs.size() / 4);  // the mix holds good and bad documents
  CHECK(valid < docs.size() * 9 / 10);
  int tried = 0;
  for (StringScanner which : {StringScanner::kAvx2, StringScanner::kAvx512, StringScanner::kAuto}) {
    if (!tj::detail::use_string_scanner(which)) {
      WARN("string scanner " << static_cast<int>(which) << " is not available on this CPU or build: not tested here");
      continue;
    }
    ++tried;
    for (size_t i = 0; i < docs.size(); ++i) {
      INFO("scanner " << static_cast<int>(which) << " document " << docs[i]);
      const ScanResult r = validate_exact(docs[i]);
      REQUIRE(r.valid == expected[i].valid);
      REQUIRE(r.error_offset == expected[i].error_offset);
      REQUIRE(r.has_non_finite == expected[i].has_non_finite);
    }
  }
  CHECK(tried >= 1);  // kAuto at least
}

// ---------------------------------------------------------------------------------------------
// Writer

TEST_CASE("writer places commas and colons", "[json][writer]") {
  std::string out;
  tj::Writer w(out);
  w.begin_object();
  w.key("a");
  w.int64(1);
  w.key("b");
  w.begin_array();
  w.boolean(true);
  w.null();
  w.end_array();
  w.end_object();
  CHECK(out == R"({"a":1,"b":[true,null]})");

  std::string out2 = "prefix ";
  tj::Writer w2(out2);
  w2.begin_array();
  w2.begin_object();
  w2.end_object();
  w2.begin_array();
  w2.end_array();
  w2.begin_object();
  w2.key("x");
  w2.begin_array();
  w2.begin_array();
  w2.end_array();
  w2.end_array();
  w2.key("y");
  w2.raw(R"({"pre": [1, 2]})");
  w2.key("z");
  w2.boolean(false);
  w2.end_object();
  w2.string("s");
  w2.uint64(std::numeric_limits<uint64_t>::max());
  w2.int64(std::numeric_limits<int64_t>::min());
  w2.int64_as_string(-1234567890123456789);
  w2.int64_as_string(0);
  w2.number(0.5);
  w2.end_array();
  CHECK(out2 == R"(prefix [{},[],{"x":[[]],"y":{"pre": [1, 2]},"z":false},"s",18446744073709551615,-9223372036854775808,"-1234567890123456789","0",0.5])");
  CHECK(&w2.buffer() == &out2);

  tj::Writer owned;
  owned.string("only");
  CHECK(owned.buffer() == "\"only\"");
}

TEST_CASE("writer escapes strings and keys", "[json][writer]") {
  const char raw[] = "q\" b\\ s/ n\n t\t r\r b\b f\f z\0 e\x1b d\x7f";
  std::string out;
  tj::append_escaped_string(out, std::string(raw, sizeof raw - 1));
  CHECK(out == R"("q\" b\\ s/ n\n t\t r\r b\b f\f z\u0000 e\u001b d)" "\x7f\"");
  out.clear();
  tj::Writer w(out);
  w.begin_object();
  w.key("k\"\n");
  w.string("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x8C\xBE");  // valid UTF-8 passes through
  w.end_object();
  CHECK(out == "{\"k\\\"\\n\":\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x8C\xBE\"}");
  CHECK(json::parse(out)["k\"\n"] == "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x8C\xBE");
  for (int c = 0; c < 0x20; ++c) {  // every control character round-trips through nlohmann
    const std::string s(1, static_cast<char>(c));
    std::string text;
    tj::append_escaped_string(text, s);
    CHECK(json::parse(text) == s);
  }
}

TEST_CASE("writer replaces invalid UTF-8 with U+FFFD", "[json][writer]") {
  const std::string r = "\xEF\xBF\xBD";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"a\x80z", "a" + r + "z"},                    // lone continuation byte
      {"\xC3", r},                                  // truncated at the end
      {"\xC3z", r + "z"},                           // truncated before ASCII
      {"\xC0\x80", r + r},                          // overlong NUL
      {"\xC1\xBF", r + r},                          // overlong
      {"\xE0\x80\x80", r + r + r},                  // overlong 3-byte: E0 needs A0..BF
      {"\xE0\xA0", r},                              // truncated 3-byte: one replacement
      {"\xED\xA0\x80", r + r + r},                  // encoded surrogate
      {"\xED\x9F\xBF", "\xED\x9F\xBF"},             // U+D7FF is fine
      {"\xF0\x8F\xBF\xBF", r + r + r + r},          // overlong 4-byte
      {"\xF0\x9F\x8C", r},                          // truncated emoji
      {"\xF0\x9F\x8Cz", r + "z"},
      {"\xF4\x8F\xBF\xBF", "\xF4\x8F\xBF\xBF"},     // U+10FFFF
      {"\xF4\x90\x80\x80", r + r + r + r},          // above U+10FFFF
      {"\xF5\x80", r + r},
      {"\xFF\xFE", r + r},
      {"ok \xE2\x82\xAC\xE2\x82 \xE2\x82\xAC", "ok \xE2\x82\xAC" + r + " \xE2\x82\xAC"},
  };
  for (const auto& [in, expected] : cases) {
    std::string out;
    tj::append_escaped_string(out, ExactCopy(in).view());
    INFO(in);
    CHECK(out == "\"" + expected + "\"");
    CHECK(json::accept(out));  // nlohmann rejects invalid UTF-8, so this proves validity
  }
  std::mt19937_64 rng(3);
  for (int i = 0; i < 3000; ++i) {  // random bytes always give valid JSON text
    std::string in(rng() % 100, '\0');
    for (char& c : in) c = static_cast<char>(rng() % 4 == 0 ? rng() % 0x80 : 0x80 + rng() % 0x80);
    std::string out;
    tj::append_escaped_string(out, ExactCopy(in).view());
    REQUIRE(json::accept(out));
  }
}

TEST_CASE("writer output parses back to the intended value", "[json][writer]") {
  DocGenerator gen(31);
  for (int i = 0; i < 300; ++i) {
    const json value = json::parse(gen.document());
    std::string out;
    tj::Writer w(out);
    // The writer is driven from the DOM with an explicit stack, like a real exporter would.
    struct Item {
      const json* node;
      json::const_iterator next;
    };
    std::vector<Item> stack;
    const auto emit = [&](const json& v) {
      if (v.is_object()) {
        w.begin_object();
        stack.push_back({&v, v.begin()});
      } else if (v.is_array()) {
        w.begin_array();
        stack.push_back({&v, v.begin()});
      } else if (v.is_string()) {
        w.string(v.get_ref<const std::string&>());
      } else if (v.is_boolean()) {
        w.boolean(v.get<bool>());
      } else if (v.is_null()) {
        w.null();
      } else if (v.is_number_unsigned()) {
        w.uint64(v.get<uint64_t>());
      } else if (v.is_number_integer()) {
        w.int64(v.get<int64_t>());
      } else {
        w.number(v.get<double>());
      }
    };
    emit(value);
    while (!stack.empty()) {
      Item& top = stack.back();
      if (top.next == top.node->end()) {
        if (top.node->is_object()) w.end_object(); else w.end_array();
        stack.pop_back();
        continue;
      }
      const auto it = top.next++;
      if (top.node->is_object()) w.key(it.key());
      emit(*it);
    }
    INFO(out);
    REQUIRE(json::parse(out) == value);
    if (value.dump().find_first_of(".eE") == std::string::npos) REQUIRE(out == value.dump());  // byte-identical
  }
}

TEST_CASE("writer numbers round-trip exactly", "[json][writer]") {
  std::mt19937_64 rng(17);
  std::uniform_real_distribution<double> unit(-1e6, 1e6);
  for (int i = 0; i < 100000; ++i) {
    double x;
    if (i % 2) {
      const uint64_t bits = rng();
      std::memcpy(&x, &bits, sizeof x);
      if (!std::isfinite(x)) continue;
    } else {
      x = unit(rng);
    }
    std::string out;
    tj::Writer(out).number(x);
    INFO(out);
    REQUIRE(out.find_first_not_of("0123456789-+.e") == std::string::npos);
    const double back = std::strtod(out.c_str(), nullptr);
    REQUIRE(std::memcmp(&back, &x, sizeof x) == 0);
    REQUIRE(json::parse(out).get<double>() == x);
  }
  const std::vector<std::pair<double, std::string>> fixed = {
      {0.0, "0"},       {-0.0, "-0"},   {1.0, "1"},      {0.1, "0.1"},     {-2.5, "-2.5"},
      {1e21, "1e+21"},  {1e-7, "1e-07"}, {123456.0, "123456"}, {5e-324, "5e-324"},
      {1.7976931348623157e308, "1.7976931348623157e+308"}, {0.30000000000000004, "0.30000000000000004"}};
  for (const auto& [v, text] : fixed) {
    std::string out;
    tj::Writer(out).number(v);
    CHECK(out == text);
  }
  std::string out;
  tj::Writer w(out);
  w.begin_array();
  w.number(std::numeric_limits<double>::quiet_NaN());
  w.number(std::numeric_limits<double>::infinity());
  w.number(-std::numeric_limits<double>::infinity());
  w.end_array();
  CHECK(out == "[null,null,null]");
}
