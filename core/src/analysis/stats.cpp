// Whole-store statistics: counts, errors, time range, per-name durations and token usage.
// One pass over the span and event columns; no attribute text is read.
#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "text/utf8.h"
#include "tracedrop/analysis.h"
#include "tracedrop/views.h"

namespace tracedrop {
namespace {

// Nearest-rank percentile of sorted values: the smallest value such that at least p% of the
// values are <= it, i.e. sorted[ceil(p/100 * n) - 1] (the first value for p = 0).
int64_t nearest_rank(const std::vector<int64_t>& sorted, double p) {
  const auto n = static_cast<double>(sorted.size());
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * n));
  rank = std::max<size_t>(rank, 1);
  return sorted[std::min(rank, sorted.size()) - 1];
}

NameStats summarize_name(std::string name, std::vector<int64_t>& durations, int64_t total, uint64_t errors) {
  std::sort(durations.begin(), durations.end());
  NameStats out;
  out.name = std::move(name);
  out.count = durations.size();
  out.errors = errors;
  out.total_ms = ns_to_ms(total);
  out.mean_ms = ns_to_ms(std::llround(static_cast<double>(total) / static_cast<double>(durations.size())));
  out.p50_ms = ns_to_ms(nearest_rank(durations, 50));
  out.p95_ms = ns_to_ms(nearest_rank(durations, 95));
  out.max_ms = ns_to_ms(durations.back());
  return out;
}

void count_spans(const Model& model, Stats& st) {
  const SpanColumns& c = model.spans;
  for (uint32_t s = 0; s < model.span_count(); ++s) {
    if (model.span_failed(s)) ++st.errors;
    if (c.status[s] == SpanStatus::kError) ++st.error_status;
    if (c.flags[s] & kSpanErrorAttribute) ++st.error_attribute;
    if (c.flags[s] & kSpanOrphan) ++st.orphan_spans;
    if (s == 0 || c.start[s] < st.first_start) st.first_start = c.start[s];
    if (s == 0 || c.end[s] > st.last_end) st.last_end = c.end[s];
  }
  st.has_time_range = model.span_count() > 0;
}

std::vector<NameStats> stats_by_name(const Model& model) {
  struct Group {
    std::vector<int64_t> durations;
    int64_t total_ns = 0;
    uint64_t errors = 0;
  };
  std::unordered_map<uint32_t, Group> groups;  // by name string index
  for (uint32_t s = 0; s < model.span_count(); ++s) {
    Group& g = groups[model.spans.name[s]];
    g.durations.push_back(model.duration_ns(s));
    g.total_ns += model.duration_ns(s);
    if (model.span_failed(s)) ++g.errors;
  }
  // Sorted on exact nanosecond totals, not on the rounded milliseconds.
  std::vector<std::pair<int64_t, NameStats>> sorted;
  sorted.reserve(groups.size());
  for (auto& [name, g] : groups) {
    sorted.emplace_back(g.total_ns, summarize_name(std::string(model.str(name)), g.durations, g.total_ns, g.errors));
  }
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second.name < b.second.name;
  });
  std::vector<NameStats> out;
  out.reserve(sorted.size());
  for (auto& entry : sorted) out.push_back(std::move(entry.second));
  return out;
}

// Token counts are `metric.*_tokens` events, keyed by their model_id ("" when absent).
void count_tokens(const Model& model, Stats& st) {
  const uint32_t prompt = model.find_string("metric.prompt_tokens");
  const uint32_t completion = model.find_string("metric.completion_tokens");
  const uint32_t total = model.find_string("metric.total_tokens");
  const EventColumns& ev = model.events;
  for (uint32_t e = 0; e < model.event_count(); ++e) {
    const uint32_t name = ev.name[e];
    if (name != prompt && name != completion && name != total) continue;
    const double value = ev.metric_value[e];
    if (std::isnan(value)) continue;
    TokenCounts& tc = st.tokens_by_model[std::string(model.str(ev.metric_model[e]))];
    ++tc.events;
    (name == prompt ? tc.prompt : name == completion ? tc.completion : tc.total) += value;
  }
}

nlohmann::json time_or_null(bool has, TimeNs ns) { return has ? nlohmann::json(format_iso_utc(ns, 6)) : nlohmann::json(); }

// Token sums are whole numbers in practice: write them as integers when they are.
nlohmann::json token_number(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9.0e15) return static_cast<int64_t>(v);
  return v;
}

nlohmann::json name_stats_json(const NameStats& n) {
  return {{"name", text::to_valid_utf8(n.name)},         {"count", n.count},     {"errors", n.errors},
          {"total_ms", n.total_ms}, {"mean_ms", n.mean_ms}, {"p50_ms", n.p50_ms},
          {"p95_ms", n.p95_ms},     {"max_ms", n.max_ms}};
}

nlohmann::json tokens_json(const std::map<std::string, TokenCounts>& by_model) {
  // Events without model_id are shown as "unknown" (merged with a model really named so).
  std::map<std::string, TokenCounts> shown;
  for (const auto& [model, tc] : by_model) {
    TokenCounts& out = shown[model.empty() ? "unknown" : model];
    out.prompt += tc.prompt;
    out.completion += tc.completion;
    out.total += tc.total;
    out.events += tc.events;
  }
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [model, tc] : shown) {
    j[text::to_valid_utf8(model)] = {{"prompt", token_number(tc.prompt)}, {"completion", token_number(tc.completion)}, {"total", token_number(tc.total)}};
  }
  return j;
}

std::vector<std::string> valid_all(const std::vector<std::string>& texts) {
  std::vector<std::string> out;
  for (const auto& t : texts) out.push_back(text::to_valid_utf8(t));
  return out;
}

nlohmann::json diagnostics_json(const std::vector<Diagnostic>& diagnostics) {
  nlohmann::json j = nlohmann::json::array();
  for (const Diagnostic& d : diagnostics) {
    j.push_back({{"code", d.code}, {"message", d.message}, {"count", d.count}, {"examples", valid_all(d.examples)}});
  }
  return j;
}

}  // namespace

Stats compute_stats(const Model& model) {
  Stats st;
  st.traces = model.trace_count();
  st.spans = model.span_count();
  st.events = model.event_count();
  for (const TraceInfo& t : model.traces)
    if (t.incomplete != 0) ++st.incomplete_traces;
  count_spans(model, st);
  st.by_name = stats_by_name(model);
  count_tokens(model, st);
  return st;
}

nlohmann::json stats_to_json(const Model& model, const Stats& stats) {
  nlohmann::json by_name = nlohmann::json::array();
  for (const NameStats& n : stats.by_name) by_name.push_back(name_stats_json(n));
  nlohmann::json j;
  j["traces"] = stats.traces;
  j["spans"] = stats.spans;
  j["events"] = stats.events;
  j["errors"] = stats.errors;
  j["error_status"] = stats.error_status;
  j["error_attribute"] = stats.error_attribute;
  j["incomplete_traces"] = stats.incomplete_traces;
  j["orphan_spans"] = stats.orphan_spans;
  j["first_start"] = time_or_null(stats.has_time_range, stats.first_start);
  j["last_end"] = time_or_null(stats.has_time_range, stats.last_end);
  j["by_name"] = std::move(by_name);
  j["tokens_by_model"] = tokens_json(stats.tokens_by_model);
  j["diagnostics"] = diagnostics_json(model.diagnostics());
  return j;
}

}  // namespace tracedrop
