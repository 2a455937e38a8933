#include "text.h"

#include <algorithm>
#include <cstdio>

namespace tracedrop::cli {
namespace {

// Decodes one UTF-8 sequence at text[i]; advances i. Returns false (advancing one byte) for
// an ill-formed sequence.
bool next_code_point(std::string_view text, size_t& i, uint32_t& cp) {
  const auto b0 = static_cast<unsigned char>(text[i]);
  size_t len = 0;
  if (b0 < 0x80) {
    cp = b0;
    ++i;
    return true;
  }
  if (b0 >= 0xC2 && b0 <= 0xDF) { len = 2; cp = b0 & 0x1Fu; }
  else if (b0 >= 0xE0 && b0 <= 0xEF) { len = 3; cp = b0 & 0x0Fu; }
  else if (b0 >= 0xF0 && b0 <= 0xF4) { len = 4; cp = b0 & 0x07u; }
  if (len == 0 || i + len > text.size()) {
    ++i;
    return false;
  }
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(text[i + k]);
    if ((b & 0xC0) != 0x80) {
      ++i;
      return false;
    }
    cp = (cp << 6) | (b & 0x3Fu);
  }
  const bool overlong = (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
  const bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
  if (overlong || surrogate || cp > 0x10FFFF) {
    ++i;
    return false;
  }
  i += len;
  return true;
}

struct Range {
  uint32_t lo, hi;
};

bool in_ranges(uint32_t cp, const Range* ranges, size_t n) {
  for (size_t k = 0; k < n; ++k)
    if (cp >= ranges[k].lo && cp <= ranges[k].hi) return true;
  return false;
}

// Rough tables: enough to keep names in common scripts and emoji aligned.
constexpr Range kZeroWidth[] = {
    {0x0300, 0x036F}, {0x0483, 0x0489}, {0x0591, 0x05BD}, {0x0610, 0x061A}, {0x064B, 0x065F},
    {0x0900, 0x0902}, {0x093A, 0x093A}, {0x093C, 0x093C}, {0x0941, 0x0948}, {0x094D, 0x094D},
    {0x0951, 0x0957}, {0x0962, 0x0963}, {0x200B, 0x200F}, {0x202A, 0x202E}, {0x2060, 0x2064},
    {0x20D0, 0x20FF}, {0xFE00, 0xFE0F}, {0xFEFF, 0xFEFF}, {0x1F3FB, 0x1F3FF}, {0xE0100, 0xE01EF}};
constexpr Range kWide[] = {
    {0x1100, 0x115F}, {0x2E80, 0x303E}, {0x3041, 0x33FF}, {0x3400, 0x4DBF}, {0x4E00, 0x9FFF},
    {0xA000, 0xA4CF}, {0xAC00, 0xD7A3}, {0xF900, 0xFAFF}, {0xFE30, 0xFE4F}, {0xFF00, 0xFF60},
    {0xFFE0, 0xFFE6}, {0x1F300, 0x1F64F}, {0x1F680, 0x1F6FF}, {0x1F900, 0x1F9FF}, {0x20000, 0x3FFFD}};

size_t code_point_width(uint32_t cp) {
  if (in_ranges(cp, kZeroWidth, sizeof kZeroWidth / sizeof kZeroWidth[0])) return 0;
  if (in_ranges(cp, kWide, sizeof kWide / sizeof kWide[0])) return 2;
  return 1;
}

bool needs_escape(uint32_t cp) {
  // C0/C1 controls and DEL, plus bidirectional overrides that could reorder what is shown.
  return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

size_t find_folded(const std::string& text, std::string_view needle, size_t from) {
  if (needle.empty() || text.size() < needle.size()) return std::string::npos;
  for (size_t i = from; i + needle.size() <= text.size(); ++i) {
    size_t k = 0;
    while (k < needle.size() && ascii_lower(text[i + k]) == ascii_lower(needle[k])) ++k;
    if (k == needle.size()) return i;
  }
  return std::string::npos;
}

}  // namespace

std::string Style::wrap(const char* code, std::string_view s) const {
  if (!enabled_ || s.empty()) return std::string(s);
  return std::string(code) + std::string(s) + "\x1b[0m";
}

std::string Style::paint(const std::string& color, std::string_view s) const {
  if (color == "red") return red(s);
  if (color == "yellow") return yellow(s);
  if (color == "green") return green(s);
  if (color == "cyan") return cyan(s);
  if (color == "dim") return dim(s);
  if (color == "bold") return bold(s);
  return std::string(s);
}

size_t display_width(std::string_view utf8) {
  size_t width = 0, i = 0;
  uint32_t cp = 0;
  while (i < utf8.size()) width += next_code_point(utf8, i, cp) ? code_point_width(cp) : 1;
  return width;
}

std::string truncate_to_width(std::string_view utf8, size_t width) {
  if (display_width(utf8) <= width) return std::string(utf8);
  if (width == 0) return std::string();
  size_t used = 0, i = 0;
  uint32_t cp = 0;
  while (i < utf8.size()) {
    size_t next = i;
    const size_t w = next_code_point(utf8, next, cp) ? code_point_width(cp) : 1;
    if (used + w > width - 1) break;  // keep one column for the ellipsis
    used += w;
    i = next;
  }
  return std::string(utf8.substr(0, i)) + "…";
}

std::string pad(std::string_view utf8, size_t width, bool right_align) {
  const size_t w = display_width(utf8);
  const std::string fill(w < width ? width - w : 0, ' ');
  return right_align ? fill + std::string(utf8) : std::string(utf8) + fill;
}

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  uint32_t cp = 0;
  char buf[16];
  while (i < text.size()) {
    const size_t start = i;
    if (!next_code_point(text, i, cp)) {
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(text[start]));
      out += buf;
    } else if (!needs_escape(cp)) {
      out.append(text.substr(start, i - start));
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp == '\r') {
      out += "\\r";
    } else {
      std::snprintf(buf, sizeof buf, cp < 0x100 ? "\\x%02x" : "\\u%04x", static_cast<unsigned>(cp));
      out += buf;
    }
  }
  return out;
}

