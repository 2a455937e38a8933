#include "file_vfs.h"

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <list>
#include <map>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace tracedrop::wasm {
namespace {

struct Entry {
  std::shared_ptr<FileSource> source;
  uint64_t size = 0;
  std::string error;  // set once reading failed; every later read fails too
  FileVfsStats stats;
};

struct Registry {
  std::mutex mutex;
  std::map<std::string, std::shared_ptr<Entry>> files;
  uint64_t next_id = 1;
  FileVfsConfig config;
};

Registry& registry() {
  static Registry r;
  return r;
}

std::shared_ptr<Entry> find_entry(const std::string& name) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto it = r.files.find(name);
  return it == r.files.end() ? nullptr : it->second;
}

struct Block {
  uint64_t index = 0;
  std::vector<unsigned char> bytes;
};

// One open handle: SQLite allocates sqlite3_vfs::szOsFile bytes and we construct this in them.
struct OpenFile {
  sqlite3_file base;  // first member: SQLite sees a sqlite3_file*
  std::shared_ptr<Entry> entry;
  uint32_t block_size = 0;
  size_t max_blocks = 1;
  std::list<Block> lru;  // most recently used first
  std::unordered_map<uint64_t, std::list<Block>::iterator> by_index;
  // Read-ahead: misses that move forward through the file (SQLite scanning a table) fetch
  // several blocks with one source read. Each read of a browser File costs ~1.5 ms whatever
  // its size up to ~1 MiB, so a scan in 64 KiB reads spends most of its time in call overhead.
  uint64_t last_miss = UINT64_MAX;
  uint32_t ahead = 1;      // blocks fetched by the next forward miss
  uint32_t max_ahead = 1;  // at most a quarter of the cache, at most 4 MiB
  std::vector<unsigned char> run;  // one read-ahead's bytes

  // The block holding `index`, loaded on a miss (evicting the least recently used ones).
  const Block* block(uint64_t index) {
    auto it = by_index.find(index);
    if (it != by_index.end()) {
      lru.splice(lru.begin(), lru, it->second);
      ++entry->stats.cache_hits;
      return &lru.front();
    }
    // Forward: past the last block loaded, by at most 4 blocks or the current read-ahead. The
    // sparse tables (traces, span_events: their pages lie between the spans pages) then read
    // what they skip too, which costs bytes but far fewer calls: measured on a 1 GB file in
    // Chromium, 15-17 s to the trace list against 20-22 s when only adjacent misses read ahead
    // and 33-45 s without read-ahead (bench/README).
    const bool forward = last_miss != UINT64_MAX && index > last_miss &&
                         index - last_miss <= std::max<uint64_t>(4, ahead);
    ahead = forward ? std::min(ahead * 2, max_ahead) : 1;
    // The run: this block and the following ones up to the first cached one or the end.
    const uint64_t blocks_in_file = (entry->size + block_size - 1) / block_size;
    uint32_t n = 1;
    while (n < ahead && index + n < blocks_in_file && !by_index.count(index + n)) ++n;
    last_miss = index + n - 1;
    const uint64_t start = index * block_size;
    const auto length = static_cast<uint32_t>(std::min<uint64_t>(uint64_t{n} * block_size, entry->size - start));
    unsigned char* dest = nullptr;
    Block single;
    if (n == 1) {
      single = take_buffer();
      single.bytes.resize(length);
      dest = single.bytes.data();
    } else {
      run.resize(length);
      dest = run.data();
    }
    std::string why;
    const int64_t got = entry->source->read(start, length, dest, why);
    ++entry->stats.block_loads;
    if (got != static_cast<int64_t>(length)) {
      if (got >= 0) {
        why = "it now ends at byte " + std::to_string(start + static_cast<uint64_t>(got)) + " of the " +
              std::to_string(entry->size) + " it had";
      }
      entry->error = "The file changed or was removed after it was chosen (" + why +
                     "), so it can no longer be read consistently. Drop the file again to reopen it.";
      return nullptr;
    }
    entry->stats.bytes_loaded += length;
    entry->stats.blocks_filled += n;
    if (n == 1) {
      single.index = index;
      insert(std::move(single));
      return &lru.front();
    }
    // Later blocks first, so the one asked for ends up most recently used.
    for (uint32_t k = n; k-- > 0;) {
      Block b = take_buffer();
      b.index = index + k;
      const uint64_t from = uint64_t{k} * block_size;
      b.bytes.assign(run.begin() + static_cast<std::ptrdiff_t>(from),
                     run.begin() + static_cast<std::ptrdiff_t>(std::min<uint64_t>(from + block_size, length)));
      insert(std::move(b));
    }
    return &lru.front();
  }

 private:
  // A block buffer to fill: the least recently used one when the cache is full.
  Block take_buffer() {
    Block b;
    if (lru.size() >= max_blocks) {
      b = std::move(lru.back());
      by_index.erase(b.index);
      lru.pop_back();
    }
    return b;
  }

