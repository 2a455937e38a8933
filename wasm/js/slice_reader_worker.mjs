// A worker that reads a File ahead for the model's one pass (tracedrop.mjs:
// SliceReader): slices of `sliceBytes` from the start, in order, into `slots`
// places of a SharedArrayBuffer, while the module's worker builds the model from the slices
// before them. Reading a slice with FileReaderSync takes about as long as building from it,
// so the two overlap instead of taking turns.
//
// A worker started by a worker only gets going, and only gets its messages, while its
// parent's event loop runs, and the open is one synchronous call: so the reader is started
// ({type: "ready"}) and given the file ({type: "started", job}) before the open. Each message
// is one file's job; a job ends at its last slice or at the stop word.
// The control words are described in slice_slots.mjs.
import { STATE, LENGTH, SLICE, STOP } from "./slice_slots.mjs";

self.onmessage = (event) => {
  const { job, file, data, ctrl: ctrlBuffer, sliceBytes, slots } = event.data;
  const ctrl = new Int32Array(ctrlBuffer);
  // Said before the loop (which holds this thread until the job ends): the module's side
  // waits for it, asynchronously, before its one synchronous open.
  self.postMessage({ type: "started", job });
  const bytes = new Uint8Array(data);
  const reader = new FileReaderSync();
  const count = Math.ceil(file.size / sliceBytes);
  for (let k = 0; k < count; k++) {
    const slot = k % slots;
    // Wait for the slot to be handed back (or for the stop).
    while (Atomics.load(ctrl, STOP) === 0 && Atomics.load(ctrl, STATE + slot) !== 0) {
      Atomics.wait(ctrl, STATE + slot, Atomics.load(ctrl, STATE + slot), 1000);
    }
    if (Atomics.load(ctrl, STOP) !== 0) break;
    const start = k * sliceBytes;
    const end = Math.min(file.size, start + sliceBytes);
    try {
      const got = new Uint8Array(reader.readAsArrayBuffer(file.slice(start, end)));
      bytes.set(got, slot * sliceBytes);
      Atomics.store(ctrl, LENGTH + slot, got.length);
      Atomics.store(ctrl, SLICE + slot, k);
      Atomics.store(ctrl, STATE + slot, 1);
    } catch {
      // The module's side reads this slice itself and meets the error with its message.
      Atomics.store(ctrl, SLICE + slot, k);
      Atomics.store(ctrl, STATE + slot, 2);
      Atomics.notify(ctrl, STATE + slot);
      break;
    }
    Atomics.notify(ctrl, STATE + slot);
  }
};
self.postMessage({ type: "ready" });