std::string format_ms(double ms) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f ms", ms);
  return buf;
}

std::string format_utc(TimeNs ns, bool with_micros) {
  std::string s = format_iso_utc(ns, with_micros ? 6 : 0);
  std::replace(s.begin(), s.end(), 'T', ' ');
  if (!s.empty() && s.back() == 'Z') s.pop_back();
  return s;
}

std::string format_age(int64_t ns) {
  const int64_t s = ns / 1000000000;
  if (s < 90) return std::to_string(s < 0 ? 0 : s) + " s";
  if (s < 90 * 60) return std::to_string(s / 60) + " min";
  if (s < 48 * 3600) return std::to_string(s / 3600) + " h";
  return std::to_string(s / 86400) + " days";
}

std::string format_size(uint64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " bytes";
  static const char* const kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes) / 1024.0;
  size_t unit = 0;
  while (v >= 1024.0 && unit + 1 < 4) {
    v /= 1024.0;
    ++unit;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[unit]);
  return std::string(buf) + " (" + std::to_string(bytes) + " bytes)";
}

std::string format_count(double value) {
  char buf[64];
  const bool whole = value == static_cast<double>(static_cast<int64_t>(value)) && value < 1e15 && value > -1e15;
  std::snprintf(buf, sizeof buf, whole ? "%.0f" : "%.1f", value);
  return buf;
}

std::string highlight_matches(const std::string& text, std::string_view needle, const Style& style) {
  if (!style.enabled() || needle.empty()) return text;
  std::string out;
  size_t pos = 0;
  for (size_t hit = find_folded(text, needle, 0); hit != std::string::npos;
       hit = find_folded(text, needle, pos)) {
    out.append(text, pos, hit - pos);
    out += style.highlight(std::string_view(text).substr(hit, needle.size()));
    pos = hit + needle.size();
  }
  out.append(text, pos, std::string::npos);
  return out;
}

void Table::add_column(std::string header, bool right_align, bool shrinkable) {
  columns_.push_back({std::move(header), right_align, shrinkable});
}

void Table::add_row(std::vector<Cell> cells) {
  cells.resize(columns_.size());
  rows_.push_back(std::move(cells));
}

std::vector<size_t> Table::column_widths(int max_width) const {
  std::vector<size_t> widths(columns_.size(), 0);
  for (size_t c = 0; c < columns_.size(); ++c) {
    widths[c] = display_width(columns_[c].header);
    for (const auto& row : rows_) widths[c] = std::max(widths[c], display_width(row[c].text));
  }
  if (max_width <= 0 || columns_.empty()) return widths;
  size_t total = 2 * (columns_.size() - 1);
  for (size_t w : widths) total += w;
  // Take one column at a time from the widest shrinkable column until the table fits.
  while (total > static_cast<size_t>(max_width)) {
    size_t widest = columns_.size();
    for (size_t c = 0; c < columns_.size(); ++c) {
      const size_t floor = std::max<size_t>(display_width(columns_[c].header), 8);
      if (columns_[c].shrinkable && widths[c] > floor && (widest == columns_.size() || widths[c] > widths[widest])) {
        widest = c;
      }
    }
    if (widest == columns_.size()) break;
    --widths[widest];
    --total;
  }
  return widths;
}

void Table::render(std::ostream& out, const Style& style, int max_width) const {
  const std::vector<size_t> widths = column_widths(max_width);
  std::string line;
  auto emit = [&](size_t c, const std::string& text, const std::string& styled, bool right) {
    const bool last = c + 1 == columns_.size();
    const size_t w = display_width(text);
    const std::string fill(w < widths[c] ? widths[c] - w : 0, ' ');
    line += right ? fill + styled : styled + (last ? "" : fill);
    if (!last) line += "  ";
  };
  // Lines end without padding (an empty last cell leaves no trailing spaces).
  auto flush = [&] {
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << '\n';
    line.clear();
  };
  for (size_t c = 0; c < columns_.size(); ++c) {
    const std::string text = truncate_to_width(columns_[c].header, widths[c]);
    emit(c, text, style.bold(text), columns_[c].right_align);
  }
  flush();
  for (const auto& row : rows_) {
    for (size_t c = 0; c < columns_.size(); ++c) {
      const std::string text = truncate_to_width(row[c].text, widths[c]);
      std::string styled = row[c].highlight.empty() ? text : highlight_matches(text, row[c].highlight, style);
      if (!row[c].color.empty()) styled = style.paint(row[c].color, styled);
      emit(c, text, styled, columns_[c].right_align);
    }
    flush();
  }
}

}  // namespace tracedrop::cli
