// A tiny model of the Python values Llama Stack serialises, and the three ways its text
// reaches a trace store: `json.dumps` (attributes), pydantic's `model_dump_json` (request and
// message JSON nested inside attributes) and `repr`/`str` (the `__args__`/`output` strings of
// auto-traced methods). Getting these byte-exact is the point of the generator: readers are
// tested against the same escaping quirks real files have.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace tracedrop::testdata::detail {

class PyValue {
 public:
  enum class Kind : uint8_t { kNone, kBool, kInt, kFloat, kStr, kList, kDict };
  using Field = std::pair<std::string, PyValue>;

  PyValue() = default;  // None
  static PyValue none() { return PyValue(); }
  static PyValue boolean(bool b);
  static PyValue integer(int64_t i);
  static PyValue real(double d);
  static PyValue str(std::string s);
  static PyValue list(std::vector<PyValue> items = {});
  static PyValue dict(std::vector<Field> fields = {});

  Kind kind() const { return kind_; }
  bool as_bool() const { return b_; }
  int64_t as_int() const { return i_; }
  double as_float() const { return d_; }
  const std::string& as_str() const { return s_; }
  const std::vector<PyValue>& items() const { return items_; }
  const std::vector<Field>& fields() const { return fields_; }

  // Builders for lists and dicts (keys keep insertion order, like Python dicts).
  PyValue& add(PyValue v);
  PyValue& set(std::string key, PyValue v);
  const PyValue* get(const std::string& key) const;

 private:
  Kind kind_ = Kind::kNone;
  bool b_ = false;
  int64_t i_ = 0;
  double d_ = 0;
  std::string s_;
  std::vector<PyValue> items_;
  std::vector<Field> fields_;
};

// An attributes object: ordered key/value pairs (the top level of every attributes column).
using Attrs = std::vector<PyValue::Field>;

// Python `json.dumps(v)`: ", " and ": " separators, ensure_ascii (\uXXXX lowercase, astral
// characters as surrogate pairs), NaN/Infinity written bare (allow_nan).
std::string json_dumps(const PyValue& v);
std::string json_dumps(const Attrs& attrs);
// Pydantic `model_dump_json()`: "," and ":" separators, non-ASCII kept as raw UTF-8.
std::string json_compact(const PyValue& v);
// Python `repr(v)` (and `str(v)` for containers): single-quoted strings unless the text holds
// a ' and no ", None/True/False, float repr.
std::string py_repr(const PyValue& v);
// repr of a single string (what `str(dict)` shows for a str value).
std::string py_repr_str(const std::string& s);

// Python float repr ("0.0", "0.83", "1e-05", "nan", "inf"); json=true gives NaN/Infinity.
std::string py_float(double d, bool json);

}  // namespace tracedrop::testdata::detail
