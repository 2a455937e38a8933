#include "generator.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <map>
#include <memory>
#include <utility>

#include "db_writer.h"
#include "shapes.h"
#include "trace_model.h"

namespace tracedrop::testdata {

using namespace detail;

namespace {

// A few % of all times fall on a whole second, so their text has no fraction.
constexpr double kSnapChance = 0.4;
constexpr uint64_t kMaxSlots = 100000000;  // guard for target_bytes mode

// The special cases in the order they are written; a name listed twice gets two traces.
const std::vector<std::string>& special_order(bool no_pk) {
  static const std::vector<std::string> kBase = {
      "agent_tools",   "chat_completion", "null_root",       "not_in_table",    "remote_parent",
      "orphans",       "naive",           "no_fraction",     "error_status",    "error_attribute",
      "foreign_kinds", "unicode",         "nan",             "bad_json",        "bad_ids",
      "wrong_types",   "cycle",           "no_end",          "shield_violation", "deep",
      "null_root",     "not_in_table",    "remote_parent",   "orphans",         "naive",
      "error_status",  "error_attribute", "foreign_kinds",   "nan",             "bad_json",
      "shield_violation", "null_root"};
  static const std::vector<std::string> kNoPk = [] {
    std::vector<std::string> v = kBase;
    v.push_back("duplicate_ids");
    return v;
  }();
  static_assert(kSpecialTraceCount == 32, "keep kSpecialTraceCount in sync with the list");
  return no_pk ? kNoPk : kBase;
}

// ---------------------------------------------------------------------------------------------
// Edits of built traces (the quirk cases).

SpanRec* find_span(TraceRec& t, const std::string& name, size_t nth = 0) {
  for (auto& s : t.spans) {
    if (s.name == name && nth-- == 0) return &s;
  }
  return nullptr;
}

SpanRec& root_of(TraceRec& t) {
  for (auto& s : t.spans) {
    if (s.is_root) return s;
  }
  return t.spans.back();
}

// Inserts `fragment` (`"k": v` pairs) before the trailing `"__ttl__"` key.
void insert_before_ttl(std::string& attributes, const std::string& fragment) {
  const size_t pos = attributes.rfind("\"__ttl__\"");
  if (pos == std::string::npos) {
    attributes.insert(attributes.size() - 1, ", " + fragment);
  } else {
    attributes.insert(pos, fragment + ", ");
  }
}

// Cuts the attributes text short (a write interrupted mid-row). The text is ASCII only
// (ensure_ascii), so any cut is a valid UTF-8 string.
void truncate_attributes(SpanRec& s) {
  s.attributes.resize(s.attributes.size() * 3 / 5);
  s.attr_cell = SpanRec::AttrCell::kBadJson;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// Ids as hand-made or foreign stores have them: "span-N", uppercase hex, too short.
void make_bad_ids(TraceRec& t) {
  std::vector<std::pair<std::string, std::string>> renamed;
  for (size_t j = 0; j < t.spans.size(); ++j) {
    SpanRec& s = t.spans[j];
    std::string id = j % 3 == 0 ? "span-" + std::to_string(j + 1) : j % 3 == 1 ? upper(s.span_id) : s.span_id.substr(0, 8);
    renamed.emplace_back(s.span_id, id);
    s.span_id = std::move(id);
  }
  for (auto& s : t.spans) {
    for (const auto& [from, to] : renamed) {
      if (s.has_parent && s.parent_id == from) {
        s.parent_id = to;
        break;
      }
    }
  }
  t.info->trace_id = upper(t.info->trace_id);
  t.info->bad_ids = true;
}

// ---------------------------------------------------------------------------------------------
// The summary, tallied as rows are written.

class Tally {
 public:
  void row(const TraceInfo& t, const SpanRec& s, bool events_written);
  void trace_done(const TraceInfo& t);
  GenSummary sum;

 private:
  void span_row(const TraceInfo& t, const SpanRec& s);
  void event_row(const EventRec& e);
};

void Tally::span_row(const TraceInfo& t, const SpanRec& s) {
  using A = SpanRec::AttrCell;
  ++sum.span_rows;
  ++sum.spans_by_name[s.name];
  if (!s.has_parent) ++sum.root_spans;
  if (s.status == "ERROR") ++sum.error_status_spans;
  if (s.status == "UNSET" || s.kind != "INTERNAL") ++sum.foreign_kind_spans;
  if (s.has_error_attr) ++sum.error_attribute_spans;
  if (t.naive) ++sum.naive_time_spans;
  if (t.bad_ids) ++sum.bad_id_spans;
  if (!s.start_epoch_int && s.start_us % kMicrosPerSecond == 0) ++sum.no_fraction_times;
  if (!s.null_end && !s.end_epoch_real && s.end_us % kMicrosPerSecond == 0) ++sum.no_fraction_times;
  if (s.attr_cell == A::kBadJson) ++sum.bad_json_spans;
  if (s.attr_cell == A::kNan) ++sum.nan_spans;
  if (s.attr_cell == A::kBlob || s.attr_cell == A::kInteger || s.start_epoch_int || s.end_epoch_real) {
    ++sum.wrong_type_spans;
  }
  if (s.null_end) ++sum.null_end_spans;
  if (s.cycle) {
    ++sum.cycle_spans;
  } else {
    sum.max_depth = std::max<uint64_t>(sum.max_depth, s.depth);
  }
  if (s.dangling == SpanRec::Dangling::kRemoteRoot) ++sum.remote_parent_roots;
  if (s.dangling == SpanRec::Dangling::kOrphan) ++sum.orphan_spans;
}

void Tally::event_row(const EventRec& e) {
  ++sum.event_rows;
  if (e.kind == EventRec::Kind::kLog) {
    ++sum.log_events;
    return;
  }
  ++sum.metric_events;
  const size_t slot = e.kind == EventRec::Kind::kPromptTokens ? 0 : e.kind == EventRec::Kind::kCompletionTokens ? 1 : 2;
  sum.tokens_by_model[e.model_id][slot] += e.value;
}

void Tally::row(const TraceInfo& t, const SpanRec& s, bool events_written) {
  span_row(t, s);
  if (s.write_twice) {
    span_row(t, s);
    ++sum.duplicate_span_ids;
  }
  if (events_written) {
    for (const auto& e : s.events) event_row(e);
  }
}

void Tally::trace_done(const TraceInfo& t) {
  ++sum.distinct_traces;
  if (!t.write_trace_row) {
    ++sum.traces_not_in_table;
    return;
  }
  ++sum.trace_rows;
  if (!t.root_set) ++sum.null_root_traces;
}

GenSummary minus_rows(GenSummary all, const GenSummary& before) {
  all.wal_only_trace_rows = all.trace_rows - before.trace_rows;
  all.wal_only_span_rows = all.span_rows - before.span_rows;
  all.wal_only_event_rows = all.event_rows - before.event_rows;
  return all;
}

// ---------------------------------------------------------------------------------------------

struct Pending {
  int64_t end_us;
  uint64_t seq;
  std::shared_ptr<TraceInfo> info;
  SpanRec span;
};

struct EndsLater {
  bool operator()(const Pending& a, const Pending& b) const {
    return a.end_us != b.end_us ? a.end_us > b.end_us : a.seq > b.seq;
  }
};

class Generator {
 public:
  Generator(const GenOptions& options, const std::string& path)
      : options_(options), path_(path), rng_(options.seed), shapes_(rng_) {}
  bool run(GenSummary* out, std::string* error);

 private:
  using Variant = GenOptions::Variant;
  bool wal_variant() const {
    return options_.variant == Variant::kWalWithSidecar || options_.variant == Variant::kWalSidecarMissing;
  }
  void plan_slots();
  bool is_special_slot(uint64_t slot) const;
  bool finished(uint64_t slot);
  bool wal_switch_due(uint64_t slot);
  int64_t next_start();
  TraceRec build(uint64_t slot, int64_t start);
  TraceRec regular(int64_t start);
  TraceRec special(const std::string& name, int occurrence, int64_t start);
  TraceRec special_linkage(const std::string& name, TraceRec t);
  TraceRec special_cells(const std::string& name, int64_t start);
  TraceRec special_turn(const std::string& name, int occurrence, int64_t start, AgentProfile agent, TurnPlan plan);
  TraceRec agent_tools(int64_t start);
  TraceRec turn_with(AgentProfile agent, TurnPlan plan, int64_t start, double snap_p, bool snap_up = false);
  TraceRec foreign_server(int64_t start);
  TraceRec with_cycle(int64_t start);
  bool enqueue(TraceRec t);
  bool emit_until(int64_t limit_us);
  bool write_one(Pending& p);
  void report_progress(uint64_t slot);

  const GenOptions& options_;
  std::string path_;
  Rng rng_;
  Shapes shapes_;
  DbWriter db_;
  Tally tally_;
  std::vector<Pending> heap_;
  uint64_t next_seq_ = 0;
  int64_t last_start_ = kTimelineStartUs;
  // Slot plan (see plan_slots).
  std::vector<std::string> specials_;
  uint64_t total_slots_ = 0;  // 0: until target_bytes
  uint64_t wal_slot_ = 0;     // first slot written in WAL mode (trace-count mode)
  uint64_t spacing_ = 1;
  size_t specials_done_ = 0;
  bool in_wal_ = false;
  uint64_t wal_traces_ = 0;
  std::map<std::string, int> occurrences_;
  double last_progress_ = -1;
};

// Specials are spread over the first part of the file, one every `spacing_` slots; the WAL
// variants write their last traces (never specials) after switching to WAL.
void Generator::plan_slots() {
  if (options_.quirks) specials_ = special_order(options_.variant == Variant::kNoPrimaryKey);
  const uint64_t s = specials_.size();
  if (options_.target_bytes > 0) {
    spacing_ = 3;  // all specials within the first ~100 traces (about 3 MB)
    return;
  }
  total_slots_ = std::max<uint64_t>(options_.traces, s + (wal_variant() ? 1 : 0));
  const uint64_t wal_count = wal_variant() ? std::min(std::max<uint64_t>(1, total_slots_ / 10), total_slots_ - s) : 0;
  wal_slot_ = total_slots_ - wal_count;
  if (s > 0) spacing_ = std::max<uint64_t>(1, std::min<uint64_t>(10, wal_slot_ / s));
}

bool Generator::is_special_slot(uint64_t slot) const {
  return specials_done_ < specials_.size() && (slot + 1) % spacing_ == 0;
}

bool Generator::finished(uint64_t slot) {
  if (slot >= kMaxSlots) return true;
  if (total_slots_ > 0) return slot >= total_slots_;
  if (specials_done_ < specials_.size()) return false;
  if (wal_variant() && wal_traces_ == 0) return false;
  return db_.database_bytes() >= options_.target_bytes;
}

bool Generator::wal_switch_due(uint64_t slot) {
  if (!wal_variant() || in_wal_) return false;
  if (total_slots_ > 0) return slot >= wal_slot_;
  return specials_done_ == specials_.size() && db_.database_bytes() >= options_.target_bytes / 10 * 9;
}

int64_t Generator::next_start() {
  // Seconds to minutes between traces; long turns overlap the next one (interleaved rows).
  const int64_t gap = rng_.chance(0.6) ? rng_.range(2 * kMicrosPerSecond, 20 * kMicrosPerSecond)
                                       : rng_.range(20 * kMicrosPerSecond, 180 * kMicrosPerSecond);
  last_start_ += gap;
  return last_start_;
}

TraceRec Generator::regular(int64_t start) {
  const double r = rng_.unit();
  if (!options_.quirks) {
    return r < 0.7 ? shapes_.random_agent_turn(start, kSnapChance) : shapes_.random_chat_completion(start, kSnapChance);
  }
  if (r < 0.62) return shapes_.random_agent_turn(start, kSnapChance);
  if (r < 0.86) return shapes_.random_chat_completion(start, kSnapChance);
  if (r < 0.91) return shapes_.agent_session(start, kSnapChance);
  if (r < 0.95) return shapes_.list_models(start, kSnapChance);
  if (r < 0.98) return shapes_.list_tools_api(start, kSnapChance);
  return shapes_.create_agent(start, kSnapChance);
}

TraceRec Generator::turn_with(AgentProfile agent, TurnPlan plan, int64_t start, double snap_p, bool snap_up) {
  SessionState session = shapes_.new_session(0);
  TraceBuilder b(rng_, start, snap_p, false);
  b.set_snap_up(snap_up);
  return shapes_.agent_turn(b, agent, session, plan);
}

TraceRec Generator::agent_tools(int64_t start) {
  using C = AgentToolsCase;
  AgentProfile agent;
  agent.agent_id = C::kAgentId;
  agent.name = C::kAgentName;
  agent.model = &shapes_.model(0);
  agent.shields = {C::kShieldId};
  agent.tools = {&shapes_.tool(C::kToolName)};
  SessionState session;
  session.session_id = C::kSessionId;
  TurnPlan plan;
  plan.user_message = C::kUserMessage;
  plan.final_answer = C::kFinalAnswer;
  plan.turn_id = C::kTurnId;
  plan.gap_us = kMicrosPerMs;
  plan.list_tools.duration_us = C::kListToolsMs * kMicrosPerMs;
  plan.input_shields.duration_us = C::kShieldMs * kMicrosPerMs;
  plan.output_shields.duration_us = C::kShieldMs * kMicrosPerMs;
  ToolCallPlan call;
  call.tool = agent.tools[0];
  call.call_id = C::kToolCallId;
  call.query = C::kToolQuery;
  call.result = C::kToolResult;
  call.deadline.duration_us = C::kToolMs * kMicrosPerMs;
  plan.tool_calls = {call};
  plan.rounds = {RoundPlan{C::kRound1PromptTokens, C::kRound1CompletionTokens, {C::kInference1Ms * kMicrosPerMs}},
                 RoundPlan{C::kRound2PromptTokens, C::kRound2CompletionTokens, {C::kInference2Ms * kMicrosPerMs}}};
  // A microsecond part that no sum of the builder's even offsets can carry to a whole second.
  const int64_t t0 = start - start % kMicrosPerSecond + 123457;
  TraceBuilder b(rng_, t0, 0.0, true);
  return shapes_.agent_turn(b, agent, session, plan);
}

// A server span from HTTP instrumentation (UNSET, SERVER) wrapping a Llama Stack root.
TraceRec Generator::foreign_server(int64_t start) {
  TraceBuilder b(rng_, start + 300, kSnapChance, false);
  TraceRec t = shapes_.chat_completion(b, shapes_.model(2), false, "Hello from the gateway", "Hello! 👋");
  SpanRec& root = root_of(t);
  SpanRec server;
  server.span_id = rng_.hex(16);
  server.name = "POST /v1/chat/completions";
  server.start_us = root.start_us - 300;
  server.end_us = root.end_us + 250;
  server.status = "UNSET";
  server.kind = "SERVER";
  server.attributes = json_dumps(Attrs{{"http.request.method", PyValue::str("POST")},
                                       {"http.route", PyValue::str("/v1/chat/completions")},
                                       {"http.response.status_code", PyValue::integer(200)},
                                       {"url.scheme", PyValue::str("http")},
                                       {"server.address", PyValue::str("localhost")},
                                       {"server.port", PyValue::integer(8321)}});
  root.parent_id = server.span_id;
  root.has_parent = true;
  for (auto& s : t.spans) ++s.depth;
  server.seq = t.spans.size();
  t.spans.push_back(std::move(server));
  return t;
}

// Two spans whose parents point at each other (a writer bug or a hand-edited file).
TraceRec Generator::with_cycle(int64_t start) {
  TraceRec t = shapes_.random_chat_completion(start, kSnapChance);
  const SpanRec& root = root_of(t);
  SpanRec a;
  SpanRec b;
  a.span_id = rng_.hex(16);
  b.span_id = rng_.hex(16);
  a.name = "InferenceRouter.openai_completion";
  b.name = "ModelsRoutingTable.get_model";
  a.start_us = root.start_us + 100;
  b.start_us = root.start_us + 200;
  b.end_us = root.start_us + 400;
  a.end_us = root.start_us + 500;
  a.parent_id = b.span_id;
  b.parent_id = a.span_id;
  for (SpanRec* s : {&a, &b}) {
    s->has_parent = true;
    s->cycle = true;
    s->attributes = json_dumps(Attrs{{"__autotraced__", PyValue::boolean(true)}, {"__ttl__", PyValue::integer(604800)}});
  }
  t.spans.push_back(std::move(a));
  t.spans.push_back(std::move(b));
  return t;
}

// Builds one trace of a special case. Most are a regular turn or chat completion planned or
// edited differently; `occurrence` picks the variant when a case has several traces.
TraceRec Generator::special(const std::string& name, int occurrence, int64_t start) {
  // Every case draws the same agent and plan first, so the PRNG stream does not depend on
  // which branch runs.
  const AgentProfile plain = shapes_.make_agent(&shapes_.model(1), {"code-scanner"},
                                                {&shapes_.tool("web_search"), &shapes_.tool("knowledge_search")},
                                                "support-bot");
  TurnPlan plan = shapes_.random_turn_plan(plain);
  if (name == "agent_tools") return agent_tools(start);
  if (name == "foreign_kinds") return occurrence == 0 ? shapes_.foreign_client_call(start) : foreign_server(start);
  if (name == "cycle") return with_cycle(start);
  if (name == "null_root" || name == "not_in_table" || name == "remote_parent" || name == "orphans") {
    // One of each group is a chat completion, so both kinds of root are covered.
    return special_linkage(name, occurrence == 1 ? shapes_.random_chat_completion(start, kSnapChance)
                                                 : turn_with(plain, plan, start, kSnapChance));
  }
  if (name == "chat_completion" || name == "nan" || name == "bad_ids" || name == "wrong_types" ||
      name == "duplicate_ids" || (name == "bad_json" && occurrence == 1)) {
    return special_cells(name, start);
  }
  return special_turn(name, occurrence, start, plain, std::move(plan));
}

// Cases about how a trace hangs together: its traces row and its root.
TraceRec Generator::special_linkage(const std::string& name, TraceRec t) {
  SpanRec& root = root_of(t);
  if (name == "null_root") {
    t.info->force_null_root = true;
  } else if (name == "not_in_table") {
    t.info->write_trace_row = false;
  } else if (name == "remote_parent") {
    root.parent_id = rng_.hex(16);
    root.has_parent = true;
    root.dangling = SpanRec::Dangling::kRemoteRoot;
  } else {  // orphans: the root never ended, so it was never written
    root.omit = true;
    for (auto& s : t.spans) {
      if (s.has_parent && s.parent_id == root.span_id) s.dangling = SpanRec::Dangling::kOrphan;
    }
  }
  return t;
}

// Chat completions whose cells are odd: NaN, truncated JSON, bad ids, wrong types, duplicates.
TraceRec Generator::special_cells(const std::string& name, int64_t start) {
  const char* router = "InferenceRouter.openai_chat_completion";
  if (name == "chat_completion" || name == "wrong_types") {
    TraceBuilder b(rng_, start, kSnapChance, false);
    const ModelInfo& model = shapes_.model(name == "chat_completion" ? 0 : 1);
    TraceRec t = shapes_.chat_completion(b, model, false, "What is 2 + 2?", "2 + 2 = 4.");
    if (name == "wrong_types") {
      find_span(t, router)->start_epoch_int = true;
      find_span(t, "ModelsRoutingTable.get_model")->attr_cell = SpanRec::AttrCell::kBlob;
      SpanRec* adapter = find_span(t, "OllamaInferenceAdapter.openai_chat_completion");
      adapter->attr_cell = SpanRec::AttrCell::kInteger;
      adapter->end_epoch_real = true;
    }
    return t;
  }
  TraceRec t = shapes_.random_chat_completion(start, kSnapChance);
  SpanRec* s = find_span(t, router);
  if (name == "nan") {
    insert_before_ttl(s->attributes, "\"score\": NaN, \"max_logprob\": Infinity, \"min_logprob\": -Infinity");
    s->attr_cell = SpanRec::AttrCell::kNan;
  } else if (name == "bad_json") {
    truncate_attributes(*s);
  } else if (name == "bad_ids") {
    make_bad_ids(t);
  } else {  // duplicate_ids
    s->write_twice = true;
  }
  return t;
}

// Agent turns planned differently: legacy, coarse clock, failures, unicode, shields.
TraceRec Generator::special_turn(const std::string& name, int occurrence, int64_t start, AgentProfile agent,
                                 TurnPlan plan) {
  double snap = kSnapChance;
  bool snap_up = false;
  if (name == "naive") {
    plan.legacy = true;
  } else if (name == "no_fraction") {
    start -= start % kMicrosPerSecond;
    snap = 0.25;
    snap_up = true;
  } else if (name == "error_status") {
    if (plan.tool_calls.empty()) plan.tool_calls.emplace_back();
    ToolCallPlan& call = plan.tool_calls[0];
    call.tool = &shapes_.tool("web_search");
    call.call_id = rng_.uuid4();
    call.query = plan.user_message;
    call.fail_429 = true;
  } else if (name == "error_attribute") {
    plan.inference_error = true;
  } else if (name == "unicode") {
    agent.name = "旅行助手";
    plan.user_message = kUnicodeMessage;
    plan.final_answer = "Привет! 你好! नमस्ते! שלום! 👋🏽🎉 An answer with \"quotes\", a \\ and a\nnew line.";
  } else if (name == "deep") {
    agent.shields = {"llama-guard"};
    plan.force_nested_guard_model = true;
  } else if (name == "shield_violation") {
    agent.shields = {"code-scanner", "llama-guard"};
    plan.violation = occurrence == 0 ? TurnPlan::Violation::kOutput : TurnPlan::Violation::kInput;
  }
  TraceRec t = turn_with(agent, plan, start, snap, snap_up);
  if (name == "naive") {
    t.info->naive = true;
    t.info->service_name = "llama-stack";
  } else if (name == "bad_json") {
    truncate_attributes(*find_span(t, "inference"));
  } else if (name == "no_end") {
    SpanRec* last = nullptr;
    for (auto& s : t.spans) {
      if (s.name == "InferenceRouter.stream_tokens_and_compute_metrics_openai_chat") last = &s;
    }
    last->null_end = true;
  }
  return t;
}

TraceRec Generator::build(uint64_t slot, int64_t start) {
  if (!is_special_slot(slot)) return regular(start);
  const std::string& name = specials_[specials_done_++];
  TraceRec t = special(name, occurrences_[name]++, start);
  tally_.sum.special.emplace(name, t.info->trace_id);
  tally_.sum.special_traces[name].push_back(t.info->trace_id);
  return t;
}

bool Generator::write_one(Pending& p) {
  TraceInfo& info = *p.info;
  if (!db_.write_span(info, p.span)) return false;
  if (p.span.is_root && !info.force_null_root && info.write_trace_row) info.root_set = true;
  tally_.row(info, p.span, db_.has_events_table());
  if (--info.remaining == 0) tally_.trace_done(info);
  if (in_wal_ && info.remaining == 0) ++wal_traces_;
  return true;
}

bool Generator::emit_until(int64_t limit_us) {
  while (!heap_.empty() && heap_.front().end_us < limit_us) {
    std::pop_heap(heap_.begin(), heap_.end(), EndsLater{});
    Pending p = std::move(heap_.back());
    heap_.pop_back();
    if (!write_one(p)) return false;
  }
  return true;
}

bool Generator::enqueue(TraceRec t) {
  std::sort(t.spans.begin(), t.spans.end(), [](const SpanRec& a, const SpanRec& b) {
    return a.end_us != b.end_us ? a.end_us < b.end_us : a.seq < b.seq;
  });
  int64_t first_start = t.spans.front().start_us;
  for (const auto& s : t.spans) first_start = std::min(first_start, s.start_us);
  // Everything that ended before this trace began was written before its first row.
  if (!emit_until(first_start)) return false;
  for (auto& s : t.spans) {
    if (s.omit) continue;
    ++t.info->remaining;
    heap_.push_back(Pending{s.end_us, next_seq_++, t.info, std::move(s)});
    std::push_heap(heap_.begin(), heap_.end(), EndsLater{});
  }
  return true;
}

void Generator::report_progress(uint64_t slot) {
  if (!options_.progress) return;
  double f = 0;
  if (total_slots_ > 0) {
    f = static_cast<double>(slot) / static_cast<double>(total_slots_);
  } else if (slot % 16 == 0) {
    f = static_cast<double>(db_.database_bytes()) / static_cast<double>(options_.target_bytes);
  } else {
    return;
  }
  f = std::min(f, 1.0);
  if (f - last_progress_ >= 0.01) {
    last_progress_ = f;
    options_.progress(f);
  }
}

bool Generator::run(GenSummary* out, std::string* error) {
  auto failed = [&] {
    if (error) *error = db_.error();
    return false;
  };
  plan_slots();
  if (!db_.open(path_, options_.variant)) return failed();
  GenSummary before_wal;
  for (uint64_t slot = 0; !finished(slot); ++slot) {
    if (wal_switch_due(slot)) {
      if (!emit_until(std::numeric_limits<int64_t>::max())) return failed();
      before_wal = tally_.sum;
      if (!db_.begin_wal_phase()) return failed();
      in_wal_ = true;
    }
    const int64_t start = next_start();
    if (!enqueue(build(slot, start))) return failed();
    report_progress(slot + 1);
  }
  if (!emit_until(std::numeric_limits<int64_t>::max())) return failed();
  const bool drop_wal = options_.variant == Variant::kWalSidecarMissing;
  if (!db_.finish(drop_wal)) return failed();
  GenSummary result = tally_.sum;
  if (wal_variant()) {
    GenSummary counted = minus_rows(result, before_wal);
    if (drop_wal) {
      // What is left is what was committed before the switch.
      const GenSummary lost = counted;
      counted = before_wal;
      counted.wal_only_trace_rows = lost.wal_only_trace_rows;
      counted.wal_only_span_rows = lost.wal_only_span_rows;
      counted.wal_only_event_rows = lost.wal_only_event_rows;
    }
    result = std::move(counted);
  }
  result.file_bytes = file_size(path_);
  if (options_.progress) options_.progress(1.0);
  if (out) *out = std::move(result);
  return true;
}

}  // namespace

bool generate(const GenOptions& options, const std::string& path, GenSummary* out, std::string* error) {
  if (path.empty()) {
    if (error) *error = "no output path";
    return false;
  }
  Generator g(options, path);
  return g.run(out, error);
}

bool parse_variant(const std::string& name, GenOptions::Variant* out) {
  using V = GenOptions::Variant;
  for (V v : {V::kStandard, V::kNoEventsTable, V::kExtraSchema, V::kNoPrimaryKey, V::kWalWithSidecar,
              V::kWalSidecarMissing}) {
    if (name == variant_name(v)) {
      *out = v;
      return true;
    }
  }
  return false;
}

const char* variant_name(GenOptions::Variant variant) {
  switch (variant) {
    case GenOptions::Variant::kStandard: return "standard";
    case GenOptions::Variant::kNoEventsTable: return "no-events";
    case GenOptions::Variant::kExtraSchema: return "extra-schema";
    case GenOptions::Variant::kNoPrimaryKey: return "no-pk";
    case GenOptions::Variant::kWalWithSidecar: return "wal";
    case GenOptions::Variant::kWalSidecarMissing: return "wal-missing";
  }
  return "standard";
}

}  // namespace tracedrop::testdata
