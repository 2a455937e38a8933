// Case-insensitive text search over span names, attribute keys and values, and events.
//
// Speed comes from testing the raw JSON text first (text/needle.h explains why that is exact
// enough): only members whose raw text may hold the needle are decoded, and long values only
// in small windows around the places where a match can be.
#include <algorithm>
#include <cstdint>
#include <numeric>

#include "json/json_scan.h"
#include "text/needle.h"
#include "text/snippet.h"
#include "text/utf8.h"
#include "tracedrop/search.h"

namespace tracedrop {
namespace {

using text::Needle;

constexpr uint32_t kProgressEvery = 4096;   // spans between progress reports
constexpr size_t kValuePreviewBytes = 256;  // raw value bytes decoded for a key match's snippet

bool is_blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || (c >= '\t' && c <= '\r'); });
}

// Visible text for field names (keys may hold control characters or invalid UTF-8).
std::string display(std::string_view s) {
  std::string out;
  text::append_display(out, s);
  return out;
}

// Finds the first matching field of one span at a time.
class SpanMatcher {
 public:
  SpanMatcher(const Model& model, Needle& needle) : model_(model), needle_(needle) {}

  // `attrs` is the span's attribute text.
  bool match(uint32_t s, std::string_view attrs, SearchHit& hit) {
    hit.span = s;
    if (match_plain(model_.spans.name[s], "name", hit)) return true;
    const bool bad = (model_.spans.flags[s] & kSpanBadAttributes) != 0;
    if (match_attributes(attrs, bad, "attributes", hit)) return true;
    for (const uint32_t* e = model_.events_begin(s); e != model_.events_end(s); ++e) {
      const std::string_view event_attrs = model_.event_attributes(*e);
      if (!name_matches(model_.events.name[*e]) && !needle_.may_match_raw(event_attrs)) continue;
      const std::string prefix = "events." + std::string(model_.event_name(*e));
      if (match_plain(model_.events.name[*e], prefix, hit)) return true;
      if (match_attributes(event_attrs, model_.events.bad_attributes[*e] != 0, prefix, hit)) return true;
    }
    return false;
  }

 private:
  // Whether an interned name (span or event) holds the needle. Names repeat a lot, so the
  // verdict is cached by string index.
  bool name_matches(uint32_t string_index) {
    if (string_index >= name_verdict_.size()) {
      name_verdict_.resize(string_index + 1, kUnknown);
      name_pos_.resize(string_index + 1);
    }
    if (name_verdict_[string_index] == kUnknown) {
      const size_t pos = needle_.find(model_.str(string_index));
      name_verdict_[string_index] = pos == std::string_view::npos ? kNo : kYes;
      name_pos_[string_index] = pos;
    }
    return name_verdict_[string_index] == kYes;
  }

  bool match_plain(uint32_t string_index, std::string_view field, SearchHit& hit) {
    if (!name_matches(string_index)) return false;
    set_hit(hit, field, model_.str(string_index), name_pos_[string_index]);
    return true;
  }

  bool match_attributes(std::string_view raw, bool bad, std::string_view prefix, SearchHit& hit) {
    if (raw.empty()) return false;
    const size_t first = needle_.first_candidate(raw);
    if (first == std::string_view::npos) return false;
    if (bad) return match_raw_text(raw, prefix, hit);
    bool found = false;
    json::scan_object(raw, [&](const json::Member& m) {
      // Members wholly before the first possible match need no look.
      const auto member_end = static_cast<size_t>(m.value.data() + m.value.size() - raw.data());
      if (member_end <= first) return true;
      found = match_member(m, prefix, hit);
      return !found;
    });
    return found;
  }

  // Attribute text that is not a JSON object: searched as it is.
  bool match_raw_text(std::string_view raw, std::string_view field, SearchHit& hit) {
    const size_t pos = needle_.find(raw);
    if (pos == std::string_view::npos) return false;
    set_hit(hit, field, raw, pos);
    return true;
  }

