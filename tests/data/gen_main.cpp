// tracedrop-gen: writes a synthetic Llama Stack trace_store.db (see generator.h).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "generator.h"

namespace {

using tracedrop::testdata::GenOptions;
using tracedrop::testdata::GenSummary;

const char kUsage[] =
    "usage: tracedrop-gen --out PATH [--traces N] [--target-mb M] [--seed S] [--clean]\n"
    "                     [--variant standard|no-events|extra-schema|no-pk|wal|wal-missing] [--summary]\n"
    "  --traces N      number of traces (default 200)\n"
    "  --target-mb M   instead: write until the file is about M MiB\n"
    "  --seed S        PRNG seed (default 42); same options give the same content\n"
    "  --clean         no awkward cases, only clean agent turns and chat completions\n"
    "  --summary       print what was written as JSON on stdout\n";

int usage_error(const char* message) {
  std::fprintf(stderr, "tracedrop-gen: %s\n%s", message, kUsage);
  return 2;
}

bool parse_u64(const char* text, uint64_t* out) {
  if (!text || !*text || *text == '-') return false;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text, &end, 10);
  if (*end != '\0') return false;
  *out = static_cast<uint64_t>(v);
  return true;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(u));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

void print_summary(const GenSummary& s, const GenOptions& o) {
  std::string j = "{\n";
  auto num = [&](const char* key, uint64_t v) { j += std::string("  \"") + key + "\": " + std::to_string(v) + ",\n"; };
  j += "  \"variant\": " + json_string(tracedrop::testdata::variant_name(o.variant)) + ",\n";
  num("seed", o.seed);
  num("trace_rows", s.trace_rows);
  num("span_rows", s.span_rows);
  num("event_rows", s.event_rows);
  num("distinct_traces", s.distinct_traces);
  num("null_root_traces", s.null_root_traces);
  num("traces_not_in_table", s.traces_not_in_table);
  num("remote_parent_roots", s.remote_parent_roots);
  num("orphan_spans", s.orphan_spans);
  num("error_status_spans", s.error_status_spans);
  num("error_attribute_spans", s.error_attribute_spans);
  num("naive_time_spans", s.naive_time_spans);
  num("no_fraction_times", s.no_fraction_times);
  num("bad_json_spans", s.bad_json_spans);
  num("nan_spans", s.nan_spans);
  num("duplicate_span_ids", s.duplicate_span_ids);
  num("cycle_spans", s.cycle_spans);
  num("wrong_type_spans", s.wrong_type_spans);
  num("null_end_spans", s.null_end_spans);
  num("foreign_kind_spans", s.foreign_kind_spans);
  num("bad_id_spans", s.bad_id_spans);
  num("root_spans", s.root_spans);
  num("metric_events", s.metric_events);
  num("log_events", s.log_events);
  num("max_depth", s.max_depth);
  num("wal_only_trace_rows", s.wal_only_trace_rows);
  num("wal_only_span_rows", s.wal_only_span_rows);
  num("wal_only_event_rows", s.wal_only_event_rows);
  num("file_bytes", s.file_bytes);
  j += "  \"tokens_by_model\": {";
  const char* sep = "";
  for (const auto& [model, t] : s.tokens_by_model) {
    j += sep + std::string("\n    ") + json_string(model) + ": {\"prompt\": " + std::to_string(t[0]) +
         ", \"completion\": " + std::to_string(t[1]) + ", \"total\": " + std::to_string(t[2]) + "}";
    sep = ",";
  }
  j += std::string(s.tokens_by_model.empty() ? "" : "\n  ") + "},\n  \"spans_by_name\": {";
  sep = "";
  for (const auto& [name, n] : s.spans_by_name) {
    j += sep + std::string("\n    ") + json_string(name) + ": " + std::to_string(n);
    sep = ",";
  }
  j += std::string(s.spans_by_name.empty() ? "" : "\n  ") + "},\n  \"special\": {";
  sep = "";
  for (const auto& [name, ids] : s.special_traces) {
    j += sep + std::string("\n    ") + json_string(name) + ": [";
    const char* sep2 = "";
    for (const auto& id : ids) {
      j += sep2 + json_string(id);
      sep2 = ", ";
    }
    j += "]";
    sep = ",";
  }
  j += std::string(s.special_traces.empty() ? "" : "\n  ") + "}\n}\n";
  std::fputs(j.c_str(), stdout);
}

}  // namespace

int main(int argc, char** argv) {
  GenOptions options;
  std::string out;
  bool summary = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
    uint64_t n = 0;
    if (arg == "--out") {
      if (!value) return usage_error("--out needs a path");
      out = value;
      ++i;
    } else if (arg == "--traces") {
      if (!parse_u64(value, &n) || n == 0 || n > UINT32_MAX) return usage_error("--traces needs a positive number");
      options.traces = static_cast<uint32_t>(n);
      ++i;
    } else if (arg == "--target-mb") {
      if (!parse_u64(value, &n) || n == 0 || n > (1ULL << 24)) return usage_error("--target-mb needs a positive number");
      options.target_bytes = n << 20;
      ++i;
    } else if (arg == "--seed") {
      if (!parse_u64(value, &n)) return usage_error("--seed needs a number");
      options.seed = n;
      ++i;
    } else if (arg == "--variant") {
      if (!value || !tracedrop::testdata::parse_variant(value, &options.variant)) {
        return usage_error("unknown --variant");
      }
      ++i;
    } else if (arg == "--clean") {
      options.quirks = false;
    } else if (arg == "--summary") {
      summary = true;
    } else if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else {
      return usage_error(("unknown argument: " + arg).c_str());
    }
  }
  if (out.empty()) return usage_error("--out is required");
  GenSummary result;
  std::string error;
  if (!tracedrop::testdata::generate(options, out, &result, &error)) {
    std::fprintf(stderr, "tracedrop-gen: %s\n", error.c_str());
    return 1;
  }
  if (summary) print_summary(result, options);
  return 0;
}
