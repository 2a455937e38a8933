// Test instrumentation loaded before web/worker.mjs (see spy_worker.mjs). It changes nothing
// until told to through the BroadcastChannel "tracedrop-spy" by a message {tag, op} whose tag
// is this worker's (the `tag` query parameter of its URL); answers go back on the channel:
//
//   {op: "log"}                   -> {tag, log}: every message the worker posted with a transfer
//       list: its type, id, and each transferred buffer's byteLength after postMessage
//       returned (0: the buffer was detached, i.e. really transferred, not copied)
//   {op: "failNextCall", method}  -> {tag, armed}: the next Session[method] call throws a
//       WebAssembly.RuntimeError, as a module that trapped would
//   {op: "crashOnNextRequest"}    -> {tag, armed}: the next request never reaches the worker;
//       an uncaught error is thrown in the worker 50 ms later
import { Session } from "../../wasm/js/tracedrop.mjs";

const tag = new URL(self.location.href).searchParams.get("tag") || "";
const log = [];
const post = self.postMessage.bind(self);
self.postMessage = (message, transfer) => {
  post(message, transfer);
  if (transfer && transfer.length) {
    log.push({ type: message.type, id: message.id, after: transfer.map((b) => b.byteLength) });
  }
};

let crashOnNextRequest = false;
const channel = new BroadcastChannel("tracedrop-spy");
channel.onmessage = (event) => {
  const data = event.data;
  if (!data || data.tag !== tag) return;
  if (data.op === "log") channel.postMessage({ tag, log: log.splice(0) });
  if (data.op === "failNextCall") {
    const original = Session.prototype[data.method];
    Session.prototype[data.method] = function () {
      Session.prototype[data.method] = original;
      throw new WebAssembly.RuntimeError("unreachable (spy)");
    };
    channel.postMessage({ tag, armed: data.method });
  }
  if (data.op === "crashOnNextRequest") {
    crashOnNextRequest = true;
    channel.postMessage({ tag, armed: "crash" });
  }
};

// Registered before web/worker.mjs sets self.onmessage, so it runs first and can stop a request.
self.addEventListener("message", (event) => {
  if (crashOnNextRequest && event.data && event.data.type === "request") {
    crashOnNextRequest = false;
    event.stopImmediatePropagation();
    setTimeout(() => {
      throw new Error("spy: the worker crashed");
    }, 50);
  }
});
