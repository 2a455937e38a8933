// Text for people: colours, display width of UTF-8, safe printing of stored strings,
// aligned tables, and the number and time formats every command shares.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "tracedrop/time.h"

namespace tracedrop::cli {

// ANSI colours, or nothing when disabled (not a terminal, NO_COLOR, JSON output).
class Style {
 public:
  explicit Style(bool enabled) : enabled_(enabled) {}
  bool enabled() const { return enabled_; }
  std::string bold(std::string_view s) const { return wrap("\x1b[1m", s); }
  std::string dim(std::string_view s) const { return wrap("\x1b[2m", s); }
  std::string red(std::string_view s) const { return wrap("\x1b[31m", s); }
  std::string green(std::string_view s) const { return wrap("\x1b[32m", s); }
  std::string yellow(std::string_view s) const { return wrap("\x1b[33m", s); }
  std::string cyan(std::string_view s) const { return wrap("\x1b[36m", s); }
  std::string highlight(std::string_view s) const { return wrap("\x1b[1;31m", s); }
  // Colours by name ("red", "yellow", "dim", "bold", "green", "cyan"); unknown: unchanged.
  std::string paint(const std::string& color, std::string_view s) const;

 private:
  std::string wrap(const char* code, std::string_view s) const;
  bool enabled_;
};

// Columns a string takes on a terminal, roughly: one per code point, two for wide East Asian
// characters and emoji, none for combining marks and zero-width characters.
size_t display_width(std::string_view utf8);
// Cuts to at most `width` columns, ending with "…" when cut.
std::string truncate_to_width(std::string_view utf8, size_t width);
// Pads with spaces to `width` columns (left- or right-aligned).
std::string pad(std::string_view utf8, size_t width, bool right_align = false);
// Makes stored text safe to print: control characters (newline, escape, ...) and invalid
// UTF-8 become visible escapes, so data can neither break a layout nor drive the terminal.
std::string printable(std::string_view text);

// "12.3 ms"
std::string format_ms(double ms);
// "2025-06-02 08:01:24" (UTC); with_micros adds ".487621".
std::string format_utc(TimeNs ns, bool with_micros = false);
// "5 s", "3 min", "2 h", "4 days" (for "... ago").
std::string format_age(int64_t ns);
// "1.4 MiB (1468006 bytes)"
std::string format_size(uint64_t bytes);
// Whole numbers of a double (token counts) without a fraction: "1234", else "%.1f".
std::string format_count(double value);

// Wraps every case-insensitive (ASCII) occurrence of `needle` in `text` with the highlight.
std::string highlight_matches(const std::string& text, std::string_view needle, const Style& style);

// An aligned table: columns separated by two spaces, headers in bold, the last column not
// padded. When `max_width` > 0 and the table is wider, shrinkable columns are cut ("…").
class Table {
 public:
  struct Cell {
    std::string text;
    std::string color;      // Style::paint name, "" for none
    std::string highlight;  // text to highlight inside the cell, "" for none
  };
  void add_column(std::string header, bool right_align = false, bool shrinkable = false);
  void add_row(std::vector<Cell> cells);
  size_t row_count() const { return rows_.size(); }
  void render(std::ostream& out, const Style& style, int max_width) const;

 private:
  struct Column {
    std::string header;
    bool right_align;
    bool shrinkable;
  };
  std::vector<size_t> column_widths(int max_width) const;
  std::vector<Column> columns_;
  std::vector<std::vector<Cell>> rows_;
};

}  // namespace tracedrop::cli
