// Prepended to tracedrop.js (--pre-js): the JS half of the file VFS (wasm/src/file_vfs.cpp).
// Files are registered by id with a source {size, read(offset, length) -> Uint8Array}; the
// VFS's reads (td_js_read in bridge.cpp) copy the returned bytes into wasm memory.
Module["tdFiles"] = new Map();
Module["tdReadFile"] = function (id, offset, length, dest) {
  var source = Module["tdFiles"].get(id);
  if (!source) throw new Error("file " + id + " is not registered");
  var bytes = source.read(offset, length);
  if (!(bytes instanceof Uint8Array)) bytes = new Uint8Array(bytes);
  if (bytes.length > length) bytes = bytes.subarray(0, length);
  HEAPU8.set(bytes, dest >>> 0);  // pointers above 2 GiB arrive negative
  return bytes.length;
};