  void insert(Block b) {
    const uint64_t index = b.index;
    lru.push_front(std::move(b));
    by_index[index] = lru.begin();
  }
};

OpenFile* as_open(sqlite3_file* f) { return reinterpret_cast<OpenFile*>(f); }

int x_close(sqlite3_file* f) {
  as_open(f)->~OpenFile();
  return SQLITE_OK;
}

int x_read(sqlite3_file* f, void* out, int amount, sqlite3_int64 offset) {
  OpenFile* file = as_open(f);
  Entry& entry = *file->entry;
  ++entry.stats.reads;
  if (!entry.error.empty()) return SQLITE_IOERR_READ;
  auto* dest = static_cast<unsigned char*>(out);
  const auto want = static_cast<uint64_t>(amount);
  auto pos = static_cast<uint64_t>(offset);
  const uint64_t end = pos + want;
  const uint64_t avail_end = std::min(end, entry.size);
  while (pos < avail_end) {
    const uint64_t index = pos / file->block_size;
    const Block* b = nullptr;
    try {
      b = file->block(index);
    } catch (...) {  // std::bad_alloc: never let an exception unwind through SQLite's C frames
      return SQLITE_IOERR_NOMEM;
    }
    if (!b) return SQLITE_IOERR_READ;
    const uint64_t in_block = pos - index * file->block_size;
    const uint64_t n = std::min<uint64_t>(avail_end - pos, b->bytes.size() - in_block);
    std::memcpy(dest, b->bytes.data() + in_block, static_cast<size_t>(n));
    dest += n;
    pos += n;
  }
  if (pos < end) {
    // Past the end of the file: SQLite expects zeros and a short-read code.
    std::memset(dest, 0, static_cast<size_t>(end - pos));
    return SQLITE_IOERR_SHORT_READ;
  }
  return SQLITE_OK;
}

int x_write(sqlite3_file*, const void*, int, sqlite3_int64) { return SQLITE_READONLY; }
int x_truncate(sqlite3_file*, sqlite3_int64) { return SQLITE_READONLY; }
int x_sync(sqlite3_file*, int) { return SQLITE_OK; }

int x_file_size(sqlite3_file* f, sqlite3_int64* size) {
  *size = static_cast<sqlite3_int64>(as_open(f)->entry->size);
  return SQLITE_OK;
}

int x_lock(sqlite3_file*, int) { return SQLITE_OK; }
int x_unlock(sqlite3_file*, int) { return SQLITE_OK; }
int x_check_reserved_lock(sqlite3_file*, int* out) {
  *out = 0;
  return SQLITE_OK;
}
int x_file_control(sqlite3_file*, int, void*) { return SQLITE_NOTFOUND; }
int x_sector_size(sqlite3_file*) { return 4096; }
int x_device_characteristics(sqlite3_file*) { return SQLITE_IOCAP_IMMUTABLE; }

const sqlite3_io_methods kIoMethods = {
    1,           x_close,         x_read,      x_write,
    x_truncate,  x_sync,          x_file_size, x_lock,
    x_unlock,    x_check_reserved_lock, x_file_control, x_sector_size,
    x_device_characteristics,
    nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};

int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  f->pMethods = nullptr;
  // Only the main database exists here: no journal, WAL or temporary file can be created.
  if (!name || !(flags & SQLITE_OPEN_MAIN_DB) || (flags & (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE))) {
    return SQLITE_CANTOPEN;
  }
  std::shared_ptr<Entry> entry = find_entry(name);
  if (!entry) return SQLITE_CANTOPEN;
  const FileVfsConfig config = file_vfs_config();
  auto* file = new (f) OpenFile();
  file->base.pMethods = &kIoMethods;
  file->entry = std::move(entry);
  file->block_size = config.block_size;
  file->max_blocks = static_cast<size_t>(std::max<uint64_t>(1, config.cache_bytes / config.block_size));
  file->max_ahead = static_cast<uint32_t>(
      std::clamp<uint64_t>(std::min<uint64_t>(file->max_blocks / 4, (4u << 20) / config.block_size), 1, 256));
  if (out_flags) *out_flags = SQLITE_OPEN_READONLY;
  return SQLITE_OK;
}

int x_delete(sqlite3_vfs*, const char*, int) { return SQLITE_IOERR_DELETE; }

int x_access(sqlite3_vfs*, const char* name, int, int* out) {
  // Only registered files exist: SQLite's probes for -journal / -wal find nothing.
  *out = find_entry(name) ? 1 : 0;
  return SQLITE_OK;
}

int x_full_pathname(sqlite3_vfs*, const char* name, int n, char* out) {
  if (static_cast<int>(std::strlen(name)) >= n) return SQLITE_CANTOPEN;
  std::strcpy(out, name);
  return SQLITE_OK;
}

sqlite3_vfs* host_vfs() {
  sqlite3_vfs* v = sqlite3_vfs_find(nullptr);
  return v && std::strcmp(v->zName, kFileVfsName) != 0 ? v : nullptr;
}

