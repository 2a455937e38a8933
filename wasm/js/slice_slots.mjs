// The shared control words of SliceReader (tracedrop.mjs) and its reading worker
// (slice_reader_worker.mjs): an Int32Array over a SharedArrayBuffer of CTRL_INTS words.
//   [STOP]        1: stop (set by the module's side)
//   [STATE + i]   slot i: 0 free, 1 holds slice [SLICE + i] ([LENGTH + i] bytes), 2 the read failed
export const STOP = 0, STATE = 1, LENGTH = 9, SLICE = 17, CTRL_INTS = 32;
