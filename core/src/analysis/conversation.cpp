// analyze_conversation: what TelemetryAnalyzer.analyze_conversation_flow promised, for one
// trace. Output (stable; keys of an object come out sorted):
//
// { "trace_id", "name" (root span name, else the earliest span's),
//   "kind": "agent_turn" | "chat_completion" | "other",
//   "session_id", "agent_id", "turn_id", "agent_name"   (strings, null when absent),
//   "messages": [ {"role": "system"|"user"|"assistant"|"tool" (else as written),
//                  "content": text, "span_id": where it was seen, "time": ISO UTC,
//                  "tool_calls": [{"call_id", "tool_name", "arguments"}]   (assistant, when any),
//                  "call_id"                                                (tool only),
//                  "stop_reason"                                            (assistant, when known)} ],
//   "inference_rounds": [ {"index" (1-based), "span_id", "model", "provider", "start",
//                  "duration_ms", "prompt_tokens", "completion_tokens", "total_tokens",
//                  "stop_reason", "tool_calls" (count), "error"} ]   (unknown values are null),
//   "tool_calls": [ {"call_id", "tool_name", "arguments" (JSON), "result" (text or null),
//                  "span_id", "start", "duration_ms", "error" (null or text), "failed": bool} ],
//   "shields": [ {"span_id", "phase": "input"|"output", "shield_ids": [...],
//                 "verdict": "no violations"|"no shields"|"violation" (null: no/unknown output),
//                 "violation": {"violation_level", "user_message", "metadata"} or null,
//                 "duration_ms"} ],
//   "tokens": {"prompt", "completion", "total"}   (every metric.*_tokens event of the trace),
//   "timing": {"total_ms", "inference_ms", "tools_ms", "shields_ms", "other_ms",
//              "critical_path": [ {"span_id", "name", "start", "duration_ms", "self_ms",
//                                  "depth"} ] },
//   "errors": [ {"span_id", "name", "message"} ] }
//
// Where it comes from (see the format notes, "What Llama Stack puts in it"):
// - Agent turns: `inference` spans are the rounds (input = messages JSON, output =
//   {"content", "tool_calls"} JSON, stop_reason), `tool_execution` spans the tool calls (input =
//   the assistant message with tool_calls, output = the tool message), `run_shields` the
//   shields (input phase when before the first round). Token counts and the model come from
//   the metric events in each round's subtree, else from the router's `__args__` repr.
// - Chat completions: one round, the `InferenceRouter.openai_chat_completion` span; messages
//   from its `__args__` repr (a repr holding a repr), the answer from its `output` repr.
// - The conversation is rebuilt in time order without the repetition of the inputs: the first
//   round's input (or the request's messages), each round's answer, each tool result, and any
//   message of a later round's input not seen yet (compared as a multiset of role, content
//   and call id, so a question asked twice stays twice), placed after the message before it
//   in that input. Messages keep the span and time where they were seen.
// - Timing: total = root duration (trace span range without a root); the inference, tool and
//   shield times are unions of their spans clipped to that range; other = the rest (>= 0).
//   The critical path is explained in critical_path.h.
#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "analysis/critical_path.h"
#include "analysis/pyrepr.h"
#include "json/json_scan.h"
#include "text/utf8.h"
#include "tracedrop/analysis.h"

namespace tracedrop {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kRouterChat = "InferenceRouter.openai_chat_completion";

double to_ms(int64_t ns) { return static_cast<double>(ns) / 1e6; }

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// A token count as an integer when it is one (55, not 55.0).
Json count_json(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9.0e15) return static_cast<int64_t>(v);
  return v;
}

Json string_or_null(const std::optional<std::string>& s) { return s ? Json(*s) : Json(nullptr); }

// ---------------------------------------------------------------------------------------------
// Attributes of one span, scanned once.

class Attrs {
 public:
  Attrs(const Model& m, uint32_t s) {
    std::string scratch;
    Result<std::string_view> r = m.span_attributes(s, scratch);
    if (!r.is_ok()) return;
    text_.assign(r.value().data(), r.value().size());
    // Members before a defect are kept: truncated attributes still give what they hold.
    json::scan_object(text_, [&](const json::Member& mem) {
      Field f;
      f.key = mem.key_escaped ? json::decode_string(mem.key) : std::string(mem.key);
      f.offset = static_cast<size_t>(mem.value.data() - text_.data());
      f.length = mem.value.size();
      f.type = mem.type;
      fields_.push_back(std::move(f));
    });
  }

  // The decoded value of a string attribute.
  std::optional<std::string> str(std::string_view key) const {
    const Field* f = find(key);
    if (!f || f->type != json::ValueType::kString) return std::nullopt;
    return json::decode_string(raw(*f));
  }
  // A string decoded, any other value as its JSON text.
  std::optional<std::string> text(std::string_view key) const {
    const Field* f = find(key);
    if (!f) return std::nullopt;
    if (f->type == json::ValueType::kString) return json::decode_string(raw(*f));
    return std::string(raw(*f));
  }

