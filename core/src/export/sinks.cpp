#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>

#include "tracedrop/export.h"

#include "export/fast_deflate.h"
#include "util/helper_thread.h"

namespace tracedrop {

Status StringSink::write(std::string_view bytes) {
  out_.append(bytes.data(), bytes.size());
  bytes_ += bytes.size();
  return Status::ok();
}

ChunkSink::ChunkSink(Callback callback, size_t chunk_size) : callback_(std::move(callback)), chunk_size_(chunk_size) {}

Status ChunkSink::write(std::string_view bytes) {
  buffer_.append(bytes.data(), bytes.size());
  bytes_ += bytes.size();
  if (buffer_.size() >= chunk_size_) {
    Status st = callback_(buffer_);
    buffer_.clear();
    return st;
  }
  return Status::ok();
}

Status ChunkSink::close() {
  if (buffer_.empty()) return Status::ok();
  Status st = callback_(buffer_);
  buffer_.clear();
  return st;
}

// ---------------------------------------------------------------------------- FileSink

namespace {
constexpr size_t kFileBuffer = 1 << 20;

std::string write_error(const std::string& path, int err) {
  std::string msg = "Cannot write " + path + ": " + std::strerror(err) + ".";
  if (err == ENOSPC) msg += " The disk is full; free some space or write elsewhere with -o.";
  else if (err == EACCES || err == EROFS) msg += " Choose a writable location with -o.";
  return msg;
}
}  // namespace

Result<std::unique_ptr<FileSink>> FileSink::create(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return Status(ErrorCode::kIoError, path + " is a directory; give a file name with -o.");
  }
  std::unique_ptr<FileSink> sink(new FileSink());
  sink->path_ = path;
  // The temporary file sits beside the target so the final rename stays on one file system.
  sink->temp_path_ = path + ".partial-" + std::to_string(reinterpret_cast<uintptr_t>(sink.get()) & 0xffffff);
  FILE* f = std::fopen(sink->temp_path_.c_str(), "wb");
  if (!f) {
    const int err = errno;
    if (err == ENOENT) {
      return Status(ErrorCode::kIoError, "Cannot write " + path + ": its folder does not exist.");
    }
    if (err == EISDIR) return Status(ErrorCode::kIoError, path + " is a directory; give a file name with -o.");
    return Status(ErrorCode::kIoError, write_error(path, err));
  }
  sink->file_ = f;
  sink->buffer_.reserve(kFileBuffer);
  return sink;
}

FileSink::~FileSink() {
  if (file_) std::fclose(static_cast<FILE*>(file_));
  if (!committed_) std::remove(temp_path_.c_str());
}

Status FileSink::write(std::string_view bytes) {
  if (!file_) return Status(ErrorCode::kIoError, "write after close to " + path_);
  FILE* f = static_cast<FILE*>(file_);
  bytes_ += bytes.size();
  if (bytes.size() >= kFileBuffer / 4) {
    // A large piece (a batch of rendered spans) goes out as it is, without a copy through
    // the buffer: what is buffered first, to keep the order.
    if (!buffer_.empty() && std::fwrite(buffer_.data(), 1, buffer_.size(), f) != buffer_.size()) {
      return Status(ErrorCode::kIoError, write_error(path_, errno));
    }
    buffer_.clear();
    if (std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) {
      return Status(ErrorCode::kIoError, write_error(path_, errno));
    }
    return Status::ok();
  }
  buffer_.append(bytes.data(), bytes.size());
  if (buffer_.size() >= kFileBuffer) {
    if (std::fwrite(buffer_.data(), 1, buffer_.size(), f) != buffer_.size()) {
      return Status(ErrorCode::kIoError, write_error(path_, errno));
    }
    buffer_.clear();
  }
  return Status::ok();
}

Status FileSink::close() {
  if (!file_) return Status::ok();
  FILE* f = static_cast<FILE*>(file_);
  file_ = nullptr;
  const bool wrote = buffer_.empty() || std::fwrite(buffer_.data(), 1, buffer_.size(), f) == buffer_.size();
  const int err = errno;
  buffer_.clear();
  const bool closed = std::fclose(f) == 0;
  if (!wrote || !closed) return Status(ErrorCode::kIoError, write_error(path_, wrote ? errno : err));
  return Status::ok();
}

