#include <sys/stat.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "tracedrop/export.h"

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
constexpr size_t kGzipChunk = 256 * 1024;
}

GzipSink::GzipSink(Sink& inner) : inner_(inner) {}

Result<std::unique_ptr<GzipSink>> GzipSink::create(Sink& inner, int level) {
  std::unique_ptr<GzipSink> sink(new GzipSink(inner));
  auto* zs = new z_stream();
  // windowBits 15 + 16: a gzip wrapper, so `gunzip` and the validators read it.
  if (deflateInit2(zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    delete zs;
    return Status(ErrorCode::kInternal, "zlib could not start a gzip stream");
  }
  sink->stream_ = zs;
  sink->out_.resize(kGzipChunk);
  return sink;
}

GzipSink::~GzipSink() {
  if (stream_) {
    deflateEnd(static_cast<z_stream*>(stream_));
    delete static_cast<z_stream*>(stream_);
  }
}

Status GzipSink::pump(int flush) {
  auto* zs = static_cast<z_stream*>(stream_);
  zs->next_in = reinterpret_cast<Bytef*>(in_.data());
  zs->avail_in = static_cast<uInt>(in_.size());
  int rc;
  do {
    zs->next_out = reinterpret_cast<Bytef*>(out_.data());
    zs->avail_out = static_cast<uInt>(out_.size());
    rc = deflate(zs, flush);
    if (rc == Z_STREAM_ERROR) return Status(ErrorCode::kInternal, "zlib stream error");
    const size_t produced = out_.size() - zs->avail_out;
    if (produced) TRACEDROP_RETURN_IF_ERROR(inner_.write(std::string_view(out_.data(), produced)));
  } while (zs->avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
  in_.clear();
  return Status::ok();
}

Status GzipSink::write(std::string_view bytes) {
  if (finished_) return Status(ErrorCode::kInternal, "write after close");
  in_.append(bytes.data(), bytes.size());
  bytes_ += bytes.size();
  if (in_.size() >= kGzipChunk) return pump(Z_NO_FLUSH);
  return Status::ok();
}

Status GzipSink::close() {
  if (finished_) return Status::ok();
  finished_ = true;
  TRACEDROP_RETURN_IF_ERROR(pump(Z_FINISH));
  return inner_.close();
}

}  // namespace tracedrop