 private:
  struct Field {
    std::string key;
    size_t offset = 0, length = 0;
    json::ValueType type = json::ValueType::kNull;
  };
  std::string_view raw(const Field& f) const { return std::string_view(text_).substr(f.offset, f.length); }
  const Field* find(std::string_view key) const {
    for (size_t i = fields_.size(); i-- > 0;) {  // the last duplicate wins, as in Python
      if (fields_[i].key == key) return &fields_[i];
    }
    return nullptr;
  }

  std::string text_;
  std::vector<Field> fields_;
};

// A string attribute holding JSON text (messages, outputs), parsed.
std::optional<Json> json_attr(const Attrs& a, std::string_view key) {
  std::optional<std::string> s = a.str(key);
  if (!s) return std::nullopt;
  return json::parse_lenient(*s);
}

// A string attribute holding a Python repr (`__args__`, `output`), parsed.
std::optional<Json> repr_attr(const Attrs& a, std::string_view key) {
  std::optional<std::string> s = a.str(key);
  if (!s) return std::nullopt;
  return pyrepr::parse(*s);
}

// A member of a parsed repr whose value may itself be a repr string: {'params': "{...}"}.
Json nested_repr(const Json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end()) return nullptr;
  if (it->is_string()) {
    std::optional<Json> inner = pyrepr::parse(it->get_ref<const std::string&>());
    return inner ? std::move(*inner) : Json(*it);
  }
  return *it;
}