Status FileSink::commit() {
  TRACEDROP_RETURN_IF_ERROR(close());
  if (std::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    return Status(ErrorCode::kIoError, write_error(path_, errno));
  }
  committed_ = true;
  return Status::ok();
}

// ---------------------------------------------------------------------------- GzipSink

namespace {
constexpr size_t kGzipBlock = 1 << 20;    // input per deflate block
constexpr size_t kGzipDict = 32 * 1024;   // deflate's window: the dictionary of the next block
constexpr size_t kGzipWindow = 4;         // blocks in flight at most (bounds memory)

// One block: its input, the dictionary before it, and once compressed its raw deflate bytes.
struct GzipBlock {
  std::string input, dict, output;
  size_t input_len = 0;
  bool last = false;
  bool done = false;
  bool failed = false;
  uLong crc = 0;
};

// A raw deflate stream (no wrapper), reset for each block: level 1 is our FastDeflater, the
// other levels zlib's.
class Deflater {
 public:
  explicit Deflater(int level) : fast_(level == 1) {
    if (!fast_) ok_ = deflateInit2(&zs_, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK;
  }
  ~Deflater() {
    if (ok_) deflateEnd(&zs_);
  }
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;

  // Compresses the block: byte-aligned end (Z_SYNC_FLUSH) unless it is the last (Z_FINISH).
  void run(GzipBlock& b) {
    b.input_len = b.input.size();
    b.crc = crc32(0L, reinterpret_cast<const Bytef*>(b.input.data()), static_cast<uInt>(b.input.size()));
    if (fast_) {
      b.output.clear();
      fast_deflater_.run(b.dict, b.input, b.last, b.output);
      b.failed = false;
    } else {
      b.failed = !run_zlib(b);
    }
    std::string().swap(b.input);
    std::string().swap(b.dict);
  }

 private:
  bool run_zlib(GzipBlock& b) {
    if (!ok_ || deflateReset(&zs_) != Z_OK ||
        (!b.dict.empty() && deflateSetDictionary(&zs_, reinterpret_cast<const Bytef*>(b.dict.data()),
                                                 static_cast<uInt>(b.dict.size())) != Z_OK))
      return false;
    b.output.resize(deflateBound(&zs_, static_cast<uLong>(b.input.size())) + 16);
    zs_.next_in = reinterpret_cast<Bytef*>(b.input.data());
    zs_.avail_in = static_cast<uInt>(b.input.size());
    zs_.next_out = reinterpret_cast<Bytef*>(b.output.data());
    zs_.avail_out = static_cast<uInt>(b.output.size());
    const int rc = deflate(&zs_, b.last ? Z_FINISH : Z_SYNC_FLUSH);
    b.output.resize(b.output.size() - zs_.avail_out);
    return b.last ? rc == Z_STREAM_END : (rc == Z_OK && zs_.avail_in == 0);
  }

  z_stream zs_{};
  FastDeflater fast_deflater_;  // its buffers serve every block this Deflater compresses
  bool fast_ = false;
  bool ok_ = false;
};
}  // namespace

struct GzipSink::Impl {
  int level = 6;
  std::string in, prev_tail;  // the block being filled; the last 32 KiB of the one before
  uLong crc = 0;
  uint64_t total_in = 0;
  Deflater here;
  // Blocks handed over, oldest first; written to the inner sink in this order.
  std::deque<std::shared_ptr<GzipBlock>> blocks;
  std::deque<std::shared_ptr<GzipBlock>> queue;  // not yet taken by a compressor

  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  HelperThread worker;  // stopped by the destructor, before the members its loop uses go

  explicit Impl(int lvl) : level(lvl), here(lvl) {}
  ~Impl() { worker.stop(mu, cv, stop); }

  void worker_loop() {
    Deflater mine(level);
    std::unique_lock<std::mutex> lock(mu);
    for (;;) {
      cv.wait(lock, [&] { return stop || !queue.empty(); });
      if (stop) return;
      compress_next(lock, mine);
    }
  }

  // Takes the next queued block and compresses it with `d`, the lock released meanwhile.
  void compress_next(std::unique_lock<std::mutex>& lock, Deflater& d) {
    std::shared_ptr<GzipBlock> b = queue.front();
    queue.pop_front();
    lock.unlock();
    d.run(*b);
    lock.lock();
    b->done = true;
    cv.notify_all();
  }

