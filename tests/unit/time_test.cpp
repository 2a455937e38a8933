// The timestamp parser on every form the trace store holds. Expected epoch seconds were
// computed with GNU date (e.g. `date -u -d 2025-06-02T08:00:57Z +%s` = 1748851257).
#include <catch2/catch.hpp>

#include <cstdio>
#include <random>
#include <string>

#include "time/time_parse.h"
#include "tracedrop/time.h"

using tracedrop::format_iso_utc;
using tracedrop::parse_timestamp;
using tracedrop::parse_utc_offset;
using tracedrop::TimeForm;
namespace detail = tracedrop::detail;

namespace {
constexpr int64_t kBase = 1748851257LL * 1000000000LL;  // 2025-06-02T08:00:57Z
}

TEST_CASE("offset times with a microsecond fraction", "[time]") {
  auto t = parse_timestamp("2025-06-02T08:00:57.620527+00:00");
  REQUIRE(t);
  CHECK(t->ns == kBase + 620527000);
  CHECK(t->form == TimeForm::kOffset);
}

TEST_CASE("the fraction is absent when the microsecond is 0", "[time]") {
  auto t = parse_timestamp("2025-06-02T08:00:57+00:00");
  REQUIRE(t);
  CHECK(t->ns == kBase);
}

TEST_CASE("naive times are UTC unless an offset is given", "[time]") {
  auto t = parse_timestamp("2025-06-02T08:00:57.000100");
  REQUIRE(t);
  CHECK(t->form == TimeForm::kNaive);
  CHECK(t->ns == kBase + 100000);
  // Written by a machine at UTC+02:00: the same text is two hours earlier in UTC.
  auto shifted = parse_timestamp("2025-06-02T08:00:57", 7200);
  REQUIRE(shifted);
  CHECK(shifted->ns == kBase - 7200LL * 1000000000LL);
  auto plain = parse_timestamp("2025-06-02T08:00:57");
  REQUIRE(plain);
  CHECK(plain->ns == kBase);
}

TEST_CASE("created_at uses a space and whole seconds", "[time]") {
  auto t = parse_timestamp("2025-06-02 08:00:57");
  REQUIRE(t);
  CHECK(t->ns == kBase);
}

TEST_CASE("other offsets, Z and precision", "[time]") {
  CHECK(parse_timestamp("2025-06-02T08:00:57Z")->ns == kBase);
  CHECK(parse_timestamp("2025-06-02T08:00:57Z")->form == TimeForm::kZulu);
  CHECK(parse_timestamp("2025-06-02T08:00:57+05:30")->ns == 1748831457LL * 1000000000LL);
  CHECK(parse_timestamp("2025-06-02T08:00:57+0530")->ns == 1748831457LL * 1000000000LL);
  CHECK(parse_timestamp("2025-06-02T03:00:57-05:00")->ns == kBase);
  CHECK(parse_timestamp("2025-06-02T08:00:57.123456789+00:00")->ns == kBase + 123456789);
  // Digits beyond nanoseconds are truncated, never rounded through a float.
  CHECK(parse_timestamp("2025-06-02T08:00:57.1234567899+00:00")->ns == kBase + 123456789);
  CHECK(parse_timestamp("2025-06-02T08:00:57.5+00:00")->ns == kBase + 500000000);
  CHECK(parse_timestamp("2024-02-29T23:59:59+00:00")->ns == 1709251199LL * 1000000000LL);
  CHECK(parse_timestamp("1969-12-31T23:59:59+00:00")->ns == -1000000000LL);
  CHECK(parse_timestamp("2025-06-02T08:00+00:00")->ns == kBase - 57LL * 1000000000LL);
}

TEST_CASE("malformed timestamps are rejected", "[time]") {
  const char* bad[] = {"",
                       "garbage",
                       "2025-06-02",
                       "2025-06-02T08:0",
                       "2025-13-02T08:00:57+00:00",
                       "2025-02-30T08:00:57+00:00",
                       "2023-02-29T08:00:57+00:00",
                       "2025-06-02T24:00:57+00:00",
                       "2025-06-02T08:00:57+00:00junk",
                       "2025-06-02T08:00:57.+00:00",
                       "2025-06-02T08:00:57 +00:00",
                       "2025-06-02T08:00:57x00:00",
                       "2025/06/02 08:00:57"};
  for (const char* text : bad) {
    INFO(text);
    CHECK_FALSE(parse_timestamp(text));
  }
}

TEST_CASE("every prefix of a valid timestamp is handled without reading past it", "[time]") {
  const std::string full = "2025-06-02T08:00:57.620527+00:00";
  for (size_t n = 0; n < full.size(); ++n) {
    auto t = parse_timestamp(std::string_view(full.data(), n));
    // Prefixes that are themselves valid forms parse; no other outcome is acceptable.
    if (t) CHECK((n == 16 || n == 19 || (n >= 21 && n <= 26) || n == 29));  // 29: "+00" (±HH)
  }
}