std::optional<std::string> member_string(const Json& obj, const char* key) {
  if (!obj.is_object()) return std::nullopt;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

// ---------------------------------------------------------------------------------------------
// Span tree helpers.

// The subtree under `s` in pre-order (explicit stack).
std::vector<uint32_t> subtree(const Model& m, uint32_t s) {
  std::vector<uint32_t> out, stack{s};
  while (!stack.empty() && out.size() <= m.span_count()) {
    const uint32_t x = stack.back();
    stack.pop_back();
    out.push_back(x);
    for (const uint32_t* c = m.children_end(x); c != m.children_begin(x);) stack.push_back(*--c);
  }
  return out;
}

std::optional<uint32_t> first_named(const Model& m, const std::vector<uint32_t>& spans, std::string_view name) {
  for (uint32_t s : spans) {
    if (m.span_name(s) == name) return s;
  }
  return std::nullopt;
}

// The message of an unstructured_log event of severity error/critical on `s`, if any.
std::optional<std::string> error_log(const Model& m, uint32_t s) {
  for (const uint32_t* e = m.events_begin(s); e != m.events_end(s); ++e) {
    if (m.event_name(*e) != "unstructured_log") continue;
    const std::string_view attrs = m.event_attributes(*e);
    std::optional<json::Member> sev = json::find_member(attrs, "severity");
    if (!sev || sev->type != json::ValueType::kString) continue;
    const std::string severity = json::decode_string(sev->value);
    if (severity != "error" && severity != "critical") continue;
    std::optional<json::Member> msg = json::find_member(attrs, "message");
    if (msg) return msg->type == json::ValueType::kString ? json::decode_string(msg->value) : std::string(msg->value);
  }
  return std::nullopt;
}

// Why a failed span failed: its `error` attribute, else an error log, else its status.
std::string failure_message(const Model& m, uint32_t s) {
  if (std::optional<std::string> e = Attrs(m, s).text("error")) return *e;
  if (std::optional<std::string> log = error_log(m, s)) return *log;
  return std::string("span status ") + status_name(m.spans.status[s]);
}

// The first failed span of a subtree (pre-order: the outermost report of the failure).
std::optional<uint32_t> first_failed(const Model& m, const std::vector<uint32_t>& spans) {
  for (uint32_t s : spans) {
    if (m.span_failed(s)) return s;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Token metrics.

struct Tokens {
  std::optional<double> prompt, completion, total;
  std::optional<std::string> model, provider;
};

void add_to(std::optional<double>& slot, double v) { slot = slot.value_or(0) + v; }

// Adds the metric.*_tokens events of `s` (values that are not finite numbers are skipped).
void add_token_events(const Model& m, uint32_t s, Tokens& tok) {
  for (const uint32_t* p = m.events_begin(s); p != m.events_end(s); ++p) {
    const uint32_t e = *p;
    const std::string_view name = m.event_name(e);
    std::optional<double>* slot = name == "metric.prompt_tokens"       ? &tok.prompt
                                  : name == "metric.completion_tokens" ? &tok.completion
                                  : name == "metric.total_tokens"      ? &tok.total
                                                                       : nullptr;
    if (!slot || !std::isfinite(m.events.metric_value[e])) continue;
    add_to(*slot, m.events.metric_value[e]);
    if (!tok.model && m.events.metric_model[e] != 0) tok.model = std::string(m.str(m.events.metric_model[e]));
    if (!tok.provider) {
      std::optional<json::Member> prov = json::find_member(m.event_attributes(e), "provider_id");
      if (prov && prov->type == json::ValueType::kString) tok.provider = json::decode_string(prov->value);
    }
  }
}

Tokens tokens_of(const Model& m, const std::vector<uint32_t>& spans) {
  Tokens tok;
  for (uint32_t s : spans) add_token_events(m, s, tok);
  return tok;
}

Json optional_count(const std::optional<double>& v) { return v ? count_json(*v) : Json(nullptr); }

// The model named in an inference router's arguments: __args__ = {'params': "{'model': ...}"}
// (or older {'model_id': ...}).
std::optional<std::string> model_from_args(const Model& m, uint32_t router) {
  std::optional<Json> args = repr_attr(Attrs(m, router), "__args__");
  if (!args) return std::nullopt;
  const Json params = nested_repr(*args, "params");
  if (auto s = member_string(params, "model")) return s;
  if (auto s = member_string(*args, "model_id")) return s;
  return member_string(*args, "model");
}

// The provider from ModelsRoutingTable.get_model's output repr, when no metric names it.
std::optional<std::string> provider_from_model_lookup(const Model& m, const std::vector<uint32_t>& spans) {
  std::optional<uint32_t> lookup = first_named(m, spans, "ModelsRoutingTable.get_model");
  if (!lookup) return std::nullopt;
  std::optional<Json> out = repr_attr(Attrs(m, *lookup), "output");
  return out ? member_string(*out, "provider_id") : std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Messages.

// Message content as text: a string, or the text parts of a content list joined by newlines.
std::string content_text(const Json& c) {
  if (c.is_string()) return c.get<std::string>();
  if (c.is_null()) return {};
  if (c.is_object()) {
    if (auto t = member_string(c, "text")) return *t;
    return c.dump(-1, ' ', false, Json::error_handler_t::replace);
  }
  if (c.is_array()) {
    std::string out;
    for (const Json& part : c) {
      const std::string t = content_text(part.is_object() && part.contains("text") ? part["text"] : part);
      if (!out.empty() && !t.empty()) out += '\n';
      out += t;
    }
    return out;
  }
  return c.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Tool-call arguments as JSON: an object as it is; a string holding JSON parsed.
Json arguments_json(const Json& a) {
  if (a.is_string()) {
    std::optional<Json> parsed = json::parse_lenient(a.get_ref<const std::string&>());
    if (parsed && (parsed->is_object() || parsed->is_array())) return std::move(*parsed);
  }
  return a;
}

// {call_id, tool_name, arguments} from Llama Stack's ToolCall or OpenAI's {id, function}.
Json normalize_tool_call(const Json& tc) {
  Json out = {{"call_id", nullptr}, {"tool_name", nullptr}, {"arguments", nullptr}};
  if (!tc.is_object()) return out;
  const Json* fn = tc.contains("function") && tc["function"].is_object() ? &tc["function"] : nullptr;
  if (auto id = member_string(tc, "call_id")) {
    out["call_id"] = *id;
  } else if (auto oid = member_string(tc, "id")) {
    out["call_id"] = *oid;
  }
  if (tc.contains("tool_name")) {
    out["tool_name"] = tc["tool_name"].is_string() ? tc["tool_name"] : Json(content_text(tc["tool_name"]));
  } else if (fn) {
    out["tool_name"] = string_or_null(member_string(*fn, "name"));
  }
  if (tc.contains("arguments")) {
    out["arguments"] = arguments_json(tc["arguments"]);
  } else if (tc.contains("arguments_json")) {
    out["arguments"] = arguments_json(tc["arguments_json"]);
  } else if (fn && fn->contains("arguments")) {
    out["arguments"] = arguments_json((*fn)["arguments"]);
  }
  return out;
}

Json normalize_tool_calls(const Json& msg) {
  Json out = Json::array();
  if (!msg.is_object()) return out;
  auto it = msg.find("tool_calls");
  if (it == msg.end() || !it->is_array()) return out;
  for (const Json& tc : *it) out.push_back(normalize_tool_call(tc));
  return out;
}

// One message of the output from a message as Llama Stack or OpenAI wrote it.
Json normalize_message(const Json& msg, const std::string& span_id, TimeNs time) {
  std::string role = member_string(msg, "role").value_or("unknown");
  if (role == "ipython") role = "tool";  // older Llama Stack name of the tool role
  Json out = {{"role", role},
              {"content", content_text(msg.is_object() && msg.contains("content") ? msg["content"] : Json())},
              {"span_id", span_id},
              {"time", format_iso_utc(time)}};
  if (role == "assistant") {
    Json calls = normalize_tool_calls(msg);
    if (!calls.empty()) out["tool_calls"] = std::move(calls);
    if (auto sr = member_string(msg, "stop_reason")) out["stop_reason"] = *sr;
  }
  if (role == "tool") {
    std::optional<std::string> id = member_string(msg, "call_id");
    out["call_id"] = string_or_null(id ? id : member_string(msg, "tool_call_id"));
  }
  return out;
}

// The conversation under construction. A later round's input repeats what came before; a
// message is new when the input holds it more often than the conversation does (the k-th
// occurrence of a role/content/call id in the input is the k-th held one).
class Conversation {
 public:
  void add(Json message) { messages_.push_back(std::move(message)); }

  // Merges the messages of an input that are not held yet, each placed after the held message
  // that precedes it in that input (a round whose output was unreadable still shows in order).
  void add_unseen(const Json& input, const std::string& span_id, TimeNs time) {
    if (!input.is_array()) return;
    std::unordered_map<std::string, std::vector<size_t>> held;  // key -> positions, in order
    for (size_t i = 0; i < messages_.size(); ++i) held[key(messages_[i])].push_back(i);
    std::unordered_map<std::string, size_t> occurrences;
    // inserted[0]: before every held message; inserted[i + 1]: right after held message i.
    std::vector<std::vector<Json>> inserted(messages_.size() + 1);
    size_t slot = 0;
    for (const Json& raw : input) {
      Json msg = normalize_message(raw, span_id, time);
      const std::string k = key(msg);
      const size_t nth = occurrences[k]++;
      auto it = held.find(k);
      if (it != held.end() && nth < it->second.size()) {
        slot = it->second[nth] + 1;
      } else {
        inserted[slot].push_back(std::move(msg));
      }
    }
    std::vector<Json> merged;
    merged.reserve(messages_.size() + input.size());
    for (size_t i = 0; i <= messages_.size(); ++i) {
      if (i > 0) merged.push_back(std::move(messages_[i - 1]));
      for (Json& msg : inserted[i]) merged.push_back(std::move(msg));
    }
    messages_ = std::move(merged);
  }

  Json take() { return Json(std::move(messages_)); }

 private:
  static std::string key(const Json& msg) {
    std::string k = msg["role"].get<std::string>();
    k += '\x1f';
    k += msg["content"].get<std::string>();
    k += '\x1f';
    if (msg.contains("call_id") && msg["call_id"].is_string()) k += msg["call_id"].get<std::string>();
    return k;
  }
  std::vector<Json> messages_;
};

// ---------------------------------------------------------------------------------------------
// The analysis of one trace.

class Analysis {
 public:
  Analysis(const Model& m, uint32_t t) : m_(m), t_(t), tr_(m.traces[t]) {
    spans_.assign(m.trace_spans_begin(t), m.trace_spans_end(t));
    if (tr_.root >= 0) root_ = static_cast<uint32_t>(tr_.root);
    lo_ = root_ ? m.spans.start[*root_] : tr_.start;
    hi_ = root_ ? m.spans.end[*root_] : tr_.end;
  }

  Json run();

 private:
  std::vector<uint32_t> named(std::string_view name) const;
  std::string kind() const;
  std::string id(uint32_t s) const { return m_.span_id_text(s); }

  void identity(Json& out) const;
  void agent_turn(Json& out);
  void add_request_messages(Conversation& conv) const;
  Json agent_round(uint32_t s, size_t index, Conversation& conv, bool first);
  Json agent_tool_call(uint32_t s, std::vector<std::string>& used_call_ids, Conversation& conv) const;
  Json shield(uint32_t s, std::optional<TimeNs> first_round) const;
  Json round_json(uint32_t span, size_t index, const std::vector<uint32_t>& token_spans,
                  const std::vector<uint32_t>& round_spans) const;
  void chat_completion(Json& out);
  std::optional<uint32_t> chat_span() const;
  std::optional<uint32_t> orphan_router() const;
  std::optional<uint32_t> chat_router(std::vector<uint32_t>& chat_tree) const;
  Json trace_tokens() const;
  Json timing(const std::vector<uint32_t>& rounds, const std::vector<uint32_t>& tools,
              const std::vector<uint32_t>& shields) const;
  Json critical_path() const;
  Json errors() const;

  const Model& m_;
  uint32_t t_;
  const TraceInfo& tr_;
  std::vector<uint32_t> spans_;  // of the trace, by start
  std::optional<uint32_t> root_;
  TimeNs lo_ = 0, hi_ = 0;  // the trace's time range (root span, else all spans)
  std::vector<uint32_t> round_spans_, tool_spans_, shield_spans_;
};

std::vector<uint32_t> Analysis::named(std::string_view name) const {
  std::vector<uint32_t> out;
  for (uint32_t s : spans_) {
    if (m_.span_name(s) == name) out.push_back(s);
  }
  return out;
}

bool is_turn_name(std::string_view n) { return n == "create_agent_turn" || n == "/alpha/agents/turn/create"; }

std::string Analysis::kind() const {
  const std::string_view name = m_.trace_name(t_);
  if (is_turn_name(name)) return "agent_turn";
  if (chat_span()) return "chat_completion";
  for (uint32_t s : spans_) {
    const std::string_view n = m_.span_name(s);
    if (is_turn_name(n) || n == "inference" || n == "tool_execution" || n == "run_shields") return "agent_turn";
  }
  if (orphan_router()) return "chat_completion";
  return "other";
}

// Without a root: a top-level chat router (a chat completion whose root never ended).
std::optional<uint32_t> Analysis::orphan_router() const {
  if (root_) return std::nullopt;
  for (uint32_t s : spans_) {
    if (m_.spans.parent[s] < 0 && m_.span_name(s) == kRouterChat) return s;
  }
  return std::nullopt;
}

// The chat completion span: the root, or the earliest span so named (under a foreign server
// span such as "POST /v1/chat/completions", which is not Llama Stack's).
std::optional<uint32_t> Analysis::chat_span() const {
  for (uint32_t s : spans_) {
    const std::string_view n = m_.span_name(s);
    if (starts_with(n, "/") && ends_with(n, "/chat/completions")) return s;
  }
  return std::nullopt;
}

void Analysis::identity(Json& out) const {
  out["trace_id"] = tr_.id;
  out["name"] = std::string(m_.trace_name(t_));
  std::optional<Attrs> root_attrs;
  if (root_) root_attrs.emplace(m_, *root_);
  for (const char* key : {"session_id", "agent_id", "turn_id", "agent_name"}) {
    out[key] = root_attrs ? string_or_null(root_attrs->str(key)) : Json(nullptr);
  }
  if (out["agent_name"].is_null()) {  // inference spans carry it too
    for (uint32_t s : named("inference")) {
      if (auto n = Attrs(m_, s).str("agent_name")) {
        out["agent_name"] = *n;
        break;
      }
    }
  }
}

Json Analysis::round_json(uint32_t span, size_t index, const std::vector<uint32_t>& token_spans,
                          const std::vector<uint32_t>& round_spans) const {
  Tokens tok = tokens_of(m_, token_spans);
  if (!tok.model) {
    if (auto router = first_named(m_, round_spans, kRouterChat)) tok.model = model_from_args(m_, *router);
  }
  if (!tok.provider) tok.provider = provider_from_model_lookup(m_, round_spans);
  std::optional<uint32_t> failed = first_failed(m_, round_spans);
  return Json{{"index", index},
              {"span_id", id(span)},
              {"model", string_or_null(tok.model)},
              {"provider", string_or_null(tok.provider)},
              {"start", format_iso_utc(m_.spans.start[span])},
              {"duration_ms", to_ms(m_.duration_ns(span))},
              {"prompt_tokens", optional_count(tok.prompt)},
              {"completion_tokens", optional_count(tok.completion)},
              {"total_tokens", optional_count(tok.total)},
              {"stop_reason", nullptr},
              {"tool_calls", 0},
              {"error", failed ? Json(failure_message(m_, *failed)) : Json(nullptr)}};
}

// The messages of the root's `request` attribute ({"messages": [...], ...} as JSON text).
void Analysis::add_request_messages(Conversation& conv) const {
  if (!root_) return;
  std::optional<Json> request = json_attr(Attrs(m_, *root_), "request");
  if (request && request->is_object() && request->contains("messages")) {
    conv.add_unseen((*request)["messages"], id(*root_), m_.spans.start[*root_]);
  }
}

// One `inference` span: its round, and its input/answer added to the conversation.
Json Analysis::agent_round(uint32_t s, size_t index, Conversation& conv, bool first) {
  const std::vector<uint32_t> sub = subtree(m_, s);
  Json round = round_json(s, index, sub, sub);
  const Attrs attrs(m_, s);
  const std::optional<std::string> stop = attrs.str("stop_reason");
  round["stop_reason"] = string_or_null(stop);
  if (std::optional<Json> input = json_attr(attrs, "input")) {
    conv.add_unseen(*input, id(s), m_.spans.start[s]);
  } else if (first) {
    add_request_messages(conv);  // no readable input: the request opens the conversation
  }
  std::optional<Json> output = json_attr(attrs, "output");
  if (output && output->is_object()) {
    Json msg = *output;
    msg["role"] = "assistant";
    if (stop) msg["stop_reason"] = *stop;
    Json answer = normalize_message(msg, id(s), m_.spans.end[s]);
    round["tool_calls"] = answer.contains("tool_calls") ? answer["tool_calls"].size() : 0;
    conv.add(std::move(answer));
  }
  return round;
}

// One `tool_execution` span: the call it ran (matched in the assistant message it got as
// input by call id, else by tool name), its result and failure, and the tool message.
Json Analysis::agent_tool_call(uint32_t s, std::vector<std::string>& used_call_ids, Conversation& conv) const {
  const Attrs attrs(m_, s);
  const std::vector<uint32_t> sub = subtree(m_, s);
  const std::optional<Json> result_msg = json_attr(attrs, "output");
  std::optional<std::string> call_id = result_msg ? member_string(*result_msg, "call_id") : std::nullopt;
  std::optional<std::string> tool_name = attrs.str("tool_name");

  Json call = nullptr;
  if (std::optional<Json> input = json_attr(attrs, "input")) {
    for (const Json& tc : normalize_tool_calls(*input)) {
      const Json& cid = tc["call_id"];
      const bool used = cid.is_string() && std::find(used_call_ids.begin(), used_call_ids.end(), cid.get<std::string>()) != used_call_ids.end();
      const bool match = call_id ? (cid.is_string() && cid.get<std::string>() == *call_id)
                                 : (!used && (!tool_name || tc["tool_name"] == *tool_name));
      if (match) {
        call = tc;
        break;
      }
    }
  }
  if (!call_id && call.is_object() && call["call_id"].is_string()) call_id = call["call_id"].get<std::string>();
  if (call_id) used_call_ids.push_back(*call_id);
  if (!tool_name && call.is_object() && call["tool_name"].is_string()) tool_name = call["tool_name"].get<std::string>();

  Json arguments = call.is_object() ? call["arguments"] : Json(nullptr);
  std::optional<uint32_t> invoke = first_named(m_, sub, "ToolRuntimeRouter.invoke_tool");
  if (arguments.is_null() && invoke) {  // __args__ = {'tool_name': ..., 'kwargs': "{...}"}
    if (std::optional<Json> args = repr_attr(Attrs(m_, *invoke), "__args__")) arguments = nested_repr(*args, "kwargs");
  }

  Json result = nullptr;
  if (result_msg && result_msg->is_object() && result_msg->contains("content")) {
    result = content_text((*result_msg)["content"]);
  } else if (invoke) {  // output = {'content': ..., 'error_message': ..., 'metadata': ...}
    std::optional<Json> out = repr_attr(Attrs(m_, *invoke), "output");
    if (out && out->is_object() && out->contains("content")) result = content_text((*out)["content"]);
  }

  Json error = nullptr;
  if (std::optional<uint32_t> failed = first_failed(m_, sub)) {
    error = failure_message(m_, *failed);
  } else if (std::optional<std::string> log = error_log(m_, s)) {
    error = *log;
  }

  if (result_msg && result_msg->is_object()) {
    Json msg = *result_msg;
    if (!msg.contains("role")) msg["role"] = "tool";
    conv.add(normalize_message(msg, id(s), m_.spans.end[s]));
  }
  const bool failed = !error.is_null();
  return Json{{"call_id", string_or_null(call_id)},
              {"tool_name", string_or_null(tool_name)},
              {"arguments", std::move(arguments)},
              {"result", std::move(result)},
              {"span_id", id(s)},
              {"start", format_iso_utc(m_.spans.start[s])},
              {"duration_ms", to_ms(m_.duration_ns(s))},
              {"error", std::move(error)},
              {"failed", failed}};
}

// One `run_shields` span: phase, shields run (children `run_shield_<id>`), verdict.
Json Analysis::shield(uint32_t s, std::optional<TimeNs> first_round) const {
  const Attrs attrs(m_, s);
  Json ids = Json::array();
  for (const uint32_t* c = m_.children_begin(s); c != m_.children_end(s); ++c) {
    const std::string_view n = m_.span_name(*c);
    if (starts_with(n, "run_shield_")) ids.push_back(std::string(n.substr(11)));
  }
  Json verdict = nullptr, violation = nullptr;
  const std::optional<std::string> output = attrs.str("output");
  if (output && (*output == "no violations" || *output == "no shields")) {
    verdict = *output;
  } else if (output) {
    std::optional<Json> v = json::parse_lenient(*output);
    if (v && v->is_object()) {
      verdict = "violation";
      violation = Json{{"violation_level", v->value("violation_level", Json())},
                       {"user_message", v->value("user_message", Json())},
                       {"metadata", v->value("metadata", Json())}};
    }
  }
  const bool input_phase = !first_round || m_.spans.start[s] < *first_round;
  return Json{{"span_id", id(s)},
              {"phase", input_phase ? "input" : "output"},
              {"shield_ids", std::move(ids)},
              {"verdict", std::move(verdict)},
              {"violation", std::move(violation)},
              {"duration_ms", to_ms(m_.duration_ns(s))}};
}

void Analysis::agent_turn(Json& out) {
  round_spans_ = named("inference");
  tool_spans_ = named("tool_execution");
  shield_spans_ = named("run_shields");

  // Rounds and tool executions in start order build the conversation.
  std::vector<std::pair<TimeNs, uint32_t>> steps;
  for (uint32_t s : round_spans_) steps.emplace_back(m_.spans.start[s], s);
  for (uint32_t s : tool_spans_) steps.emplace_back(m_.spans.start[s], s);
  std::stable_sort(steps.begin(), steps.end(), [](const auto& a, const auto& b) { return a.first < b.first; });

  Conversation conv;
  if (round_spans_.empty()) add_request_messages(conv);  // e.g. stopped by an input shield
  Json rounds = Json::array(), tools = Json::array();
  std::vector<std::string> used_call_ids;
  for (const auto& step : steps) {
    if (m_.span_name(step.second) == "inference") {
      rounds.push_back(agent_round(step.second, rounds.size() + 1, conv, rounds.empty()));
    } else {
      tools.push_back(agent_tool_call(step.second, used_call_ids, conv));
    }
  }
  std::optional<TimeNs> first_round;
  if (!round_spans_.empty()) first_round = m_.spans.start[round_spans_.front()];
  Json shields = Json::array();
  for (uint32_t s : shield_spans_) shields.push_back(shield(s, first_round));

  out["messages"] = conv.take();
  out["inference_rounds"] = std::move(rounds);
  out["tool_calls"] = std::move(tools);
  out["shields"] = std::move(shields);
}

// The chat request's messages and model: from the router's `__args__` repr, else from an
// adapter's (same arguments), else from the streaming span's {'messages': "[...]"}.
struct ChatRequest {
  Json messages;  // null when no span told
  std::optional<std::string> model;
  uint32_t span = 0;
};

ChatRequest find_chat_request(const Model& m, const std::vector<uint32_t>& candidates,
                              const std::vector<uint32_t>& streams) {
  ChatRequest req;
  for (uint32_t c : candidates) {
    std::optional<Json> args = repr_attr(Attrs(m, c), "__args__");
    if (!args) continue;
    const Json params = nested_repr(*args, "params");
    if (!req.model) req.model = member_string(params, "model");
    if (params.is_object() && params.contains("messages") && params["messages"].is_array()) {
      req.messages = params["messages"];
      req.span = c;
      return req;
    }
  }
  for (uint32_t st : streams) {
    std::optional<Json> args = repr_attr(Attrs(m, st), "__args__");
    if (!args) continue;
    Json messages = nested_repr(*args, "messages");
    if (messages.is_array()) {
      req.messages = std::move(messages);
      req.span = st;
      return req;
    }
  }
  return req;
}

// The first choice of a non-streaming completion's `output` repr, from the first candidate
// that has one (null when streaming: the output is an async generator).
Json find_chat_choice(const Model& m, const std::vector<uint32_t>& candidates) {
  for (uint32_t c : candidates) {
    std::optional<Json> out = repr_attr(Attrs(m, c), "output");
    if (!out || !out->is_object()) continue;
    auto it = out->find("choices");
    if (it != out->end() && it->is_array() && !it->empty() && (*it)[0].is_object()) return (*it)[0];
  }
  return nullptr;
}

// Finds the router span of a chat completion and the tree its metrics and streams live in.
std::optional<uint32_t> Analysis::chat_router(std::vector<uint32_t>& chat_tree) const {
  if (const std::optional<uint32_t> chat = chat_span()) {
    chat_tree = subtree(m_, *chat);
    for (const uint32_t* c = m_.children_begin(*chat); c != m_.children_end(*chat); ++c) {
      if (m_.span_name(*c) == kRouterChat) return *c;
    }
    return first_named(m_, chat_tree, kRouterChat);
  }
  chat_tree = spans_;  // the root never ended: the router is an orphan, its siblings too
  return orphan_router();
}

void Analysis::chat_completion(Json& out) {
  out["messages"] = Json::array();
  out["inference_rounds"] = Json::array();
  out["tool_calls"] = Json::array();
  out["shields"] = Json::array();
  std::vector<uint32_t> chat_tree;
  const std::optional<uint32_t> router = chat_router(chat_tree);
  if (!router) return;
  const std::vector<uint32_t> router_tree = subtree(m_, *router);
  // The round: the router, plus the streaming span that follows it when streaming.
  std::vector<uint32_t> candidates{*router}, streams;
  for (uint32_t s : chat_tree) {
    const std::string_view n = m_.span_name(s);
    if (s != *router && ends_with(n, ".openai_chat_completion")) candidates.push_back(s);
    if (n == "InferenceRouter.stream_tokens_and_compute_metrics_openai_chat") streams.push_back(s);
  }
  round_spans_ = {*router};
  TimeNs round_start = m_.spans.start[*router], round_end = m_.spans.end[*router];
  for (uint32_t st : streams) {
    if (std::find(router_tree.begin(), router_tree.end(), st) != router_tree.end()) continue;
    round_spans_.push_back(st);
    round_start = std::min(round_start, m_.spans.start[st]);
    round_end = std::max(round_end, m_.spans.end[st]);
  }

  Json round = round_json(*router, 1, chat_tree, router_tree);
  round["start"] = format_iso_utc(round_start);
  round["duration_ms"] = to_ms(round_end - round_start);
  Conversation conv;
  const ChatRequest req = find_chat_request(m_, candidates, streams);
  if (!req.messages.is_null()) conv.add_unseen(req.messages, id(req.span), m_.spans.start[req.span]);
  if (round["model"].is_null()) round["model"] = string_or_null(req.model);

  const Json choice = find_chat_choice(m_, candidates);
  if (choice.is_object()) {
    const std::optional<std::string> finish = member_string(choice, "finish_reason");
    round["stop_reason"] = string_or_null(finish);
    if (choice.contains("message") && choice["message"].is_object()) {
      Json msg = choice["message"];
      msg["role"] = "assistant";
      if (finish) msg["stop_reason"] = *finish;
      Json answer = normalize_message(msg, id(*router), m_.spans.end[*router]);
      round["tool_calls"] = answer.contains("tool_calls") ? answer["tool_calls"].size() : 0;
      const bool has_content = msg.contains("content") && !msg["content"].is_null();
      if (has_content || answer.contains("tool_calls")) conv.add(std::move(answer));
    }
  }
  out["messages"] = conv.take();
  out["inference_rounds"].push_back(std::move(round));
}

Json Analysis::trace_tokens() const {
  const Tokens tok = tokens_of(m_, spans_);
  return Json{{"prompt", count_json(tok.prompt.value_or(0))},
              {"completion", count_json(tok.completion.value_or(0))},
              {"total", count_json(tok.total.value_or(0))}};
}

std::vector<std::pair<TimeNs, TimeNs>> intervals_of(const Model& m, const std::vector<uint32_t>& spans) {
  std::vector<std::pair<TimeNs, TimeNs>> out;
  for (uint32_t s : spans) out.emplace_back(m.spans.start[s], m.spans.end[s]);
  return out;
}

Json Analysis::timing(const std::vector<uint32_t>& rounds, const std::vector<uint32_t>& tools,
                      const std::vector<uint32_t>& shields) const {
  const int64_t total = hi_ - lo_;
  const int64_t inference = analysis::covered_ns(intervals_of(m_, rounds), lo_, hi_);
  const int64_t tool_time = analysis::covered_ns(intervals_of(m_, tools), lo_, hi_);
  const int64_t shield_time = analysis::covered_ns(intervals_of(m_, shields), lo_, hi_);
  const int64_t other = std::max<int64_t>(0, total - inference - tool_time - shield_time);
  return Json{{"total_ms", to_ms(total)},
              {"inference_ms", to_ms(inference)},
              {"tools_ms", to_ms(tool_time)},
              {"shields_ms", to_ms(shield_time)},
              {"other_ms", to_ms(other)},
              {"critical_path", critical_path()}};
}

Json Analysis::critical_path() const {
  const std::vector<analysis::PathEntry> path =
      root_ ? analysis::critical_path(m_, *root_) : analysis::critical_path_of(m_, m_.trace_roots(t_), lo_, hi_);
  Json out = Json::array();
  for (const analysis::PathEntry& e : path) {
    out.push_back(Json{{"span_id", id(e.span)},
                       {"name", std::string(m_.span_name(e.span))},
                       {"start", format_iso_utc(m_.spans.start[e.span])},
                       {"duration_ms", to_ms(m_.duration_ns(e.span))},
                       {"self_ms", to_ms(e.self_ns)},
                       {"depth", e.depth}});
  }
  return out;
}

Json Analysis::errors() const {
  Json out = Json::array();
  for (uint32_t s : spans_) {
    if (!m_.span_failed(s)) continue;
    out.push_back(Json{{"span_id", id(s)}, {"name", std::string(m_.span_name(s))}, {"message", failure_message(m_, s)}});
  }
  return out;
}

// Stored text may hold invalid UTF-8 (raw bytes, truncated sequences): make every string and
// key valid so that dumping the result never fails. Iterative over the document.
void make_valid_utf8(Json& doc) {
  std::vector<Json*> stack{&doc};
  while (!stack.empty()) {
    Json* j = stack.back();
    stack.pop_back();
    if (j->is_string()) {
      std::string& s = j->get_ref<std::string&>();
      std::string valid = text::to_valid_utf8(s);
      if (valid != s) s = std::move(valid);
    } else if (j->is_array()) {
      for (Json& item : *j) stack.push_back(&item);
    } else if (j->is_object()) {
      std::vector<std::string> bad_keys;
      for (auto it = j->begin(); it != j->end(); ++it) {
        if (text::to_valid_utf8(it.key()) != it.key()) bad_keys.push_back(it.key());
      }
      for (const std::string& k : bad_keys) {
        Json v = std::move((*j)[k]);
        j->erase(k);
        (*j)[text::to_valid_utf8(k)] = std::move(v);
      }
      for (auto& item : j->items()) stack.push_back(&item.value());
    }
  }
}

Json Analysis::run() {
  Json out = Json::object();
  identity(out);
  const std::string k = kind();
  out["kind"] = k;
  if (k == "chat_completion") {
    chat_completion(out);
  } else {
    agent_turn(out);
  }
  out["tokens"] = trace_tokens();
  out["timing"] = timing(round_spans_, tool_spans_, shield_spans_);
  out["errors"] = errors();
  make_valid_utf8(out);
  return out;
}

}  // namespace

Result<nlohmann::json> analyze_conversation(const Model& model, uint32_t trace) {
  if (trace >= model.trace_count()) {
    return Status(ErrorCode::kInvalidArgument, "trace index " + std::to_string(trace) + " is out of range");
  }
  try {
    return Analysis(model, trace).run();
  } catch (const std::exception& e) {  // nlohmann reports misuse by throwing; keep it a value
    return Status(ErrorCode::kInternal, std::string("conversation analysis failed: ") + e.what());
  }
}

}  // namespace tracedrop