  bool match_member(const json::Member& m, std::string_view prefix, SearchHit& hit) {
    const bool key_may = needle_.may_match_raw(m.key);
    const bool value_may = needle_.may_match_raw(m.value);
    if (!key_may && !value_may) return false;
    key_.clear();
    json::append_decoded(m.key, key_);
    const std::string field = std::string(prefix) + "." + key_;
    if (key_may) {
      const size_t pos = needle_.find(key_);
      if (pos != std::string_view::npos) {
        // Show the key with the start of its value: "key: value…".
        std::string shown = key_ + ": ";
        append_value(m, kValuePreviewBytes, shown);
        set_hit(hit, field, shown, pos);
        return true;
      }
    }
    if (!value_may || !needle_.find_escaped(value_body(m), hit.snippet)) return false;
    hit.field = display(field);
    return true;
  }

  // A string's content between the quotes, or the JSON text of anything else; either way
  // with escapes still to decode.
  static std::string_view value_body(const json::Member& m) {
    std::string_view body = m.value;
    if (m.type == json::ValueType::kString && body.size() >= 2) body = body.substr(1, body.size() - 2);
    return body;
  }

  // The start of a decoded value (`max_raw` raw bytes; a cut escape is then shown as typed).
  static void append_value(const json::Member& m, size_t max_raw, std::string& out) {
    json::append_decoded(value_body(m).substr(0, max_raw), out);
  }

  void set_hit(SearchHit& hit, std::string_view field, std::string_view text, size_t pos) const {
    hit.field = display(field);
    hit.snippet = text::make_snippet(text, pos, needle_.size());
  }

  enum Verdict : int8_t { kUnknown, kNo, kYes };

  const Model& model_;
  Needle& needle_;
  std::vector<Verdict> name_verdict_;  // by string index
  std::vector<size_t> name_pos_;
  std::string key_;
};

// Traces newest first (ties by id, so the order does not depend on the file's row order).
std::vector<uint32_t> traces_newest_first(const Model& model) {
  std::vector<uint32_t> order(model.trace_count());
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    const TraceInfo& x = model.traces[a];
    const TraceInfo& y = model.traces[b];
    return x.start != y.start ? x.start > y.start : x.id < y.id;
  });
  return order;
}

Status cancelled() { return Status(ErrorCode::kCancelled, "Search was cancelled."); }

}  // namespace

Result<std::vector<SearchHit>> search(const Model& model, std::string_view text, const SearchOptions& options) {
  if (is_blank(text)) {
    return Status(ErrorCode::kInvalidArgument, "The search text is empty: give a word or phrase to look for.");
  }
  Needle needle(text);
  SpanMatcher matcher(model, needle);
  std::vector<SearchHit> hits;
  // A limit of 0 means "no limit".
  const size_t limit = options.limit == 0 ? SIZE_MAX : options.limit;
  const double total = std::max(1.0, static_cast<double>(model.span_count()));
  uint64_t visited = 0;
  // Spans are visited newest trace first, a batch at a time: when attributes are read on
  // demand, a batch is read in file order in one go. Batches start small (a common word is
  // found in the first few traces) and grow (a rare one needs the whole file).
  const std::vector<uint32_t> order = traces_newest_first(model);
  size_t next_trace = 0;
  size_t batch_target = 256;
  std::vector<uint32_t> batch;
  Model::AttributeTexts texts;
  while (next_trace < order.size() && hits.size() < limit) {
    batch.clear();
    while (next_trace < order.size() && batch.size() < batch_target) {
      const uint32_t t = order[next_trace++];
      batch.insert(batch.end(), model.trace_spans_begin(t), model.trace_spans_end(t));
    }
    batch_target = std::min<size_t>(batch_target * 4, 16384);
    TRACEDROP_RETURN_IF_ERROR(model.span_attributes_batch(batch, texts));
    for (size_t i = 0; i < batch.size() && hits.size() < limit; ++i) {
      if (++visited % kProgressEvery == 0 && options.progress &&
          !options.progress(static_cast<double>(visited) / total)) {
        return cancelled();
      }
      if (!texts.found[i]) {
        return Status(ErrorCode::kNotFound, "span row " + std::to_string(model.spans.rowid[batch[i]]) +
                                                " is gone: the file changed since it was opened. Open it again.");
      }
      SearchHit hit;
      if (!matcher.match(batch[i], texts.texts[i], hit)) continue;
      hits.push_back(std::move(hit));
    }
  }
  if (options.progress && !options.progress(1.0)) return cancelled();
  return hits;
}

}  // namespace tracedrop