int x_randomness(sqlite3_vfs*, int n, char* out) {
  if (sqlite3_vfs* host = host_vfs()) return host->xRandomness(host, n, out);
  std::memset(out, 0, static_cast<size_t>(n));
  return n;
}

int x_sleep(sqlite3_vfs*, int microseconds) { return microseconds; }

int x_current_time(sqlite3_vfs*, double* out) {
  if (sqlite3_vfs* host = host_vfs()) return host->xCurrentTime(host, out);
  *out = 2440587.5;  // the Unix epoch as a Julian day
  return SQLITE_OK;
}

int x_get_last_error(sqlite3_vfs*, int, char*) { return 0; }

sqlite3_vfs make_vfs() {
  sqlite3_vfs v{};
  v.iVersion = 1;
  v.szOsFile = static_cast<int>(sizeof(OpenFile));
  v.mxPathname = 512;
  v.zName = kFileVfsName;
  v.xOpen = x_open;
  v.xDelete = x_delete;
  v.xAccess = x_access;
  v.xFullPathname = x_full_pathname;
  v.xRandomness = x_randomness;
  v.xSleep = x_sleep;
  v.xCurrentTime = x_current_time;
  v.xGetLastError = x_get_last_error;
  return v;
}

}  // namespace

Status register_file_vfs() {
  static sqlite3_vfs vfs = make_vfs();
  if (sqlite3_vfs_find(kFileVfsName)) return Status::ok();
  const int rc = sqlite3_vfs_register(&vfs, 0);
  if (rc != SQLITE_OK) {
    return Status(ErrorCode::kInternal, std::string("cannot register the SQLite VFS ") + kFileVfsName + ": " + sqlite3_errstr(rc));
  }
  return Status::ok();
}

Status set_file_vfs_config(const FileVfsConfig& config) {
  const uint32_t b = config.block_size;
  if (b < 512 || b > (16u << 20) || (b & (b - 1)) != 0) {
    return Status(ErrorCode::kInvalidArgument, "the VFS block size must be a power of two from 512 bytes to 16 MiB.");
  }
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.config = config;
  return Status::ok();
}

FileVfsConfig file_vfs_config() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  return r.config;
}

std::string add_file(std::shared_ptr<FileSource> source, uint64_t size) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  const std::string name = "/tracedrop-file/" + std::to_string(r.next_id++);
  auto entry = std::make_shared<Entry>();
  entry->source = std::move(source);
  entry->size = size;
  r.files[name] = std::move(entry);
  return name;
}

void remove_file(const std::string& name) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.files.erase(name);
}

std::string file_error(const std::string& name) {
  auto entry = find_entry(name);
  return entry ? entry->error : std::string();
}

int64_t read_file_bytes(const std::string& name, uint64_t offset, size_t n, unsigned char* out) {
  auto entry = find_entry(name);
  if (!entry) return -1;
  if (!entry->error.empty()) return -1;
  size_t done = 0;
  std::string why;
  while (done < n) {
    const auto want = static_cast<uint32_t>(std::min<size_t>(n - done, size_t{1} << 30));
    const int64_t got = entry->source->read_slice(offset + done, want, out + done, why);
    ++entry->stats.pass_reads;
    if (got != static_cast<int64_t>(want)) {
      if (got >= 0) {
        why = "it now ends at byte " + std::to_string(offset + done + static_cast<uint64_t>(got)) + " of the " +
              std::to_string(entry->size) + " it had";
      }
      entry->error = "The file changed or was removed after it was chosen (" + why +
                     "), so it can no longer be read consistently. Drop the file again to reopen it.";
      return -1;
    }
    done += want;
    entry->stats.pass_bytes += want;
  }
  return static_cast<int64_t>(done);
}

FileVfsStats file_stats(const std::string& name) {
  auto entry = find_entry(name);
  return entry ? entry->stats : FileVfsStats{};
}

namespace {

// SQLite seeds its PRNG from the default VFS's xRandomness the first time it needs random bytes
// (random(), CREATE TABLE in a writable database, ...). Emscripten's "unix" VFS reads
// /dev/urandom there, which without Emscripten's file system never succeeds and loops forever.
// So the default VFS becomes a copy of it whose xRandomness asks getentropy() (the JS crypto).
int random_bytes(sqlite3_vfs*, int n, char* out) {
  int done = 0;
  while (done < n) {
    const int chunk = std::min(256, n - done);  // getentropy's limit
    if (getentropy(out + done, static_cast<size_t>(chunk)) != 0) break;
    done += chunk;
  }
  return done;
}

}  // namespace

void use_crypto_randomness() {
  static bool done = false;
  if (done) return;
  done = true;
  static sqlite3_vfs vfs;
  sqlite3_vfs* base = sqlite3_vfs_find(nullptr);
  if (!base) return;
  vfs = *base;
  vfs.zName = "tracedrop-default";
  vfs.xRandomness = random_bytes;
  sqlite3_vfs_register(&vfs, 1);
}

}  // namespace tracedrop::wasm
