// A streaming JSON text writer producing compact output ({"a":1,"b":[true,null]}) that is
// always valid UTF-8, whatever bytes the stored strings hold.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tracedrop::json {

// Appends `utf8` as a quoted JSON string: escapes '"', '\\' and control characters (\n \t \r
// \b \f, others as \u00XX), passes valid UTF-8 through and replaces each maximal ill-formed
// subsequence with U+FFFD.
void append_escaped_string(std::string& out, std::string_view utf8);

class Writer {
 public:
  Writer();                           // writes into a buffer of its own
  explicit Writer(std::string& out);  // appends to `out`
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void begin_object();
  void end_object();
  void begin_array();
  void end_array();
  void key(std::string_view k);
  void string(std::string_view utf8);
  void raw(std::string_view json_text);  // a complete pre-formatted value
  void int64(int64_t v);
  void uint64(uint64_t v);
  void boolean(bool v);
  void null();
  void number(double v);  // shortest round-trip text; NaN and infinities are written as null
  void int64_as_string(int64_t v);  // "123": OTLP/JSON carries 64-bit integers as strings

  std::string& buffer() { return *out_; }

 private:
  void before_value();
  void open(char bracket);
  void close(char bracket);

  std::string owned_;
  std::string* out_;
  // Open brackets, innermost last; std::string keeps shallow nesting free of allocation.
  std::string open_;
  bool need_comma_ = false;  // a value was completed at the current level
  bool after_key_ = false;   // the next value belongs to the key just written
};

}  // namespace tracedrop::json
