// A read-only SQLite VFS ("tracedrop-file") over files that live outside the wasm memory: the
// browser's File objects, read a block at a time on demand. The bytes come from a FileSource
// (the bridge's source calls JavaScript; native tests use a POSIX file), through an LRU block
// cache, so a multi-gigabyte database opens without being copied into memory.
// No Emscripten include: the VFS compiles and is tested natively too.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "tracedrop/status.h"

namespace tracedrop::wasm {

constexpr const char* kFileVfsName = "tracedrop-file";

class FileSource {
 public:
  virtual ~FileSource() = default;
  // Reads `len` bytes at `offset` into `dest`. Returns the number of bytes read (fewer only
  // when the file is shorter than it was), or -1 when reading failed; then `error` says why.
  virtual int64_t read(uint64_t offset, uint32_t len, unsigned char* dest, std::string& error) = 0;
  // The same, for the model's one pass over the file (consecutive large slices from the start),
  // which a source may have read ahead on another thread.
  virtual int64_t read_slice(uint64_t offset, uint32_t len, unsigned char* dest, std::string& error) {
    return read(offset, len, dest, error);
  }
};

struct FileVfsConfig {
  // Bytes fetched per source read: a power of two from 512 B (smaller than a page, so page
  // reads cross blocks: tests) to 16 MiB.
  uint32_t block_size = 64u << 10;
  uint64_t cache_bytes = 32ull << 20;  // LRU block cache per open file
};

struct FileVfsStats {
  uint64_t reads = 0;         // xRead calls
  uint64_t block_loads = 0;   // FileSource::read calls
  uint64_t blocks_filled = 0; // blocks those calls filled (more than one per call when reading ahead)
  uint64_t cache_hits = 0;    // blocks served from the cache
  uint64_t bytes_loaded = 0;  // bytes read from the source
  uint64_t pass_reads = 0;    // read_file_bytes calls to the source (the model's one pass)
  uint64_t pass_bytes = 0;    // bytes they read
};

// Registers the VFS with SQLite (once; not as the default VFS).
Status register_file_vfs();

// Makes the default SQLite VFS take its random bytes from getentropy() (the JS crypto).
// Emscripten's "unix" VFS reads /dev/urandom, which without Emscripten's file system never
// succeeds: SQLite's first need for randomness (random(), randomblob(), a new table in a
// writable database) would loop forever. Call before any connection is used; idempotent.
void use_crypto_randomness();
// Applies to files opened afterwards. kInvalidArgument for a block size that is not a power of
// two between 4 KiB and 16 MiB.
Status set_file_vfs_config(const FileVfsConfig& config);
FileVfsConfig file_vfs_config();

// Makes a source openable by SQLite under the returned name (through kFileVfsName). `size`
// is the file's size when it was chosen; a source that later reads short is a changed file.
std::string add_file(std::shared_ptr<FileSource> source, uint64_t size);
void remove_file(const std::string& name);
// Why reading the file failed ("" when it never did): a message for the user.
std::string file_error(const std::string& name);
FileVfsStats file_stats(const std::string& name);
// Reads n bytes at `offset` of the file straight from its source, past the block cache (the
// model's one pass over the file reads large slices once). Returns n, or -1 when the read
// failed or came short: the file's error (file_error) then says why, as for the VFS's reads.
int64_t read_file_bytes(const std::string& name, uint64_t offset, size_t n, unsigned char* out);

}  // namespace tracedrop::wasm
