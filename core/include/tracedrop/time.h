// Timestamps as the trace store writes them, parsed to integer nanoseconds since the Unix epoch.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tracedrop {

using TimeNs = int64_t;

enum class TimeForm : uint8_t {
  kOffset,   // "2025-06-02T08:00:57.620527+00:00" (any ±HH:MM / ±HHMM offset)
  kZulu,     // "...Z"
  kNaive,    // no offset: local time of the writer; read as UTC plus the caller's offset
  kNumeric,  // a number stored in a TIMESTAMP column (epoch s/ms/µs/ns by magnitude)
};

struct ParsedTime {
  TimeNs ns = 0;
  TimeForm form = TimeForm::kOffset;
};

// Parses "YYYY-MM-DD[T ]HH:MM[:SS[.f{1,9}]][Z|±HH:MM|±HHMM|±HH]". A naive time is taken as
// UTC shifted by `naive_utc_offset_seconds` (the writer's UTC offset: +3600 means the naive
// text is one hour ahead of UTC). Returns nullopt for anything else; never reads past `text`.
std::optional<ParsedTime> parse_timestamp(std::string_view text, int64_t naive_utc_offset_seconds = 0);

// Interprets a number found in a timestamp column: seconds, milliseconds, microseconds or
// nanoseconds since the epoch, chosen by magnitude. nullopt if not finite or out of range.
std::optional<TimeNs> time_from_number(double value);

// "2025-06-02T08:00:57.620527Z" (UTC). `fraction_digits` 0..9; 6 (microseconds) by default.
std::string format_iso_utc(TimeNs ns, int fraction_digits = 6);

// Parses a UTC offset given by a user: "+02:00", "-0530", "Z", "UTC", "+2". Seconds east of UTC.
std::optional<int64_t> parse_utc_offset(std::string_view text);

// Days since 1970-01-01 for a proleptic Gregorian date (valid for any int year).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);

}  // namespace tracedrop
