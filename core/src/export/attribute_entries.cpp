#include "export/attribute_entries.h"

#include <unordered_map>

#include "json/json_scan.h"

namespace tracedrop {
namespace {

// True when the quoted JSON string can be copied to the output as it is: ASCII only and no
// \uD800-\uDFFF escape (a pair is re-encoded as UTF-8, a lone one becomes U+FFFD).
bool copyable_string(std::string_view quoted) {
  for (size_t i = 0; i < quoted.size(); ++i) {
    const auto c = static_cast<unsigned char>(quoted[i]);
    if (c >= 0x80) return false;
    if (c == '\\' && i + 2 < quoted.size() && quoted[i + 1] == 'u' &&
        (quoted[i + 2] == 'd' || quoted[i + 2] == 'D') && i + 3 < quoted.size()) {
      const char h = quoted[i + 3];
      if ((h >= '8' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F')) return false;
    }
    if (c == '\\') ++i;  // skip the escaped character
  }
  return true;
}

void fill_value(const json::Member& m, AttrEntry& e) {
  e.raw = m.value;
  switch (m.type) {
    case json::ValueType::kString:
      e.kind = AttrEntry::kString;
      if (!copyable_string(m.value)) {
        e.decoded = true;
        e.text = json::decode_string(m.value);
      }
      break;
    case json::ValueType::kNumber: {
      int64_t i = 0;
      e.kind = json::parse_int64(m.value, i) ? AttrEntry::kInt : AttrEntry::kDouble;
      break;
    }
    case json::ValueType::kNonFinite:
      e.kind = AttrEntry::kNonFinite;
      e.raw = m.value[0] == 'N' ? "NaN" : (m.value[0] == '-' ? "-Infinity" : "Infinity");
      break;
    case json::ValueType::kTrue:
    case json::ValueType::kFalse:
      e.kind = AttrEntry::kBool;
      e.boolean = m.type == json::ValueType::kTrue;
      break;
    case json::ValueType::kArray:
    case json::ValueType::kObject:
      e.kind = AttrEntry::kComplex;
      break;
    case json::ValueType::kNull:
      e.kind = AttrEntry::kNull;
      break;
  }
}

}  // namespace

bool read_attribute_entries(std::string_view object_text, std::vector<AttrEntry>& out) {
  out.clear();
  const json::ScanResult r = json::scan_object(object_text, [&](const json::Member& m) {
    AttrEntry e;
    e.key = m.key_escaped ? json::decode_string("\"" + std::string(m.key) + "\"") : std::string(m.key);
    fill_value(m, e);
    out.push_back(std::move(e));
  });
  if (!r.valid || !r.is_object) {
    out.clear();
    return false;
  }
  // Keys are unique in what Python writes; other writers may repeat one: keep the last value.
  if (out.size() > 1) {
    std::unordered_map<std::string_view, size_t> last;
    for (size_t i = 0; i < out.size(); ++i) last[out[i].key] = i;
    if (last.size() != out.size()) {
      std::vector<bool> keep(out.size());
      for (const auto& kv : last) keep[kv.second] = true;
      std::vector<AttrEntry> unique;
      for (size_t i = 0; i < out.size(); ++i)
        if (keep[i]) unique.push_back(std::move(out[i]));
      out.swap(unique);
    }
  }
  return true;
}

std::string entry_string(const AttrEntry& e) {
  return e.decoded ? e.text : json::decode_string(e.raw);
}

nlohmann::json entry_complex(const AttrEntry& e) {
  auto parsed = json::parse_lenient(e.raw);
  return parsed ? *parsed : nlohmann::json();
}

}  // namespace tracedrop