TEST_CASE("numbers in timestamp columns are read by magnitude", "[time]") {
  CHECK(tracedrop::time_from_number(1748851257.0) == kBase);
  CHECK(tracedrop::time_from_number(1748851257000.0) == kBase);
  CHECK(tracedrop::time_from_number(1748851257000000.0) == kBase);
  CHECK(tracedrop::time_from_number(1.748851257e18) == kBase);
  CHECK_FALSE(tracedrop::time_from_number(-5.0));
  CHECK_FALSE(tracedrop::time_from_number(1e300));
}

TEST_CASE("ISO formatting round-trips", "[time]") {
  CHECK(format_iso_utc(kBase + 620527000) == "2025-06-02T08:00:57.620527Z");
  CHECK(format_iso_utc(kBase, 0) == "2025-06-02T08:00:57Z");
  CHECK(format_iso_utc(kBase + 1, 9) == "2025-06-02T08:00:57.000000001Z");
  CHECK(format_iso_utc(-1) == "1969-12-31T23:59:59.999999Z");
  for (int64_t ns : {kBase, kBase + 999999999, int64_t{0}, int64_t{-86400000000000}, int64_t{4102444800000000000}}) {
    auto back = parse_timestamp(format_iso_utc(ns, 9));
    REQUIRE(back);
    CHECK(back->ns == ns);
  }
}

TEST_CASE("user-given UTC offsets", "[time]") {
  CHECK(parse_utc_offset("+02:00") == 7200);
  CHECK(parse_utc_offset("-0530") == -19800);
  CHECK(parse_utc_offset("+2") == 7200);
  CHECK(parse_utc_offset("Z") == 0);
  CHECK(parse_utc_offset("UTC") == 0);
  CHECK_FALSE(parse_utc_offset("2"));
  CHECK_FALSE(parse_utc_offset("+25:00"));
  CHECK_FALSE(parse_utc_offset("+02:0"));
}

TEST_CASE("times beyond what integer nanoseconds hold are unreadable, not wrapped", "[time]") {
  CHECK_FALSE(parse_timestamp("9999-12-31T23:59:59.999999+00:00").has_value());
  CHECK_FALSE(parse_timestamp("2262-04-12T00:00:00+00:00").has_value());
  CHECK_FALSE(parse_timestamp("1677-09-21T00:00:00").has_value());
  const auto last = parse_timestamp("2262-04-11T23:47:16.854775+00:00");
  REQUIRE(last.has_value());
  CHECK(last->ns == 9223372036854775000LL);
  const auto first = parse_timestamp("1677-09-21T00:12:44+00:00");
  REQUIRE(first.has_value());
  CHECK(first->ns == -9223372036000000000LL);
}

TEST_CASE("the fixed-width fast path answers as the general parser does", "[time]") {
  // parse_timestamp reads the two forms nearly every row holds at fixed positions; every
  // byte of them replaced by every byte value, and random valid times, must give the general
  // parser's answer (value and form, or rejection).
  const std::string bases[] = {"2025-06-02T08:00:57.620527+00:00", "2025-06-02T08:00:57.620527",
                               "2024-02-29 23:59:60.999999-05:30", "1970-01-01T00:00:00.000000+23:59",
                               "9999-12-31T23:59:59.999999-00:01", "0000-01-01T00:00:00.000001"};
  size_t compared = 0, parsed = 0;
  auto same = [&](const std::string& text, int64_t naive) {
    const auto a = parse_timestamp(text, naive);
    const auto b = detail::parse_timestamp_general(text, naive);
    INFO(text);
    REQUIRE(a.has_value() == b.has_value());
    if (a) {
      REQUIRE(a->ns == b->ns);
      REQUIRE(a->form == b->form);
      ++parsed;
    }
    ++compared;
  };
  for (const auto& base : bases) {
    for (int64_t naive : {int64_t{0}, int64_t{3600}, int64_t{-19800}}) {
      same(base, naive);
      for (size_t i = 0; i < base.size(); ++i)
        for (int c = 0; c < 256; ++c) {
          std::string t = base;
          t[i] = static_cast<char>(c);
          same(t, naive);
        }
    }
  }
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20000; ++i) {
    char buf[40];
    // Mostly in range; one in eight fields may be just out of it.
    auto field = [&](int lo, int hi) {
      const bool wide = rng() % 8 == 0;
      const int span = hi - lo + 1 + (wide ? 2 : 0);
      return lo - (wide ? 1 : 0) + static_cast<int>(rng() % static_cast<uint64_t>(span));
    };
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06d%s%02d:%02d", 1680 + static_cast<int>(rng() % 600),
                  field(1, 12), field(1, 31), field(0, 23), field(0, 59), field(0, 60),
                  static_cast<int>(rng() % 1000000), rng() % 2 ? "+" : "-", field(0, 23), field(0, 59));
    std::string t = buf;
    same(t, 0);
    same(t.substr(0, 26), 7200);
  }
  CHECK(parsed > 15000);  // many of the random ones are valid times
  CHECK(compared > 100000);
}
