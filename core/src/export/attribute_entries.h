// Span and event attribute text split into typed entries, for the exporters. Reading keeps the
// stored text where it is already valid output (ASCII strings, integers, numbers), so the hot
// path copies bytes instead of parsing into a document.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace tracedrop {

struct AttrEntry {
  enum Kind : uint8_t { kString, kInt, kDouble, kNonFinite, kBool, kComplex, kNull };
  // The member's name: a view of the attribute text, like `raw` (the text outlives the entries),
  // or, for a name written with escapes, its decoded UTF-8 in `key_decoded`. A view, not a copy:
  // the exporters read every span's entries into the same vector, and a copied name was an
  // allocation for each (every name longer than 10 bytes in the wasm module's std::string).
  std::string_view key() const { return key_escaped ? std::string_view(key_decoded) : key_in_text; }
  std::string_view key_in_text;
  std::string key_decoded;
  bool key_escaped = false;
  Kind kind = kNull;
  // kString: quoted JSON text safe to copy (ASCII, surrogate escapes only in pairs) or, when `decoded`
  // is set, the decoded UTF-8 in `text`. kInt/kDouble: the number text. kNonFinite: "NaN",
  // "Infinity" or "-Infinity". kComplex: the raw array/object text.
  std::string_view raw;
  std::string text;
  bool decoded = false;
  bool boolean = false;
};

// Reads a JSON object's members in order (of duplicate keys only the last is kept).
// Returns false when the text is not a JSON object; `out` is then empty.
bool read_attribute_entries(std::string_view object_text, std::vector<AttrEntry>& out);

// The entry's string value as UTF-8 (kString only).
std::string entry_string(const AttrEntry& e);

// Parses a kComplex entry (lenient: NaN allowed). A null json on failure.
nlohmann::json entry_complex(const AttrEntry& e);

}  // namespace tracedrop
