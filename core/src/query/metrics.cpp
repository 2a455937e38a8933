// query_metrics: sums of `metric.<name>` event values per time bucket, one series per unit.
//
// Decisions where Llama Stack's own implementation is loose or silent:
//  - Granularity "<N>m", "<N>h", "<N>d" (N >= 1; "1m", "1h", "1d" as in the API): buckets are
//    N-unit intervals aligned on the Unix epoch in UTC; a point's timestamp is its bucket start.
//    Llama Stack ignored N (strftime to the minute/hour/day); with N = 1 the result is the same.
//  - Without granularity ("instant"): one total per unit, timestamped end_time (Llama Stack
//    used the wall clock, which makes results unrepeatable).
//  - Events are kept when start_time <= time <= end_time (SQL BETWEEN), compared as parsed
//    times rather than as text. Events without a numeric `value` are skipped (SUM ignores NULL).
//  - Label matchers test the attribute's text: strings decoded, numbers as written, booleans as
//    true/false. =~ and !~ are full-match ECMAScript regular expressions (Prometheus' rule;
//    Llama Stack used LIKE '%v%'). A missing (or null) label fails = and =~ and passes != and !~.
//  - Series labels are the `=` matchers ({name, value}): the only labels every point in the
//    series is known to share. (Llama Stack also copied the labels of the first event seen.)
#include <chrono>
#include <cmath>
#include <map>
#include <unordered_map>

// libstdc++'s <regex> trips GCC's -Wmaybe-uninitialized when optimizing (a known false
// positive inside std::function); the warning is reported at lines of the header.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <regex>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include "json/json_scan.h"
#include "query/sql_value.h"
#include "tracedrop/query.h"

namespace tracedrop {
namespace {

constexpr int64_t kNsPerSecond = 1000000000;

int64_t floor_div(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

Result<std::optional<int64_t>> parse_granularity(const std::optional<std::string>& g) {
  if (!g) return std::optional<int64_t>();
  const std::string& s = *g;
  int64_t n = 0;
  size_t i = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9' && n < 1000000; ++i) n = n * 10 + (s[i] - '0');
  int64_t unit = 0;
  if (i + 1 == s.size()) {
    if (s[i] == 'm') unit = 60;
    if (s[i] == 'h') unit = 3600;
    if (s[i] == 'd') unit = 86400;
  }
  if (i == 0 || n == 0 || unit == 0) {
    return Status(ErrorCode::kInvalidArgument,
                  "Unknown granularity '" + s + "': use 1m, 1h or 1d (or a multiple such as 5m), or none for a total.");
  }
  return std::optional<int64_t>(n * unit * kNsPerSecond);
}

// The text a label matcher tests; nullopt when the label is absent or null.
std::optional<std::string> label_text(std::string_view attributes, const query::AttributePath& path) {
  const auto m = query::find_path(attributes, path);
  if (!m) return std::nullopt;
  switch (m->type) {
    case json::ValueType::kNull: return std::nullopt;
    case json::ValueType::kString: return json::decode_string(m->value);
    default: return std::string(m->value);  // numbers as written, true/false, JSON text
  }
}

class Matcher {
 public:
  static Result<Matcher> compile(const LabelMatcher& lm) {
    Matcher m;
    m.op_ = lm.op;
    m.value_ = lm.value;
    auto path = query::parse_attribute_path(lm.name);
    if (!path.is_ok()) return Status(ErrorCode::kInvalidArgument, "A label matcher needs a label name.");
    m.path_ = std::move(path).value();
    if (lm.op == LabelOp::kRegex || lm.op == LabelOp::kNotRegex) {
      try {
        m.regex_ = std::regex(lm.value, std::regex::ECMAScript);
      } catch (...) {  // std::regex_error; its text differs between C++ libraries, so it is not shown
        return Status(ErrorCode::kInvalidArgument,
                      "The label matcher regex '" + lm.value + "' for " + lm.name +
                          " is invalid: it must be an ECMAScript regular expression (as in JavaScript).");
      }
    }
    return m;
  }

  bool passes(std::string_view attributes) const {
    const auto text = label_text(attributes, path_);
    const bool negative = op_ == LabelOp::kNe || op_ == LabelOp::kNotRegex;
    if (!text) return negative;
    switch (op_) {
      case LabelOp::kEq: return *text == value_;
      case LabelOp::kNe: return *text != value_;
      case LabelOp::kRegex: return regex_matches(*text);
      case LabelOp::kNotRegex: return !regex_matches(*text);
    }
    return false;
  }

 private:
  // Label values repeat (a few models, providers): remember each answer.
  bool regex_matches(const std::string& text) const {
    auto it = cache_.find(text);
    if (it != cache_.end()) return it->second;
    const bool hit = std::regex_match(text, regex_);
    cache_.emplace(text, hit);
    return hit;
  }

  LabelOp op_ = LabelOp::kEq;
  std::string value_;
  query::AttributePath path_;
  std::regex regex_;
  mutable std::unordered_map<std::string, bool> cache_;
};

TimeNs now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

nlohmann::json series_labels(const std::vector<LabelMatcher>& matchers) {
  nlohmann::json labels = nlohmann::json::array();
  for (const LabelMatcher& m : matchers)
    if (m.op == LabelOp::kEq) labels.push_back({{"name", m.name}, {"value", m.value}});
  return labels;
}

}  // namespace

Result<nlohmann::json> query_metrics(const Model& model, const MetricQuery& query) {
  std::string_view name = query.metric_name;
  if (name.rfind("metric.", 0) == 0) name.remove_prefix(7);
  if (name.empty()) return Status(ErrorCode::kInvalidArgument, "Give a metric name, e.g. prompt_tokens.");
  auto bucket = parse_granularity(query.granularity);
  if (!bucket.is_ok()) return bucket.status();
  std::vector<Matcher> matchers;
  for (const LabelMatcher& lm : query.label_matchers) {
    auto m = Matcher::compile(lm);
    if (!m.is_ok()) return m.status();
    matchers.push_back(std::move(m).value());
  }
  const TimeNs end = query.end_time ? *query.end_time : now_ns();

  // unit -> bucket start (ns) -> sum
  std::map<std::string_view, std::map<int64_t, double>> sums;
  const uint32_t event_name = model.find_string("metric." + std::string(name));
  const EventColumns& ev = model.events;
  for (uint32_t e = 0; e < ev.size() && event_name != UINT32_MAX; ++e) {
    if (ev.name[e] != event_name || ev.time[e] < query.start_time || ev.time[e] > end) continue;
    if (std::isnan(ev.metric_value[e])) continue;
    // Unreadable attribute text has no labels.
    const std::string_view attrs = ev.bad_attributes[e] ? std::string_view() : model.event_attributes(e);
    bool pass = true;
    for (const Matcher& m : matchers) pass = pass && m.passes(attrs);
    if (!pass) continue;
    const int64_t key = bucket.value() ? floor_div(ev.time[e], *bucket.value()) * *bucket.value() : end;
    sums[model.str(ev.metric_unit[e])][key] += ev.metric_value[e];
  }

  nlohmann::json data = nlohmann::json::array();
  for (const auto& [unit, points] : sums) {
    nlohmann::json values = nlohmann::json::array();
    for (const auto& [t, sum] : points)
      values.push_back({{"timestamp", floor_div(t, kNsPerSecond)}, {"value", sum}, {"unit", std::string(unit)}});
    data.push_back({{"metric", std::string(name)}, {"labels", series_labels(query.label_matchers)}, {"values", std::move(values)}});
  }
  return nlohmann::json{{"data", std::move(data)}};
}

}  // namespace tracedrop
