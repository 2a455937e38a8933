#include "tracedrop/session.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include "session/request.h"
#include "tracedrop/analysis.h"
#include "tracedrop/query.h"
#include "tracedrop/search.h"
#include "tracedrop/views.h"

namespace tracedrop {
namespace {

using Json = nlohmann::json;
constexpr size_t kMinPrefix = 6;

Result<std::string> as_text(Result<Json> doc) {
  if (!doc.is_ok()) return doc.status();
  return cli_json_text(*doc);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Result<LabelOp> parse_label_op(const std::string& op) {
  if (op == "=" || op == "eq") return LabelOp::kEq;
  if (op == "!=" || op == "ne") return LabelOp::kNe;
  if (op == "=~" || op == "regex") return LabelOp::kRegex;
  if (op == "!~" || op == "not_regex") return LabelOp::kNotRegex;
  return Status(ErrorCode::kInvalidArgument, "unknown label operator \"" + op + "\": use =, !=, =~ or !~.");
}

Status read_label_matchers(const Json& req, std::vector<LabelMatcher>& out) {
  auto it = req.find("label_matchers");
  if (it == req.end() || it->is_null()) return Status::ok();
  if (!it->is_array()) return {ErrorCode::kInvalidArgument, "request field \"label_matchers\" must be an array."};
  for (const Json& m : *it) {
    if (!m.is_object()) return {ErrorCode::kInvalidArgument, "each label matcher must be {name, value, operator}."};
    LabelMatcher matcher;
    std::string op = "=";
    TRACEDROP_RETURN_IF_ERROR(request::get_string(m, "name", matcher.name));
    TRACEDROP_RETURN_IF_ERROR(request::get_string(m, "value", matcher.value));
    TRACEDROP_RETURN_IF_ERROR(request::get_string(m, "operator", op));
    auto parsed = parse_label_op(op);
    if (!parsed.is_ok()) return parsed.status();
    matcher.op = *parsed;
    out.push_back(std::move(matcher));
  }
  return Status::ok();
}

Status read_selection(const Json& req, ExportSelection& sel) {
  TRACEDROP_RETURN_IF_ERROR(request::get_strings(req, "trace_ids", sel.trace_ids));
  TRACEDROP_RETURN_IF_ERROR(request::get_time(req, "since", sel.since));
  TRACEDROP_RETURN_IF_ERROR(request::get_time(req, "until", sel.until));
  TRACEDROP_RETURN_IF_ERROR(request::get_number(req, "days", sel.days));
  std::optional<TimeNs> now;
  TRACEDROP_RETURN_IF_ERROR(request::get_time(req, "now", now));
  if (sel.days && !now) {
    return {ErrorCode::kInvalidArgument, "request field \"days\" needs \"now\" (the caller's clock, ISO text)."};
  }
  sel.now = now.value_or(0);
  TRACEDROP_RETURN_IF_ERROR(request::get_filters(req, "filters", sel.filters));
  TRACEDROP_RETURN_IF_ERROR(request::get_bool(req, "conversations_only", sel.conversations_only));
  return request::get_size(req, "limit", sel.limit);
}

}  // namespace

std::string cli_json_text(const Json& value) {
  return value.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

Result<LoadOptions> parse_open_options(std::string_view options_json) {
  auto req = request::parse_object(options_json, "open options");
  if (!req.is_ok()) return req.status();
  LoadOptions load;
  std::string attributes = "auto", naive_tz;
  TRACEDROP_RETURN_IF_ERROR(request::get_string(*req, "attributes", attributes));
  TRACEDROP_RETURN_IF_ERROR(request::get_string(*req, "naive_tz", naive_tz));
  TRACEDROP_RETURN_IF_ERROR(request::get_bool(*req, "one_pass", load.one_pass));
  size_t slice_mib = load.read_slice_bytes >> 20;
  TRACEDROP_RETURN_IF_ERROR(request::get_size(*req, "slice_mib", slice_mib));
  if (slice_mib < 1 || slice_mib > 256)
    return Status(ErrorCode::kInvalidArgument, "open option \"slice_mib\" must be between 1 and 256.");
  load.read_slice_bytes = slice_mib << 20;
  if (attributes == "memory") load.attributes = AttributeStorage::kInMemory;
  else if (attributes == "on-demand") load.attributes = AttributeStorage::kOnDemand;
  else if (attributes != "auto") {
    return Status(ErrorCode::kInvalidArgument, "open option \"attributes\" must be auto, memory or on-demand.");
  }
  if (!naive_tz.empty()) {
    const auto offset = parse_utc_offset(naive_tz);
    if (!offset) {
      return Status(ErrorCode::kInvalidArgument,
                    "open option \"naive_tz\": cannot read \"" + naive_tz + "\" as a UTC offset such as +02:00.");
    }
    load.naive_utc_offset_seconds = *offset;
  }
  return load;
}

Result<std::unique_ptr<Session>> Session::open(std::unique_ptr<Store> store, const LoadOptions& load) {
  std::unique_ptr<Session> session(new Session());
  session->store_ = std::move(store);
  auto model = Model::build(*session->store_, load);
  if (!model.is_ok()) return model.status();
  session->model_ = std::move(model).value();
  return session;
}

std::string Session::summary() const {
  Json warnings = Json::array();
  for (const auto& w : store_->warnings()) warnings.push_back({{"code", w.code}, {"message", w.message}});
  return cli_json_text({{"name", store_->display_name()},
                        {"file_size", store_->file_size()},
                        {"traces", model_->trace_count()},
                        {"spans", model_->span_count()},
                        {"events", model_->event_count()},
                        {"attributes_in_memory", model_->attributes_in_memory()},
                        {"warnings", std::move(warnings)}});
}

Result<uint32_t> Session::resolve_trace(std::string_view id) const {
  if (auto t = model_->find_trace(id)) return *t;
  const std::string shown = Json(std::string(id)).dump(-1, ' ', false, Json::error_handler_t::replace);
  const std::string not_found = "no trace with id " + shown + " in " + store_->display_name();
  if (id.size() < kMinPrefix) {
    return Status(ErrorCode::kNotFound, not_found + "; a prefix of an id needs at least " +
                                            std::to_string(kMinPrefix) + " characters.");
  }
  const std::string prefix = lower(id);
  std::vector<uint32_t> matches;
  for (uint32_t t = 0; t < model_->trace_count(); ++t) {
    if (lower(model_->traces[t].id).compare(0, prefix.size(), prefix) == 0) matches.push_back(t);
  }
  if (matches.empty()) return Status(ErrorCode::kNotFound, not_found + ".");
  if (matches.size() > 1) {
    return Status(ErrorCode::kInvalidArgument, "trace id prefix " + shown + " matches " +
                                                   std::to_string(matches.size()) + " traces; give more characters.");
  }
  return matches[0];
}

Result<std::string> Session::trace_list(std::string_view options_json) const {
  auto req = request::parse_object(options_json, "list options");
  if (!req.is_ok()) return req.status();
  TraceQuery query;
  size_t limit = 20, offset = 0;
  TRACEDROP_RETURN_IF_ERROR(request::get_filters(*req, "filters", query.filters));
  TRACEDROP_RETURN_IF_ERROR(request::get_strings(*req, "order_by", query.order_by));
  TRACEDROP_RETURN_IF_ERROR(request::get_size(*req, "limit", limit));
  TRACEDROP_RETURN_IF_ERROR(request::get_size(*req, "offset", offset));
  query.limit = limit == 0 ? std::numeric_limits<size_t>::max() : limit;
  query.offset = offset;
  auto page = tracedrop::query_traces(*model_, query);
  if (!page.is_ok()) return page.status();
  return cli_json_text(trace_list_json(*model_, *page));
}

Result<std::string> Session::trace_tree(std::string_view trace_id) const {
  auto t = resolve_trace(trace_id);
  if (!t.is_ok()) return t.status();
  return trace_tree_json_text(*model_, *t);
}

Result<std::string> Session::span(std::string_view span_id) const {
  const auto s = model_->find_span(span_id);
  if (!s) {
    return Status(ErrorCode::kNotFound, "no span with id " + std::string(span_id) + " in " + store_->display_name() + ".");
  }
  const std::string& trace_id = model_->traces[model_->spans.trace[*s]].id;
  auto doc = get_span(*model_, trace_id, model_->span_id_text(*s));
  if (!doc.is_ok()) return doc.status();
  return cli_json_text({{"span", std::move(doc).value()},
                        {"flags", span_flag_names(model_->spans.flags[*s])},
                        {"events", span_events_json(*model_, *s)}});
}

Result<std::string> Session::search(std::string_view text, size_t limit,
                                    const std::function<bool(double)>& progress) const {
  SearchOptions options;
  options.limit = limit == 0 ? model_->span_count() : limit;
  options.progress = progress;
  auto hits = tracedrop::search(*model_, text, options);
  if (!hits.is_ok()) return hits.status();
  return cli_json_text(search_hits_json(*model_, *hits));
}

Result<std::string> Session::stats() const {
  return cli_json_text(stats_to_json(*model_, compute_stats(*model_)));
}

Result<std::string> Session::conversation(std::string_view trace_id) const {
  auto t = resolve_trace(trace_id);
  if (!t.is_ok()) return t.status();
  return as_text(analyze_conversation(*model_, *t));
}

Result<std::string> Session::query_traces(std::string_view request_json) const {
  auto req = request::parse_object(request_json, "query_traces request");
  if (!req.is_ok()) return req.status();
  TraceQuery query;
  TRACEDROP_RETURN_IF_ERROR(request::get_filters(*req, "attribute_filters", query.filters));
  TRACEDROP_RETURN_IF_ERROR(request::get_strings(*req, "order_by", query.order_by));
  TRACEDROP_RETURN_IF_ERROR(request::get_size(*req, "limit", query.limit));
  TRACEDROP_RETURN_IF_ERROR(request::get_size(*req, "offset", query.offset));
  TRACEDROP_RETURN_IF_ERROR(request::get_bool(*req, "include_incomplete", query.include_incomplete));
  auto found = tracedrop::query_traces(*model_, query);
  if (!found.is_ok()) return found.status();
  Json data = Json::array();
  for (uint32_t t : *found) {
    auto trace = get_trace(*model_, model_->traces[t].id);
    if (!trace.is_ok()) return trace.status();
    data.push_back(std::move(trace).value());
  }
  return cli_json_text({{"data", std::move(data)}});
}

Result<std::string> Session::query_spans(std::string_view request_json) const {
  auto req = request::parse_object(request_json, "query_spans request");
  if (!req.is_ok()) return req.status();
  std::vector<AttributeFilter> filters;
  std::vector<std::string> attributes;
  std::optional<int> max_depth;
  TRACEDROP_RETURN_IF_ERROR(request::get_filters(*req, "attribute_filters", filters));
  TRACEDROP_RETURN_IF_ERROR(request::get_strings(*req, "attributes_to_return", attributes));
  TRACEDROP_RETURN_IF_ERROR(request::get_int(*req, "max_depth", max_depth));
  return as_text(tracedrop::query_spans(*model_, filters, attributes, max_depth));
}

Result<std::string> Session::query_metrics(std::string_view request_json) const {
  auto req = request::parse_object(request_json, "query_metrics request");
  if (!req.is_ok()) return req.status();
  MetricQuery query;
  std::optional<TimeNs> start;
  std::string granularity;
  TRACEDROP_RETURN_IF_ERROR(request::get_string(*req, "metric_name", query.metric_name));
  TRACEDROP_RETURN_IF_ERROR(request::get_time(*req, "start_time", start));
  TRACEDROP_RETURN_IF_ERROR(request::get_time(*req, "end_time", query.end_time));
  TRACEDROP_RETURN_IF_ERROR(request::get_string(*req, "granularity", granularity));
  TRACEDROP_RETURN_IF_ERROR(read_label_matchers(*req, query.label_matchers));
  query.start_time = start.value_or(0);
  if (!granularity.empty()) query.granularity = granularity;
  return as_text(tracedrop::query_metrics(*model_, query));
}

Result<std::string> Session::sql(std::string_view statement, size_t max_rows) {
  auto result = store_->run_sql(statement, max_rows == 0 ? std::numeric_limits<size_t>::max() : max_rows);
  if (!result.is_ok()) return result.status();
  return cli_json_text(sql_result_json(*result));
}

Result<std::string> Session::export_traces(std::string_view request_json, Sink& sink,
                                           const std::function<bool(uint64_t, uint64_t)>& progress) const {
  auto req = request::parse_object(request_json, "export request");
  if (!req.is_ok()) return req.status();
  std::string format_text = "otlp-json";
  bool gzip = false;
  ExportOptions options;
  ExportSelection selection;
  TRACEDROP_RETURN_IF_ERROR(request::get_string(*req, "format", format_text));
  TRACEDROP_RETURN_IF_ERROR(request::get_bool(*req, "gzip", gzip));
  TRACEDROP_RETURN_IF_ERROR(request::get_bool(*req, "error_attribute_as_status", options.error_attribute_as_status));
  TRACEDROP_RETURN_IF_ERROR(read_selection(*req, selection));
  const auto format = parse_export_format(format_text);
  if (!format) {
    return Status(ErrorCode::kInvalidArgument, "unknown export format \"" + format_text + "\": use otlp-json, otlp-jsonl or jaeger.");
  }
  options.format = *format;
  options.progress = progress;
  auto traces = select_traces(*model_, selection);
  if (!traces.is_ok()) return traces.status();
  if (traces->empty()) {
    return Status(ErrorCode::kNotFound, "no trace matches the selection (" + std::to_string(model_->trace_count()) +
                                            " traces in " + store_->display_name() + "), so nothing was exported.");
  }
  std::unique_ptr<GzipSink> gz;
  if (gzip) {
    auto created = GzipSink::create(sink);
    if (!created.is_ok()) return created.status();
    gz = std::move(created).value();
  }
  Sink& out = gz ? static_cast<Sink&>(*gz) : sink;
  auto summary = tracedrop::export_traces(*model_, *traces, options, out);
  if (!summary.is_ok()) return summary.status();
  TRACEDROP_RETURN_IF_ERROR(out.close());  // a GzipSink closes `sink` too
  Json skipped = Json::array();
  for (const auto& k : summary->skipped) skipped.push_back({{"trace_id", k.trace_id}, {"reason", k.reason}});
  return cli_json_text({{"format", export_format_name(*format)},
                        {"gzip", gzip},
                        {"traces", summary->traces},
                        {"spans", summary->spans},
                        {"events", summary->events},
                        {"bytes", sink.bytes_written()},
                        {"skipped", std::move(skipped)}});
}

}  // namespace tracedrop
