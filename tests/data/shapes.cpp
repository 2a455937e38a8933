#include "shapes.h"

#include <algorithm>
#include <memory>

namespace tracedrop::testdata::detail {

namespace {

using Id = TraceBuilder::Id;

// ---------------------------------------------------------------------------------------------
// Content. Multilingual on purpose: readers must survive \u escapes, surrogate pairs, RTL text,
// quotes, backslashes, tabs and newlines inside nested JSON and Python repr strings.

struct QA {
  const char* question;
  const char* answer;
};

const std::vector<QA>& corpus() {
  static const std::vector<QA> kCorpus = {
      {"What is 2 + 2?", "2 + 2 = 4."},
      {"Tell me a short joke", "Why did the scarecrow win an award? Because he was outstanding in his field! 🌾"},
      {"¿Cuál es la capital de Australia?", "La capital de Australia es Canberra."},
      {"Объясни, как работает TCP handshake.", "TCP использует трёхстороннее рукопожатие: SYN, SYN-ACK, ACK."},
      {"東京で一番人気のラーメン屋はどこですか？", "一蘭や蔦が有名です。"},
      {"मुझे एक कविता सुनाओ", "सूरज ढला, चाँद निकला, तारे मुस्काए।"},
      {"שלום! מה שלומך?", "שלום! אני בסדר, תודה. 😊"},
      {"Écris un haïku sur l'automne 🍁", "Feuilles rousses tombent / le vent murmure doucement / l'automne s'installe"},
      {"What's the weather in Zürich tomorrow? ☀️", "Demain à Zürich : ensoleillé, 18 °C."},
      {"Convert https://arxiv.org/pdf/2004.07606 to markdown 📄", "# Abstract\n\nWe present a method for..."},
      {"Compute the integral of x^2 * sin(x) dx", "The integral is -x^2 cos(x) + 2x sin(x) + 2 cos(x) + C."},
      {"Summarize the attached report in three bullet points.",
       "Here are the key points:\n- Revenue grew 12%\n- Costs were flat\n- Outlook is positive"},
      {"Find the section about \"rate limits\" in our docs\nand quote it.",
       "\"Requests are limited to 60 per minute per key.\" (docs/limits.md)"},
      {"Give me a tab\tseparated list: a\tb\tc", "a\tb\tc"},
      {"Search the web for the latest Llama Stack release notes",
       "The latest release adds the Responses API and improves telemetry."},
      {"帮我写一封请假邮件", "尊敬的经理：我因身体不适，申请明天请假一天。谢谢！"},
      {"Can you explain what a C:\\Windows\\System32 path is?",
       "It is the folder C:\\Windows\\System32 where Windows keeps system files."},
      {"Как дела? 🙂", "Отлично, спасибо! Чем могу помочь?"},
  };
  return kCorpus;
}

const std::vector<ModelInfo>& chat_models() {
  static const std::vector<ModelInfo> kModels = {
      {"llama3.2:3b-instruct-fp16", "llama3.2:3b-instruct-fp16", "ollama", "OllamaInferenceAdapter"},
      {"ollama/llama3.1:8b", "llama3.1:8b", "ollama", "OllamaInferenceAdapter"},
      {"gpt-4o-mini", "gpt-4o-mini", "openai", "OpenAIInferenceAdapter"},
      {"meta-llama/Llama-3.2-3B-Instruct", "meta-llama/Llama-3.2-3B-Instruct", "vllm", "VLLMInferenceAdapter"},
  };
  return kModels;
}

const ModelInfo kGuardModel = {"meta-llama/Llama-Guard-3-8B", "Llama-Guard-3-8B", "vllm", "VLLMInferenceAdapter"};

const std::vector<ToolInfo>& all_tools() {
  static const std::vector<ToolInfo> kTools = {
      {"web_search", "builtin::websearch", "TavilySearchToolRuntimeImpl"},
      {"knowledge_search", "builtin::rag", "MemoryToolRuntimeImpl"},
      {"wolfram_alpha", "builtin::wolfram_alpha", "WolframAlphaToolRuntimeImpl"},
      {"get_weather", "mcp::weather", "ModelContextProtocolToolRuntimeImpl"},
  };
  return kTools;
}

const char* const kAgentNames[] = {"support-bot", "旅行助手", "research-agent", "Ассистент", "code-helper", "analyst"};
const char* const kViolationMessage = "I can't answer that. Can I help with something else?";
const char* const kTavily429 = "Client error '429 Too Many Requests' for url 'https://api.tavily.com/search'";
const char* const kStreamSpan = "InferenceRouter.stream_tokens_and_compute_metrics_openai_chat";
const char* const kRouterChat = "InferenceRouter.openai_chat_completion";

// ---------------------------------------------------------------------------------------------
// Values as Llama Stack builds them.

PyValue S(std::string s) { return PyValue::str(std::move(s)); }

PyValue system_msg() {
  return PyValue::dict({{"role", S("system")}, {"content", S("You are a helpful assistant.")}});
}

PyValue user_msg(const std::string& content) {
  return PyValue::dict({{"role", S("user")}, {"content", S(content)}, {"context", PyValue::none()}});
}

PyValue assistant_msg(const std::string& content, const char* stop_reason, std::vector<PyValue> tool_calls) {
  return PyValue::dict({{"role", S("assistant")},
                        {"content", S(content)},
                        {"stop_reason", S(stop_reason)},
                        {"tool_calls", PyValue::list(std::move(tool_calls))}});
}

PyValue tool_msg(const std::string& call_id, const std::string& content) {
  return PyValue::dict({{"role", S("tool")}, {"call_id", S(call_id)}, {"content", S(content)}});
}

PyValue tool_call_value(const ToolCallPlan& call) {
  return PyValue::dict({{"call_id", S(call.call_id)},
                        {"tool_name", S(call.tool->name)},
                        {"arguments", PyValue::dict({{"query", S(call.query)}})}});
}

// The attributes every auto-traced method span starts with. (Built with emplace_back: an
// initializer list would copy the often large __args__ string once more.)
Attrs autotraced(const std::string& cls, const char* method, const char* type, std::string args) {
  Attrs a;
  a.reserve(7);
  a.emplace_back("__autotraced__", PyValue::boolean(true));
  a.emplace_back("__class__", S(cls));
  a.emplace_back("__method__", S(method));
  a.emplace_back("__type__", S(type));
  a.emplace_back("__args__", S(std::move(args)));
  return a;
}

// repr of the stream span's kwargs: the response, the model and the messages as strings.
std::string stream_args(const ModelInfo& m, const std::string& messages_repr) {
  return "{'response': '<async_generator object>', 'model': " +
         py_repr_str(py_repr(PyValue::dict({{"identifier", S(m.id)}}))) +
         ", 'messages': " + py_repr_str(messages_repr) + "}";
}

Attrs with(Attrs attrs, const char* key, PyValue value) {
  attrs.emplace_back(key, std::move(value));
  return attrs;
}

// repr({'params': str(params)}): the router receives the pydantic params object, which the
// tracer stringifies before repr-ing the kwargs.
// (The params repr is assembled by hand so the message history is not copied or re-encoded.)
std::string params_args(const std::string& model_id, const std::string& messages_repr, bool stream) {
  const std::string params = "{'model': " + py_repr_str(model_id) + ", 'messages': " + messages_repr +
                             ", 'stream': " + (stream ? "True" : "False") + ", 'temperature': 0.0}";
  return "{'params': " + py_repr_str(params) + "}";
}

std::string object_address(Rng& rng) { return "0x7f" + rng.hex(10); }

std::string async_gen_output(Rng& rng) {
  return "<async_generator object OpenAIMixin.openai_chat_completion.<locals>._gen at " + object_address(rng) + ">";
}

std::string chat_completion_output(Rng& rng, const std::string& model_id) {
  const PyValue choice = PyValue::dict({{"index", PyValue::integer(0)}, {"finish_reason", S("stop")}});
  return py_repr(PyValue::dict({{"id", S("chatcmpl-" + std::to_string(rng.range(1000000000, 3999999999)))},
                                {"object", S("chat.completion")},
                                {"model", S(model_id)},
                                {"choices", PyValue::list({choice})}}));
}

uint64_t estimate_tokens(size_t chars) { return 12 + chars / 5; }

void get_model(TraceBuilder& b, Id parent, const ModelInfo& m) {
  const Id id = b.begin("ModelsRoutingTable.get_model", parent);
  b.advance(40, 400);
  const PyValue out = PyValue::dict({{"identifier", S(m.id)},
                                     {"provider_resource_id", S(m.resource_id)},
                                     {"provider_id", S(m.provider)},
                                     {"type", S("model")},
                                     {"metadata", PyValue::dict()},
                                     {"model_type", S("llm")}});
  const std::string args = py_repr(PyValue::dict({{"model_id", S(m.id)}}));
  b.end(id, with(autotraced("ModelsRoutingTable", "get_model", "async", args), "output", S(py_repr(out))));
}

// metric.prompt_tokens / completion_tokens / total_tokens, as the router logs them right
// before the span carrying them ends.
void token_events(TraceBuilder& b, Id span, const ModelInfo& m, uint64_t prompt, uint64_t completion) {
  const std::pair<EventRec::Kind, uint64_t> metrics[] = {{EventRec::Kind::kPromptTokens, prompt},
                                                         {EventRec::Kind::kCompletionTokens, completion},
                                                         {EventRec::Kind::kTotalTokens, prompt + completion}};
  const char* names[] = {"metric.prompt_tokens", "metric.completion_tokens", "metric.total_tokens"};
  int64_t ts = std::max(b.span(span).start_us, b.now() - 800);
  size_t i = 0;
  for (const auto& [kind, value] : metrics) {
    EventRec e;
    e.kind = kind;
    e.name = names[i++];
    e.ts_us = ts;
    e.model_id = m.id;
    e.value = value;
    e.attributes = json_dumps(Attrs{{"value", PyValue::integer(static_cast<int64_t>(value))},
                                    {"unit", S("tokens")},
                                    {"model_id", S(m.id)},
                                    {"provider_id", S(m.provider)}});
    b.add_event(span, std::move(e));
    ts += b.deterministic() ? 25 : b.rng().range(10, 45);
  }
}

void log_event(TraceBuilder& b, Id span, const std::string& message, const char* severity) {
  EventRec e;
  e.kind = EventRec::Kind::kLog;
  e.name = "unstructured_log";
  e.ts_us = b.now();
  e.attributes = json_dumps(
      Attrs{{"message", S(message)}, {"severity", S(severity)}, {"__ttl__", PyValue::integer(604800)}});
  b.add_event(span, std::move(e));
}

// The slow part of a step that began at `start`: random, or up to `tail` microseconds before
// the step's fixed end.
void slow(TraceBuilder& b, const Deadline& d, int64_t start, int64_t tail, int64_t lo, int64_t hi) {
  if (d.duration_us) {
    b.set_now(start + d.duration_us - tail);
  } else {
    b.advance(lo, hi);
  }
}

// Moves to the end of a step that began at `start`.
void close_step(TraceBuilder& b, const Deadline& d, int64_t start) {
  if (d.duration_us) {
    b.set_now(start + d.duration_us);
  } else {
    b.step();
  }
}

// ---------------------------------------------------------------------------------------------
// Agent pieces.

void list_tools(TraceBuilder& b, Id parent, const ToolInfo& tool, const Deadline& d) {
  const Id id = b.begin("ToolGroupsRoutingTable.list_tools", parent);
  slow(b, d, b.span(id).start_us, 0, 300, 3000);
  const std::string args = py_repr(PyValue::dict({{"toolgroup_id", S(tool.toolgroup)}}));
  const PyValue entry = PyValue::dict({{"name", S(tool.name)}, {"toolgroup_id", S(tool.toolgroup)}});
  const std::string out = py_repr(PyValue::dict({{"data", PyValue::list({entry})}}));
  b.end(id, with(autotraced("ToolGroupsRoutingTable", "list_tools", "async", args), "output", S(out)));
}

void guard_inference(TraceBuilder& b, Id parent, bool nested_model) {
  const PyValue messages = PyValue::list(
      {PyValue::dict({{"role", S("user")}, {"content", S("Task: Check if there is unsafe content ...")}})});
  const std::string args = params_args(kGuardModel.id, py_repr(messages), false);
  const Id router = b.begin(kRouterChat, parent);
  b.step();
  get_model(b, router, kGuardModel);
  b.step();
  const Id adapter = b.begin(std::string(kGuardModel.adapter) + ".openai_chat_completion", router);
  // The adapter resolving the model again is what makes the shield path 8 deep.
  if (nested_model || (!b.deterministic() && b.rng().chance(0.4))) {
    b.step();
    get_model(b, adapter, kGuardModel);
  }
  b.advance(150 * kMicrosPerMs, 450 * kMicrosPerMs);
  const std::string out = chat_completion_output(b.rng(), kGuardModel.id);
  b.end(adapter, with(autotraced(kGuardModel.adapter, "openai_chat_completion", "async", args), "output", S(out)));
  b.step();
  b.end(router, with(autotraced("InferenceRouter", "openai_chat_completion", "async", args), "output", S(out)));
}

std::string shield_output(bool violate) {
  if (!violate) return "{'violation': None}";
  const PyValue v = PyValue::dict({{"violation_level", S("error")},
                                   {"user_message", S(kViolationMessage)},
                                   {"metadata", PyValue::dict({{"violation_type", S("S1")}})}});
  return py_repr(PyValue::dict({{"violation", v}}));
}

// impl_end_us: when non-zero, the safety implementation returns at that time.
void one_shield(TraceBuilder& b, Id parent, const std::string& shield, const std::string& messages_str,
                bool violate, bool nested_model, int64_t impl_end_us) {
  const bool guard = shield == "llama-guard";
  const std::string impl = guard ? "LlamaGuardSafetyImpl" : "MetaReferenceCodeScannerSafetyImpl";
  const Id run = b.begin("run_shield_" + shield, parent);
  b.step();
  const Id router = b.begin("SafetyRouter.run_shield", run);
  b.step();
  const Id get = b.begin("ShieldsRoutingTable.get_shield", router);
  b.advance(50, 300);
  const std::string get_out = py_repr(
      PyValue::dict({{"identifier", S(shield)}, {"provider_id", S(impl)}, {"type", S("shield")}}));
  b.end(get, with(autotraced("ShieldsRoutingTable", "get_shield", "async",
                             py_repr(PyValue::dict({{"identifier", S(shield)}}))),
                  "output", S(get_out)));
  b.step();
  const Id run_impl = b.begin(impl + ".run_shield", router);
  if (guard) {
    b.step();
    guard_inference(b, run_impl, nested_model);
    b.step();
  } else if (impl_end_us) {
    b.set_now(impl_end_us);
  } else {
    b.advance(1 * kMicrosPerMs, 20 * kMicrosPerMs);
  }
  const std::string args = py_repr(
      PyValue::dict({{"shield_id", S(shield)}, {"messages", S(messages_str)}, {"params", S("{}")}}));
  const std::string out = shield_output(violate);
  b.end(run_impl, with(autotraced(impl, "run_shield", "async", args), "output", S(out)));
  b.step();
  b.end(router, with(autotraced("SafetyRouter", "run_shield", "async", args), "output", S(out)));
  b.step();
  b.end(run, {});
}

// The shields run concurrently: each starts a few microseconds after the other, and the
// run_shields span ends after the slowest.
void run_shields(TraceBuilder& b, Id parent, const std::vector<std::string>& shields, const PyValue& message,
                 bool violate, bool nested_model, const Deadline& d) {
  const Id rs = b.begin("run_shields", parent);
  b.step();
  const std::string messages_str = py_repr(PyValue::list({S(json_compact(message))}));
  const int64_t t0 = b.now();
  const int64_t start = b.span(rs).start_us;
  const int64_t impl_end = d.duration_us && shields.size() == 1 ? start + d.duration_us - 400 : 0;
  int64_t latest = t0;
  for (size_t i = 0; i < shields.size(); ++i) {
    b.set_now(t0 + static_cast<int64_t>(i) * (b.deterministic() ? 20 : b.rng().range(20, 200)));
    // The last shield is the one that objects (llama-guard when both run).
    one_shield(b, rs, shields[i], messages_str, violate && i + 1 == shields.size(), nested_model, impl_end);
    latest = std::max(latest, b.now());
  }
  b.set_now(latest);
  close_step(b, d, start);
  std::string output = "no violations";
  if (violate) {
    output = json_compact(PyValue::dict({{"violation_level", S("error")},
                                         {"user_message", S(kViolationMessage)},
                                         {"metadata", PyValue::dict({{"violation_type", S("S1")}})}}));
  }
  b.end(rs, {{"input", S(messages_str)}, {"output", S(output)}});
}

struct RoundOutput {
  std::string content;
  const char* stop_reason;
  std::vector<PyValue> tool_calls;
};

// One `inference` step of a turn: router call (model lookup, adapter), then the streaming
// span that carries the token metrics. fail: the adapter raises, recorded as `error`
// attributes on OK spans (what Llama Stack does), and nothing streams.
void inference_round(TraceBuilder& b, Id parent, const AgentProfile& agent, const PyValue& messages,
                     const RoundOutput& out, const RoundPlan& plan, bool fail) {
  const ModelInfo& m = *agent.model;
  const std::string messages_repr = py_repr(messages);
  const std::string args = params_args(m.id, messages_repr, true);
  std::string input = json_dumps(messages);
  const Id inf = b.begin("inference", parent);
  b.step();
  const Id router = b.begin(kRouterChat, inf);
  b.step();
  get_model(b, router, m);
  b.step();
  const Id adapter = b.begin(std::string(m.adapter) + ".openai_chat_completion", router);
  if (!b.deterministic() && b.rng().chance(0.3)) {
    b.step();
    get_model(b, adapter, m);
  }
  b.advance(2 * kMicrosPerMs, 30 * kMicrosPerMs);
  Attrs inf_attrs;
  if (!agent.name.empty()) inf_attrs.emplace_back("agent_name", S(agent.name));
  if (fail) {
    const PyValue err = S("ConnectError: All connection attempts failed (http://localhost:11434/v1)");
    b.end(adapter, with(autotraced(m.adapter, "openai_chat_completion", "async", args), "error", err));
    b.step();
    b.end(router, with(autotraced("InferenceRouter", "openai_chat_completion", "async", args), "error", err));
    close_step(b, plan.deadline, b.span(inf).start_us);
    b.end(inf, inf_attrs);
    return;
  }
  const std::string gen = async_gen_output(b.rng());
  b.end(adapter, with(autotraced(m.adapter, "openai_chat_completion", "async", args), "output", S(gen)));
  b.step();
  b.end(router, with(autotraced("InferenceRouter", "openai_chat_completion", "async", args), "output", S(gen)));
  b.step();

  const uint64_t prompt = plan.prompt_tokens ? plan.prompt_tokens : estimate_tokens(input.size());
  uint64_t completion = plan.completion_tokens;
  if (!completion) completion = out.tool_calls.empty() ? 4 + out.content.size() / 3 + b.rng().below(60) : 15 + b.rng().below(25);
  const Id stream = b.begin(kStreamSpan, inf);
  const auto per_token = static_cast<int64_t>(completion) * kMicrosPerMs;
  slow(b, plan.deadline, b.span(inf).start_us, 500, 50 * kMicrosPerMs + 8 * per_token, 60 * kMicrosPerMs + 35 * per_token);
  token_events(b, stream, m, prompt, completion);
  b.end(stream, with(autotraced("InferenceRouter", "stream_tokens_and_compute_metrics_openai_chat", "async_generator",
                                stream_args(m, messages_repr)),
                     "chunk_count", S(std::to_string(completion / 3 + 1))));
  close_step(b, plan.deadline, b.span(inf).start_us);
  inf_attrs.emplace_back("stop_reason", S(out.stop_reason));
  inf_attrs.emplace_back("input", S(std::move(input)));
  inf_attrs.emplace_back("output", S(json_dumps(PyValue::dict(
                                       {{"content", S(out.content)}, {"tool_calls", PyValue::list(out.tool_calls)}}))));
  b.end(inf, std::move(inf_attrs));
}

void vector_query(TraceBuilder& b, Id parent, const std::string& query) {
  const Id id = b.begin("VectorIORouter.query_chunks", parent);
  b.advance(5 * kMicrosPerMs, 80 * kMicrosPerMs);
  const std::string args = py_repr(PyValue::dict(
      {{"vector_db_id", S("vs_" + b.rng().uuid4())}, {"query", S(query)}, {"params", S("")}}));
  const PyValue chunk = PyValue::dict({{"content", S("…chunk text…")},
                                       {"metadata", PyValue::dict({{"document_id", S("doc-1")}})}});
  const double score = static_cast<double>(b.rng().range(40, 99)) / 100.0;
  const std::string out = py_repr(PyValue::dict(
      {{"chunks", PyValue::list({chunk})}, {"scores", PyValue::list({PyValue::real(score)})}}));
  b.end(id, with(autotraced("VectorIORouter", "query_chunks", "async", args), "output", S(out)));
}

void tool_execution(TraceBuilder& b, Id parent, const ToolCallPlan& call, const PyValue& call_value) {
  const ToolInfo& tool = *call.tool;
  const Id te = b.begin("tool_execution", parent);
  b.step();
  const Id router = b.begin("ToolRuntimeRouter.invoke_tool", te);
  b.step();
  const Id provider = b.begin("ToolGroupsRoutingTable.get_provider_impl", router);
  b.advance(50, 300);
  b.end(provider, with(autotraced("ToolGroupsRoutingTable", "get_provider_impl", "async",
                                  py_repr(PyValue::dict({{"routing_key", S(tool.name)}}))),
                       "output", S("<" + std::string(tool.impl) + " object at " + object_address(b.rng()) + ">")));
  b.step();
  const Id impl = b.begin(std::string(tool.impl) + ".invoke_tool", router);
  if (std::string(tool.name) == "knowledge_search") {
    b.step();
    vector_query(b, impl, call.query);
  }
  slow(b, call.deadline, b.span(te).start_us, 700, 100 * kMicrosPerMs, 2500 * kMicrosPerMs);
  const std::string kwargs = py_repr(PyValue::dict({{"query", S(call.query)}}));
  const std::string args = py_repr(PyValue::dict({{"tool_name", S(tool.name)}, {"kwargs", S(kwargs)}}));
  const std::string input = json_compact(assistant_msg("", "end_of_message", {call_value}));
  if (call.fail_429) {
    b.span(impl).status = "ERROR";
    b.end(impl, with(autotraced(tool.impl, "invoke_tool", "async", args), "error", S(kTavily429)));
    b.step();
    b.span(router).status = "ERROR";
    b.end(router, with(autotraced("ToolRuntimeRouter", "invoke_tool", "async", args), "error", S(kTavily429)));
    close_step(b, call.deadline, b.span(te).start_us);
    log_event(b, te, std::string("Error executing tool call: ") + kTavily429, "error");
    b.end(te, {{"tool_name", S(tool.name)}, {"input", S(input)}});
    return;
  }
  const std::string out = py_repr(PyValue::dict(
      {{"content", S(call.result)}, {"error_message", PyValue::none()}, {"metadata", PyValue::none()}}));
  b.end(impl, with(autotraced(tool.impl, "invoke_tool", "async", args), "output", S(out)));
  b.step();
  b.end(router, with(autotraced("ToolRuntimeRouter", "invoke_tool", "async", args), "output", S(out)));
  close_step(b, call.deadline, b.span(te).start_us);
  b.end(te, {{"tool_name", S(tool.name)},
             {"input", S(input)},
             {"output", S(json_compact(tool_msg(call.call_id, call.result)))}});
}

PyValue turn_request(const AgentProfile& agent, const SessionState& session, const PyValue& user) {
  PyValue toolgroups = PyValue::none();
  if (!agent.tools.empty()) {
    toolgroups = PyValue::list();
    for (const ToolInfo* t : agent.tools) toolgroups.add(S(t->toolgroup));
  }
  return PyValue::dict({{"agent_id", S(agent.agent_id)},
                        {"session_id", S(session.session_id)},
                        {"messages", PyValue::list({user})},
                        {"documents", PyValue::none()},
                        {"toolgroups", toolgroups},
                        {"stream", PyValue::boolean(true)},
                        {"tool_config", PyValue::dict({{"tool_choice", S("auto")},
                                                       {"system_message_behavior", S("append")}})}});
}

Attrs root_attrs(bool library_client, const std::string& raw_path) {
  Attrs a = {{"__root__", PyValue::boolean(true)},
             {"__root_span__", PyValue::boolean(true)},
             {"__local_root_span__", PyValue::boolean(true)},
             {"__location__", S(library_client ? "library_client" : "server")}};
  if (!library_client) a.emplace_back("raw_path", S(raw_path));
  return a;
}

Attrs turn_root_attrs(const AgentProfile& agent, const SessionState& session, const TurnPlan& plan,
                      const std::string& turn_id, const PyValue& user) {
  Attrs a;
  if (plan.legacy) {
    // Before the tracing rewrite: no __root_span__/__local_root_span__, old route.
    a = {{"__root__", PyValue::boolean(true)},
         {"__location__", S("server")},
         {"raw_path", S("/alpha/agents/turn/create")}};
  } else {
    a = root_attrs(plan.library_client,
                   "/v1/agents/" + agent.agent_id + "/session/" + session.session_id + "/turn");
  }
  a.emplace_back("session_id", S(session.session_id));
  a.emplace_back("agent_id", S(agent.agent_id));
  a.emplace_back("request", S(json_compact(turn_request(agent, session, user))));
  a.emplace_back("turn_id", S(turn_id));
  if (!agent.name.empty()) a.emplace_back("agent_name", S(agent.name));
  return a;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

Shapes::Shapes(Rng& rng) : rng_(rng) {
  for (int i = 0; i < 8; ++i) {
    static const std::vector<std::vector<std::string>> kShieldSets = {
        {}, {}, {"code-scanner"}, {"llama-guard"}, {"llama-guard"}, {"code-scanner", "llama-guard"}};
    std::vector<const ToolInfo*> tools;
    for (const ToolInfo& t : all_tools()) {
      if (rng_.chance(0.4)) tools.push_back(&t);
    }
    const size_t name_index = static_cast<size_t>(rng_.below(std::size(kAgentNames) + 2));
    const std::string name = name_index < std::size(kAgentNames) ? kAgentNames[name_index] : "";
    agents.push_back(make_agent(&rng_.pick(chat_models()), rng_.pick(kShieldSets), std::move(tools), name));
  }
  for (size_t i = 0; i < 3; ++i) sessions.push_back(new_session(random_agent()));
}

const ModelInfo& Shapes::model(size_t i) const { return chat_models()[i % chat_models().size()]; }

const ToolInfo& Shapes::tool(const char* name) const {
  for (const ToolInfo& t : all_tools()) {
    if (std::string(t.name) == name) return t;
  }
  return all_tools().front();
}

AgentProfile Shapes::make_agent(const ModelInfo* model, std::vector<std::string> shields,
                                std::vector<const ToolInfo*> tools, std::string name) {
  AgentProfile a;
  a.agent_id = rng_.uuid4();
  a.name = std::move(name);
  a.model = model;
  a.shields = std::move(shields);
  a.tools = std::move(tools);
  return a;
}

SessionState Shapes::new_session(size_t agent) {
  SessionState s;
  s.session_id = rng_.uuid4();
  s.agent = agent;
  s.max_turns = static_cast<int>(rng_.range(2, 9));
  return s;
}

size_t Shapes::random_agent() { return static_cast<size_t>(rng_.below(agents.size())); }

TraceRec Shapes::finish(TraceBuilder& b) {
  TraceRec t;
  t.info = std::make_shared<TraceInfo>();
  t.info->trace_id = rng_.hex(32);
  t.info->service_name = "\u200b";  // OTEL default service name in Llama Stack: a zero-width space
  t.spans = b.take();
  return t;
}

std::string Shapes::knowledge_result() {
  std::string text = "## Retrieved document";
  const auto n = rng_.range(6, 40);
  for (int64_t i = 0; i < n; ++i) {
    const QA& qa = rng_.pick(corpus());
    text += "\n\n";
    text += rng_.chance(0.5) ? qa.question : qa.answer;
  }
  return text;
}

ToolCallPlan Shapes::random_tool_call(const ToolInfo* t) {
  ToolCallPlan c;
  c.tool = t;
  c.call_id = rng_.uuid4();
  c.query = rng_.pick(corpus()).question;
  if (std::string(t->name) == "knowledge_search") {
    c.result = knowledge_result();
  } else {
    c.result = std::string("Result for ") + t->name + ": " + rng_.pick(corpus()).answer;
  }
  return c;
}

TurnPlan Shapes::random_turn_plan(const AgentProfile& agent) {
  TurnPlan p;
  const QA& qa = rng_.pick(corpus());
  p.user_message = qa.question;
  p.final_answer = qa.answer;
  size_t calls = 0;
  if (!agent.tools.empty()) {
    const double r = rng_.unit();
    // Mostly 0-3 tool calls; rarely a long chain up to 9 (10 inference rounds).
    calls = r < 0.40 ? 0 : r < 0.70 ? 1 : r < 0.87 ? 2 : r < 0.98 ? 3 : static_cast<size_t>(rng_.range(4, 9));
  }
  for (size_t i = 0; i < calls; ++i) p.tool_calls.push_back(random_tool_call(rng_.pick(agent.tools)));
  p.completion_log = rng_.chance(0.15);
  p.library_client = rng_.chance(0.08);
  return p;
}

TraceRec Shapes::agent_turn(TraceBuilder& b, const AgentProfile& agent, SessionState& session, const TurnPlan& plan) {
  const std::string turn_id = plan.turn_id.empty() ? rng_.uuid4() : plan.turn_id;
  auto gap = [&] { plan.gap_us ? b.advance(plan.gap_us, plan.gap_us) : b.step(); };
  const Id root = b.begin(plan.legacy ? "/alpha/agents/turn/create" : "create_agent_turn", TraceBuilder::kNoParent);
  b.span(root).is_root = true;
  const int64_t start = b.now();
  gap();
  for (const ToolInfo* t : agent.tools) {
    list_tools(b, root, *t, plan.list_tools);
    gap();
  }
  const PyValue user = user_msg(plan.user_message);
  using V = TurnPlan::Violation;
  bool stopped = false;
  if (!agent.shields.empty()) {
    run_shields(b, root, agent.shields, user, plan.violation == V::kInput, plan.force_nested_guard_model,
                plan.input_shields);
    gap();
    stopped = plan.violation == V::kInput;
  }
  PyValue messages = PyValue::list({system_msg()});
  for (const PyValue& m : session.history) messages.add(m);
  messages.add(user);
  std::vector<PyValue> new_history = {user};
  for (size_t r = 0; !stopped && r <= plan.tool_calls.size(); ++r) {
    const bool last = r == plan.tool_calls.size();
    const RoundPlan rp = r < plan.rounds.size() ? plan.rounds[r] : RoundPlan{};
    if (last) {
      const bool fail = plan.inference_error;
      inference_round(b, root, agent, messages, {plan.final_answer, "end_of_turn", {}}, rp, fail);
      gap();
      if (fail) {
        log_event(b, root, "Error in agent turn: ConnectError: All connection attempts failed", "error");
        stopped = true;
        break;
      }
      PyValue answer = assistant_msg(plan.final_answer, "end_of_turn", {});
      messages.add(answer);
      new_history.push_back(std::move(answer));
      break;
    }
    const ToolCallPlan& call = plan.tool_calls[r];
    const PyValue cv = tool_call_value(call);
    inference_round(b, root, agent, messages, {"", "end_of_message", {cv}}, rp, false);
    gap();
    tool_execution(b, root, call, cv);
    gap();
    PyValue asked = assistant_msg("", "end_of_message", {cv});
    PyValue answered = tool_msg(call.call_id, call.fail_429 ? std::string("Error when running tool: ") + kTavily429
                                                            : call.result);
    messages.add(asked);
    messages.add(answered);
    new_history.push_back(std::move(asked));
    new_history.push_back(std::move(answered));
  }
  if (!stopped && !agent.shields.empty()) {
    run_shields(b, root, agent.shields, new_history.back(), plan.violation == V::kOutput,
                plan.force_nested_guard_model, plan.output_shields);
    gap();
  }
  if (plan.completion_log) {
    log_event(b, root, "Turn " + turn_id + " completed in " + std::to_string((b.now() - start) / kMicrosPerMs) + " ms",
              "info");
  }
  b.end(root, turn_root_attrs(agent, session, plan, turn_id, user));
  for (auto& m : new_history) session.history.push_back(std::move(m));
  ++session.turns;
  return finish(b);
}

TraceRec Shapes::random_agent_turn(int64_t start_us, double snap_p) {
  const size_t index = static_cast<size_t>(rng_.below(sessions.size()));
  const AgentProfile& agent = agents[sessions[index].agent];
  TraceBuilder b(rng_, start_us, snap_p, false);
  TraceRec t = agent_turn(b, agent, sessions[index], random_turn_plan(agent));
  if (sessions[index].turns >= sessions[index].max_turns) sessions[index] = new_session(random_agent());
  return t;
}

TraceRec Shapes::chat_completion(TraceBuilder& b, const ModelInfo& m, bool stream, const std::string& question,
                                 const std::string& answer) {
  const Id root = b.begin("/v1/chat/completions", TraceBuilder::kNoParent);
  b.span(root).is_root = true;
  const bool library_client = !b.deterministic() && rng_.chance(0.1);
  b.step();
  PyValue messages = PyValue::list();
  if (!b.deterministic() && rng_.chance(0.3)) messages.add(system_msg());
  messages.add(PyValue::dict({{"role", S("user")}, {"content", S(question)}}));
  const std::string messages_repr = py_repr(messages);
  const std::string args = params_args(m.id, messages_repr, stream);
  const uint64_t prompt = estimate_tokens(json_dumps(messages).size());
  const uint64_t completion = 4 + answer.size() / 3 + (b.deterministic() ? 0 : rng_.below(400));
  const auto per_token = static_cast<int64_t>(completion) * kMicrosPerMs;
  const Id router = b.begin(kRouterChat, root);
  b.step();
  get_model(b, router, m);
  b.step();
  const Id adapter = b.begin(std::string(m.adapter) + ".openai_chat_completion", router);
  if (!b.deterministic() && rng_.chance(0.5)) {
    b.step();
    get_model(b, adapter, m);
  }
  if (stream) {
    b.advance(2 * kMicrosPerMs, 30 * kMicrosPerMs);
  } else {
    b.advance(100 * kMicrosPerMs + 8 * per_token, 150 * kMicrosPerMs + 30 * per_token);
  }
  const std::string out = stream ? async_gen_output(rng_) : chat_completion_output(rng_, m.id);
  b.end(adapter, with(autotraced(m.adapter, "openai_chat_completion", "async", args), "output", S(out)));
  b.step();
  // Non-streaming: the router logs the token metrics itself before returning.
  if (!stream) token_events(b, router, m, prompt, completion);
  b.end(router, with(autotraced("InferenceRouter", "openai_chat_completion", "async", args), "output", S(out)));
  if (stream) {
    b.step();
    const Id st = b.begin(kStreamSpan, root);
    b.advance(50 * kMicrosPerMs + 8 * per_token, 60 * kMicrosPerMs + 30 * per_token);
    token_events(b, st, m, prompt, completion);
    b.end(st, with(autotraced("InferenceRouter", "stream_tokens_and_compute_metrics_openai_chat", "async_generator",
                              stream_args(m, messages_repr)),
                   "chunk_count", S(std::to_string(completion / 3 + 1))));
  }
  b.step();
  b.end(root, root_attrs(library_client, "/v1/chat/completions"));
  return finish(b);
}

TraceRec Shapes::random_chat_completion(int64_t start_us, double snap_p) {
  TraceBuilder b(rng_, start_us, snap_p, false);
  const QA& qa = rng_.pick(corpus());
  const ModelInfo& m = rng_.pick(chat_models());
  return chat_completion(b, m, rng_.chance(0.3), qa.question, qa.answer);
}

TraceRec Shapes::agent_session(int64_t start_us, double snap_p) {
  const size_t agent = random_agent();
  SessionState s = new_session(agent);
  TraceBuilder b(rng_, start_us, snap_p, false);
  const Id root = b.begin("create_agent_session", TraceBuilder::kNoParent);
  b.span(root).is_root = true;
  b.advance(1 * kMicrosPerMs, 5 * kMicrosPerMs);
  b.end(root, root_attrs(false, "/v1/agents/" + agents[agent].agent_id + "/session"));
  // The new session replaces a random one, so later turns continue it.
  sessions[static_cast<size_t>(rng_.below(sessions.size()))] = std::move(s);
  return finish(b);
}

TraceRec Shapes::list_models(int64_t start_us, double snap_p) {
  TraceBuilder b(rng_, start_us, snap_p, false);
  const Id root = b.begin("/v1/models", TraceBuilder::kNoParent);
  b.span(root).is_root = true;
  b.step();
  const Id list = b.begin("ModelsRoutingTable.list_models", root);
  b.advance(2 * kMicrosPerMs, 20 * kMicrosPerMs);
  PyValue data = PyValue::list();
  for (const ModelInfo& m : chat_models()) data.add(PyValue::dict({{"identifier", S(m.id)}}));
  data.add(PyValue::dict({{"identifier", S(kGuardModel.id)}}));
  b.end(list, with(autotraced("ModelsRoutingTable", "list_models", "async", "{}"), "output",
                   S(py_repr(PyValue::dict({{"data", data}})))));
  b.step();
  b.end(root, root_attrs(false, "/v1/models"));
  return finish(b);
}

TraceRec Shapes::create_agent(int64_t start_us, double snap_p) {
  TraceBuilder b(rng_, start_us, snap_p, false);
  const Id root = b.begin("create_agent", TraceBuilder::kNoParent);
  b.span(root).is_root = true;
  b.advance(1 * kMicrosPerMs, 6 * kMicrosPerMs);
  b.end(root, root_attrs(false, "/v1/agents"));
  if (agents.size() < 16) {
    agents.push_back(make_agent(&rng_.pick(chat_models()), {"llama-guard"}, {&rng_.pick(all_tools())},
                                kAgentNames[rng_.below(std::size(kAgentNames))]));
  }
  return finish(b);
}

TraceRec Shapes::list_tools_api(int64_t start_us, double snap_p) {
  TraceBuilder b(rng_, start_us, snap_p, false);
  const Id root = b.begin("/v1/tool-runtime/list-tools", TraceBuilder::kNoParent);
  b.span(root).is_root = true;
  b.step();
  list_tools(b, root, rng_.pick(all_tools()), Deadline{});
  b.step();
  b.end(root, root_attrs(false, "/v1/tool-runtime/list-tools"));
  return finish(b);
}

// An HTTP client span from another service's OpenTelemetry instrumentation that shares the
// collector: no Llama Stack attributes, status UNSET, kind CLIENT.
TraceRec Shapes::foreign_client_call(int64_t start_us) {
  TraceBuilder b(rng_, start_us, 0.0, false);
  const Id span = b.begin("POST", TraceBuilder::kNoParent);
  b.span(span).status = "UNSET";
  b.span(span).kind = "CLIENT";
  b.advance(300 * kMicrosPerMs, 1000 * kMicrosPerMs);
  b.end(span,
        {{"http.request.method", S("POST")},
         {"url.full", S("http://localhost:8000/v1/chat/completions")},
         {"http.response.status_code", PyValue::integer(200)},
         {"server.port", PyValue::integer(8000)}},
        false);
  return finish(b);
}

}  // namespace tracedrop::testdata::detail
