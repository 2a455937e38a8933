// A worker that reads a File ahead for the model's one pass (tracedrop.mjs:
// SliceReader): slices of `sliceBytes` from the start, in order, into `slots`
// places of a SharedArrayBuffer, while the module's worker builds the model from the slices
// before them. Reading a slice takes about as long as building from it, so the two overlap
// instead of taking turns.
//
// The file is read as a stream into one buffer of this worker's own, handed back and forth
// with the stream (a "BYOB" reader): a FileReaderSync read makes a new ArrayBuffer each time,
// and those wait for the garbage collector, which let a 1 GB file's reads hold hundreds of MB
// of the page's memory at once. Where the stream cannot be read that way (or the job says
// stream: false), FileReaderSync it is; the "started" message says which ("stream"/"sync").
//
// A worker started by a worker only gets going, and only gets its messages, while its
// parent's event loop runs, and the open is one synchronous call: so the reader is started
// ({type: "ready"}) and given the file ({type: "started", job}) before the open. Each message
// is one file's job, run after the one before; a job ends at its last slice or at the stop word.
// The control words are described in slice_slots.mjs.
import { STATE, LENGTH, SLICE, STOP } from "./slice_slots.mjs";

/** Resolves once slot `slot` is free (true) or the stop word is set (false). */
async function slotFree(ctrl, slot) {
  for (;;) {
    if (Atomics.load(ctrl, STOP) !== 0) return false;
    const state = Atomics.load(ctrl, STATE + slot);
    if (state === 0) return true;
    if (typeof Atomics.waitAsync === "function") {
      const waited = Atomics.waitAsync(ctrl, STATE + slot, state, 1000);
      if (waited.async) await waited.value;
    } else {
      Atomics.wait(ctrl, STATE + slot, state, 1000);
    }
  }
}

/** Reads the file from its start, in order: `await next(n)` gives its next `n` bytes (fewer at the end); `how` says which way. */
function streamReader(file, sliceBytes, stream) {
  let reader = null;
  try {
    if (stream) reader = file.stream().getReader({ mode: "byob" });
  } catch {
    reader = null;  // not a byte stream here
  }
  if (reader) {
    let buffer = new ArrayBuffer(sliceBytes);
    return {
      how: "stream",
      async next(n) {
        let filled = 0;
        while (filled < n) {
          const { value, done } = await reader.read(new Uint8Array(buffer, filled, n - filled));
          if (value) buffer = value.buffer;  // the same memory, handed back
          if (done) break;
          filled += value.byteLength;
        }
        return new Uint8Array(buffer, 0, filled);
      },
      cancel() {
        reader.cancel().catch(() => {});
      },
    };
  }
  const sync = new FileReaderSync();
  let offset = 0;
  return {
    how: "sync",
    async next(n) {
      const end = Math.min(file.size, offset + n);
      const got = new Uint8Array(sync.readAsArrayBuffer(file.slice(offset, end)));
      offset = end;
      return got;
    },
    cancel() {},
  };
}

async function runJob({ job, file, data, ctrl: ctrlBuffer, sliceBytes, slots, stream = true }) {
  const ctrl = new Int32Array(ctrlBuffer);
  const bytes = new Uint8Array(data);
  const source = streamReader(file, sliceBytes, stream);
  // Said when the job begins: the module's side waits for it, asynchronously, before its one
  // synchronous open.
  self.postMessage({ type: "started", job, how: source.how });
  const count = Math.ceil(file.size / sliceBytes);
  for (let k = 0; k < count; k++) {
    const slot = k % slots;
    const want = Math.min(sliceBytes, file.size - k * sliceBytes);
    let got = null;
    try {
      got = await source.next(want);  // read while the module still works on earlier slices
    } catch {
      got = null;
    }
    if (!(await slotFree(ctrl, slot))) break;
    Atomics.store(ctrl, SLICE + slot, k);
    if (got === null || got.length === 0) {
      // The module's side reads this slice itself and meets the error with its message.
      Atomics.store(ctrl, STATE + slot, 2);
      Atomics.notify(ctrl, STATE + slot);
      break;
    }
    bytes.set(got, slot * sliceBytes);
    Atomics.store(ctrl, LENGTH + slot, got.length);
    Atomics.store(ctrl, STATE + slot, 1);
    Atomics.notify(ctrl, STATE + slot);
    // A short slice (the file shrank) is not what the module asks for: it reads it itself.
    if (got.length < want) break;
  }
  source.cancel();
}

let jobs = Promise.resolve();
self.onmessage = (event) => {
  const job = event.data;
  jobs = jobs.then(() => runJob(job)).catch(() => {});
};
self.postMessage({ type: "ready" });
