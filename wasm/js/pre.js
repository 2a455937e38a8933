// Prepended to tracedrop.js (--pre-js): the JS half of the file VFS (wasm/src/file_vfs.cpp).
// Files are registered by id with a source {size, read(offset, length) -> Uint8Array,
// readSlice?(offset, length) -> Uint8Array}; the
// VFS's reads (td_js_read in bridge.cpp) copy the returned bytes into wasm memory.
Module["tdFiles"] = new Map();
// `slice`: a read of the model's one pass over the file (consecutive large slices), which a
// source may serve from slices it read ahead (readSlice); other reads are SQLite's, through the VFS.
Module["tdReadFile"] = function (id, offset, length, dest, slice) {
  var source = Module["tdFiles"].get(id);
  if (!source) throw new Error("file " + id + " is not registered");
  var bytes = slice && source.readSlice ? source.readSlice(offset, length) : source.read(offset, length);
  if (!(bytes instanceof Uint8Array)) bytes = new Uint8Array(bytes);
  if (bytes.length > length) bytes = bytes.subarray(0, length);
  HEAPU8.set(bytes, dest >>> 0);  // pointers above 2 GiB arrive negative
  return bytes.length;
};
