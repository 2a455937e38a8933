#include "pyvalue.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace tracedrop::testdata::detail {

PyValue PyValue::boolean(bool b) {
  PyValue v;
  v.kind_ = Kind::kBool;
  v.b_ = b;
  return v;
}

PyValue PyValue::integer(int64_t i) {
  PyValue v;
  v.kind_ = Kind::kInt;
  v.i_ = i;
  return v;
}

PyValue PyValue::real(double d) {
  PyValue v;
  v.kind_ = Kind::kFloat;
  v.d_ = d;
  return v;
}

PyValue PyValue::str(std::string s) {
  PyValue v;
  v.kind_ = Kind::kStr;
  v.s_ = std::move(s);
  return v;
}

PyValue PyValue::list(std::vector<PyValue> items) {
  PyValue v;
  v.kind_ = Kind::kList;
  v.items_ = std::move(items);
  return v;
}

PyValue PyValue::dict(std::vector<Field> fields) {
  PyValue v;
  v.kind_ = Kind::kDict;
  v.fields_ = std::move(fields);
  return v;
}

PyValue& PyValue::add(PyValue v) {
  items_.push_back(std::move(v));
  return *this;
}

PyValue& PyValue::set(std::string key, PyValue v) {
  for (auto& f : fields_) {
    if (f.first == key) {
      f.second = std::move(v);
      return *this;
    }
  }
  fields_.emplace_back(std::move(key), std::move(v));
  return *this;
}

const PyValue* PyValue::get(const std::string& key) const {
  for (const auto& f : fields_) {
    if (f.first == key) return &f.second;
  }
  return nullptr;
}

namespace {

// Decodes one UTF-8 sequence at s[i]; advances i. Invalid bytes decode as U+FFFD.
uint32_t next_code_point(const std::string& s, size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  size_t len = 1;
  uint32_t cp = b0;
  if (b0 >= 0xF0) {
    len = 4;
    cp = b0 & 0x07u;
  } else if (b0 >= 0xE0) {
    len = 3;
    cp = b0 & 0x0Fu;
  } else if (b0 >= 0xC0) {
    len = 2;
    cp = b0 & 0x1Fu;
  } else if (b0 >= 0x80) {
    ++i;
    return 0xFFFD;
  }
  if (i + len > s.size()) {
    ++i;
    return 0xFFFD;
  }
  for (size_t k = 1; k < len; ++k) {
    cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3Fu);
  }
  i += len;
  return cp;
}

constexpr char kHexDigits[] = "0123456789abcdef";

void append_hex4(std::string& out, uint32_t v) {
  const char buf[6] = {'\\', 'u', kHexDigits[(v >> 12) & 0xF], kHexDigits[(v >> 8) & 0xF],
                       kHexDigits[(v >> 4) & 0xF], kHexDigits[v & 0xF]};
  out.append(buf, sizeof buf);
}

// Bytes a JSON string can hold as they are (ascii: Python's ensure_ascii keeps only ' '..'~').
bool json_plain(unsigned char c, bool ascii) {
  return c >= 0x20 && c != '"' && c != '\\' && (!ascii || c < 0x7F);
}

// JSON string body; ascii=true escapes every non-ASCII character like Python's ensure_ascii.
void append_json_string(std::string& out, const std::string& s, bool ascii) {
  out.reserve(out.size() + s.size() + 2);
  out += '"';
  size_t i = 0;
  while (i < s.size()) {
    // Copy runs of plain bytes at once: this is the generator's hottest loop.
    size_t run = i;
    while (run < s.size() && json_plain(static_cast<unsigned char>(s[run]), ascii)) ++run;
    if (run > i) {
      out.append(s, i, run - i);
      i = run;
      continue;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
          // Python's ensure_ascii also escapes DEL (its regex keeps only ' '..'~').
          if (c < 0x20 || (ascii && c == 0x7F)) {
            append_hex4(out, c);
          } else {
            out += static_cast<char>(c);
          }
      }
      continue;
    }
    if (!ascii) {
      const size_t start = i;
      next_code_point(s, i);
      out.append(s, start, i - start);
      continue;
    }
    const uint32_t cp = next_code_point(s, i);
    if (cp >= 0x10000) {
      const uint32_t v = cp - 0x10000;
      append_hex4(out, 0xD800 + (v >> 10));
      append_hex4(out, 0xDC00 + (v & 0x3FF));
    } else {
      append_hex4(out, cp);
    }
  }
  out += '"';
}

void append_json(std::string& out, const PyValue& v, bool python_style);

void append_json_fields(std::string& out, const std::vector<PyValue::Field>& fields, bool python_style) {
  out += '{';
  bool first = true;
  for (const auto& f : fields) {
    if (!first) out += python_style ? ", " : ",";
    first = false;
    append_json_string(out, f.first, python_style);
    out += python_style ? ": " : ":";
    append_json(out, f.second, python_style);
  }
  out += '}';
}

