#include "tracedrop/model.h"

#include "store/table_scan.h"

#include <algorithm>
#include <numeric>
#include <utility>

#include "model/ids.h"
#include "tracedrop/store.h"

namespace tracedrop {

const char* status_name(SpanStatus s) {
  switch (s) {
    case SpanStatus::kOk: return "OK";
    case SpanStatus::kError: return "ERROR";
    default: return "UNSET";
  }
}

const char* kind_name(SpanKind k) {
  switch (k) {
    case SpanKind::kInternal: return "INTERNAL";
    case SpanKind::kServer: return "SERVER";
    case SpanKind::kClient: return "CLIENT";
    case SpanKind::kProducer: return "PRODUCER";
    case SpanKind::kConsumer: return "CONSUMER";
    default: return "UNSPECIFIED";
  }
}

void append_hex64(std::string& out, uint64_t v) {
  static const char kDigits[] = "0123456789abcdef";
  char digits[16];
  for (int i = 15; i >= 0; --i) {
    digits[i] = kDigits[v & 0xf];
    v >>= 4;
  }
  out.append(digits, sizeof digits);
}

std::string hex64(uint64_t v) {
  std::string out;
  append_hex64(out, v);
  return out;
}

std::string hex128(uint64_t hi, uint64_t lo) {
  std::string out;
  append_hex64(out, hi);
  append_hex64(out, lo);
  return out;
}

uint32_t Model::find_string(std::string_view s) const {
  auto it = string_index_.find(s);
  return it == string_index_.end() ? UINT32_MAX : it->second;
}

std::string Model::span_id_text(uint32_t s) const {
  if (spans.flags[s] & kSpanBadSpanId) {
    auto it = bad_span_id_text_.find(s);
    if (it != bad_span_id_text_.end()) return it->second;
  }
  return hex64(spans.id[s]);
}

std::string Model::parent_id_text(uint32_t s) const {
  if (spans.flags[s] & kSpanBadParentId) {
    auto it = bad_parent_id_text_.find(s);
    if (it != bad_parent_id_text_.end()) return it->second;
  }
  return spans.parent_id[s] ? hex64(spans.parent_id[s]) : std::string();
}

std::string Model::span_id_hex(uint32_t s) const { return hex64(spans.id[s]); }

Status Model::chain_text(uint32_t s, std::string& out) const {
  if (read_overflow_field(*image_, spans.attr_offset[s] & ~SpanColumns::kInChain, attr_field_, out) &&
      out.size() == spans.attr_len[s])
    return Status::ok();
  return Status(ErrorCode::kNotFound, "The attributes of span " + span_id_text(s) + " in " + store_->display_name() +
                                          " are gone: the file changed since it was opened. Open it again.");
}

Result<std::string_view> Model::span_attributes(uint32_t s, std::string& scratch) const {
  if (attrs_in_memory_) {
    if (spans.attr_offset[s] & SpanColumns::kInChain) {
      Status st = chain_text(s, scratch);
      if (!st.is_ok()) return st;
      return std::string_view(scratch);
    }
    return held_text(spans.attr_offset[s], spans.attr_len[s]);
  }
  Status st = store_->span_attributes(spans.rowid[s], scratch);
  if (!st.is_ok()) return st;
  return std::string_view(scratch);
}


Status Model::span_attributes_batch(const std::vector<uint32_t>& span_list, AttributeTexts& out) const {
  out.texts.assign(span_list.size(), std::string_view());
  out.found.assign(span_list.size(), attrs_in_memory_ ? 1 : 0);
  out.bytes.clear();
  if (attrs_in_memory_) {
    // Texts on overflow pages are gathered into out.bytes; views into it are taken at the end,
    // once it has stopped growing.
    std::vector<std::pair<size_t, size_t>> gathered;
    std::string one;
    for (size_t i = 0; i < span_list.size(); ++i) {
      const uint32_t s = span_list[i];
      if (spans.attr_offset[s] & SpanColumns::kInChain) {
        Status st = chain_text(s, one);
        if (!st.is_ok()) return st;
        gathered.push_back({i, out.bytes.size()});
        out.bytes += one;
      } else {
        out.texts[i] = held_text(spans.attr_offset[s], spans.attr_len[s]);
      }
    }
    for (const auto& [i, at] : gathered) out.texts[i] = std::string_view(out.bytes.data() + at, spans.attr_len[span_list[i]]);
    return Status::ok();
  }
  std::vector<size_t> order(span_list.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return spans.rowid[span_list[a]] < spans.rowid[span_list[b]]; });
  std::vector<int64_t> rowids(order.size());
  for (size_t k = 0; k < order.size(); ++k) rowids[k] = spans.rowid[span_list[order[k]]];
  // Offsets first: the byte buffer grows while the texts arrive.
  std::vector<std::pair<size_t, size_t>> where(span_list.size(), {0, 0});
  Status st = store_->span_attributes_batch(rowids, [&](size_t k, std::string_view text) {
    where[order[k]] = {out.bytes.size(), text.size()};
    out.found[order[k]] = 1;
    out.bytes.append(text.data(), text.size());
  });
  if (!st.is_ok()) return st;
  for (size_t i = 0; i < span_list.size(); ++i)
    out.texts[i] = std::string_view(out.bytes.data() + where[i].first, where[i].second);
  return Status::ok();
}

std::optional<uint32_t> Model::find_span(std::string_view span_id) const {
  uint64_t id = 0;
  if (parse_hex64(span_id, id)) {
    const uint32_t found = span_by_id_.find(id, spans.id.data());
    if (found != IndexMap::kNone && !(spans.flags[found] & kSpanBadSpanId)) return found;
  }
  auto it = span_by_bad_id_.find(std::string(span_id));
  if (it != span_by_bad_id_.end()) return it->second;
  return std::nullopt;
}

std::optional<uint32_t> Model::find_trace(std::string_view trace_id) const {
  auto it = trace_by_id_.find(std::string(trace_id));
  if (it != trace_by_id_.end()) return it->second;
  // Ids are lower-case hex as written; accept what a user pastes in upper case too.
  std::string lower(trace_id);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; });
  it = trace_by_id_.find(lower);
  if (it != trace_by_id_.end()) return it->second;
  return std::nullopt;
}

std::vector<uint32_t> Model::trace_roots(uint32_t t) const {
  std::vector<uint32_t> roots;
  const TraceInfo& tr = traces[t];
  if (tr.root >= 0) roots.push_back(static_cast<uint32_t>(tr.root));
  for (const uint32_t* p = trace_spans_begin(t); p != trace_spans_end(t); ++p) {
    if (spans.parent[*p] < 0 && static_cast<int32_t>(*p) != tr.root) roots.push_back(*p);
  }
  return roots;
}

std::string Model::service_display(uint32_t t) const {
  std::string_view s = str(traces[t].service);
  // Invisible names: empty, spaces, or the zero-width space Llama Stack uses as a default.
  std::string_view rest = s;
  while (!rest.empty()) {
    if (rest[0] == ' ') {
      rest.remove_prefix(1);
    } else if (rest.substr(0, 3) == "\xE2\x80\x8B") {
      rest.remove_prefix(3);
    } else {
      return std::string(s);
    }
  }
  return "llama-stack";
}

std::string_view Model::trace_name(uint32_t t) const {
  const TraceInfo& tr = traces[t];
  if (tr.root >= 0) return span_name(static_cast<uint32_t>(tr.root));
  if (tr.span_count > 0) return span_name(*trace_spans_begin(t));
  return {};
}

}  // namespace tracedrop