  // Hands the filled block over (compressed here at once without a second thread).
  void submit(bool last) {
    auto b = std::make_shared<GzipBlock>();
    b->input.swap(in);
    b->dict = prev_tail;
    b->last = last;
    // Every block but the last is a whole kGzipBlock, longer than the window.
    const size_t keep = std::min(kGzipDict, b->input.size());
    prev_tail.assign(b->input, b->input.size() - keep, keep);
    if (!worker.running()) {
      here.run(*b);
      b->done = true;
      blocks.push_back(std::move(b));
      return;
    }
    std::lock_guard<std::mutex> lock(mu);
    blocks.push_back(b);
    queue.push_back(std::move(b));
    cv.notify_all();
  }

  // Writes the finished blocks at the front; with `all`, or while too many are in flight,
  // compresses queued blocks here too and waits for the worker's.
  Status drain(Sink& inner, bool all) {
    for (;;) {
      std::shared_ptr<GzipBlock> front;
      {
        std::unique_lock<std::mutex> lock(mu);
        if (blocks.empty()) return Status::ok();
        const bool must = all || blocks.size() > kGzipWindow;
        if (!blocks.front()->done) {
          if (!must) return Status::ok();
          if (!queue.empty()) {  // help: compress the next queued block here
            compress_next(lock, here);
          } else {
            cv.wait(lock, [&] { return blocks.front()->done; });
          }
          continue;
        }
        front = std::move(blocks.front());
        blocks.pop_front();
      }
      if (front->failed) return Status(ErrorCode::kInternal, "zlib could not compress the export");
      crc = crc32_combine(crc, front->crc, static_cast<z_off_t>(front->input_len));
      total_in += front->input_len;
      TRACEDROP_RETURN_IF_ERROR(inner.write(front->output));
    }
  }
};

GzipSink::GzipSink(Sink& inner) : inner_(inner) {}

Result<std::unique_ptr<GzipSink>> GzipSink::create(Sink& inner, int level, bool threads) {
  if (level < 0 || level > 9) return Status(ErrorCode::kInvalidArgument, "gzip level must be 0-9");
  std::unique_ptr<GzipSink> sink(new GzipSink(inner));
  sink->impl_.reset(new Impl(level));
  Impl& im = *sink->impl_;
  // Without a helper thread each block is compressed in write().
  im.worker.start(threads, [&im] { im.worker_loop(); });
  // The gzip header (RFC 1952): deflate, no name, no time, Unix.
  static const char kHeader[10] = {'\x1f', '\x8b', 8, 0, 0, 0, 0, 0, 0, 3};
  TRACEDROP_RETURN_IF_ERROR(inner.write(std::string_view(kHeader, sizeof kHeader)));
  im.in.reserve(kGzipBlock);
  return sink;
}

GzipSink::~GzipSink() = default;

Status GzipSink::write(std::string_view bytes) {
  if (finished_) return Status(ErrorCode::kInternal, "write after close");
  Impl& im = *impl_;
  bytes_ += bytes.size();
  while (!bytes.empty()) {
    const size_t take = std::min(bytes.size(), kGzipBlock - im.in.size());
    im.in.append(bytes.data(), take);
    bytes.remove_prefix(take);
    if (im.in.size() == kGzipBlock) {
      im.submit(false);
      TRACEDROP_RETURN_IF_ERROR(im.drain(inner_, false));
      im.in.reserve(kGzipBlock);
    }
  }
  return Status::ok();
}

Status GzipSink::close() {
  if (finished_) return Status::ok();
  finished_ = true;
  Impl& im = *impl_;
  im.submit(true);
  TRACEDROP_RETURN_IF_ERROR(im.drain(inner_, true));
  // The trailer: CRC-32 and length mod 2^32 of the uncompressed data, little-endian.
  char trailer[8];
  const auto crc = static_cast<uint32_t>(im.crc);
  const auto len = static_cast<uint32_t>(im.total_in & 0xffffffffu);
  for (int i = 0; i < 4; ++i) {
    trailer[i] = static_cast<char>((crc >> (8 * i)) & 0xff);
    trailer[4 + i] = static_cast<char>((len >> (8 * i)) & 0xff);
  }
  TRACEDROP_RETURN_IF_ERROR(inner_.write(std::string_view(trailer, sizeof trailer)));
  return inner_.close();
}

}  // namespace tracedrop