void append_json(std::string& out, const PyValue& v, bool python_style) {
  switch (v.kind()) {
    case PyValue::Kind::kNone: out += "null"; break;
    case PyValue::Kind::kBool: out += v.as_bool() ? "true" : "false"; break;
    case PyValue::Kind::kInt: out += std::to_string(v.as_int()); break;
    case PyValue::Kind::kFloat: out += py_float(v.as_float(), true); break;
    case PyValue::Kind::kStr: append_json_string(out, v.as_str(), python_style); break;
    case PyValue::Kind::kList: {
      out += '[';
      bool first = true;
      for (const auto& item : v.items()) {
        if (!first) out += python_style ? ", " : ",";
        first = false;
        append_json(out, item, python_style);
      }
      out += ']';
      break;
    }
    case PyValue::Kind::kDict: append_json_fields(out, v.fields(), python_style); break;
  }
}

// Characters Python's str.isprintable() rejects, restricted to the ones our corpora can hold:
// controls, NBSP, soft hyphen, the Unicode spaces and format characters (ZWSP, BOM, ...).
bool py_unprintable(uint32_t cp) {
  if (cp < 0x20 || (cp >= 0x7F && cp <= 0xA0) || cp == 0xAD) return true;
  if ((cp >= 0x2000 && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202F)) return true;
  if ((cp >= 0x205F && cp <= 0x2064) || cp == 0x3000 || cp == 0xFEFF) return true;
  return false;
}

void append_repr_escape(std::string& out, uint32_t cp) {
  if (cp >= 0x100) {
    append_hex4(out, cp);
    return;
  }
  const char buf[4] = {'\\', 'x', kHexDigits[(cp >> 4) & 0xF], kHexDigits[cp & 0xF]};
  out.append(buf, sizeof buf);
}

void append_repr_string(std::string& out, const std::string& s) {
  const bool has_single = s.find('\'') != std::string::npos;
  const bool has_double = s.find('"') != std::string::npos;
  const char quote = (has_single && !has_double) ? '"' : '\'';
  out.reserve(out.size() + s.size() + 2);
  out += quote;
  size_t i = 0;
  while (i < s.size()) {
    size_t run = i;
    while (run < s.size()) {
      const auto c = static_cast<unsigned char>(s[run]);
      if (c < 0x20 || c >= 0x7F || c == static_cast<unsigned char>(quote) || c == '\\') break;
      ++run;
    }
    if (run > i) {
      out.append(s, i, run - i);
      i = run;
      continue;
    }
    const size_t start = i;
    const uint32_t cp = next_code_point(s, i);
    if (cp == static_cast<uint32_t>(quote) || cp == '\\') {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (py_unprintable(cp)) {
      append_repr_escape(out, cp);
    } else {
      out.append(s, start, i - start);
    }
  }
  out += quote;
}

void append_repr(std::string& out, const PyValue& v) {
  switch (v.kind()) {
    case PyValue::Kind::kNone: out += "None"; break;
    case PyValue::Kind::kBool: out += v.as_bool() ? "True" : "False"; break;
    case PyValue::Kind::kInt: out += std::to_string(v.as_int()); break;
    case PyValue::Kind::kFloat: out += py_float(v.as_float(), false); break;
    case PyValue::Kind::kStr: append_repr_string(out, v.as_str()); break;
    case PyValue::Kind::kList: {
      out += '[';
      bool first = true;
      for (const auto& item : v.items()) {
        if (!first) out += ", ";
        first = false;
        append_repr(out, item);
      }
      out += ']';
      break;
    }
    case PyValue::Kind::kDict: {
      out += '{';
      bool first = true;
      for (const auto& f : v.fields()) {
        if (!first) out += ", ";
        first = false;
        append_repr_string(out, f.first);
        out += ": ";
        append_repr(out, f.second);
      }
      out += '}';
      break;
    }
  }
}

}  // namespace

std::string py_float(double d, bool json) {
  if (std::isnan(d)) return json ? "NaN" : "nan";
  if (std::isinf(d)) {
    if (json) return d < 0 ? "-Infinity" : "Infinity";
    return d < 0 ? "-inf" : "inf";
  }
  // Shortest text that reads back as the same double, like Python's repr.
  char buf[40];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  std::string s = buf;
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}

std::string json_dumps(const PyValue& v) {
  std::string out;
  append_json(out, v, true);
  return out;
}

std::string json_dumps(const Attrs& attrs) {
  std::string out;
  out.reserve(256);
  append_json_fields(out, attrs, true);
  return out;
}

std::string json_compact(const PyValue& v) {
  std::string out;
  append_json(out, v, false);
  return out;
}

std::string py_repr(const PyValue& v) {
  std::string out;
  append_repr(out, v);
  return out;
}

std::string py_repr_str(const std::string& s) {
  std::string out;
  append_repr_string(out, s);
  return out;
}

}  // namespace tracedrop::testdata::detail
