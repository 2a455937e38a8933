// The Embind facade: what JavaScript can call. It translates between JS values and the core's
// Session (core/include/tracedrop/session.h) and nothing more. Every method answers a plain
// object, {ok: true, value} or {ok: false, code, name, message}; nothing throws into JS.
#include <emscripten/bind.h>
#include <emscripten/emscripten.h>
#include <emscripten/val.h>

#include <cxxabi.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <typeinfo>

#include "file_vfs.h"
#include "warm_up.h"
#include "tracedrop/export.h"
#include "tracedrop/session.h"
#include "tracedrop/store.h"
#include "tracedrop/thread_counts.h"

using emscripten::val;

// Reads bytes of a registered JS file (wasm/js/pre.js: Module.tdFiles) into wasm memory.
// Returns the count read, or -1 with the reason kept in Module.tdLastReadError.
EM_JS(double, td_js_read, (int file_id, double offset, int length, unsigned char* dest, int slice), {
  try {
    return Module.tdReadFile(file_id, offset, length, dest, slice !== 0);
  } catch (e) {
    Module.tdLastReadError = (e && (e.name ? e.name + ": " : "") + (e.message || String(e))) || "read failed";
    return -1;
  }
});

EM_JS(char*, td_js_last_read_error, (), {
  const text = Module.tdLastReadError || "read failed";
  const size = lengthBytesUTF8(text) + 1;
  const ptr = _malloc(size);
  stringToUTF8(text, ptr, size);
  return ptr;
});

namespace tracedrop::wasm {
namespace {

class JsFileSource : public FileSource {
 public:
  explicit JsFileSource(int id) : id_(id) {}
  int64_t read(uint64_t offset, uint32_t len, unsigned char* dest, std::string& error) override {
    return read_js(offset, len, dest, error, false);
  }
  int64_t read_slice(uint64_t offset, uint32_t len, unsigned char* dest, std::string& error) override {
    return read_js(offset, len, dest, error, true);
  }

 private:
  int64_t read_js(uint64_t offset, uint32_t len, unsigned char* dest, std::string& error, bool slice) {
    const double got = td_js_read(id_, static_cast<double>(offset), static_cast<int>(len), dest, slice ? 1 : 0);
    if (got < 0) {
      char* text = td_js_last_read_error();
      error = text;
      std::free(text);
      return -1;
    }
    return static_cast<int64_t>(got);
  }

  int id_;
};

val error_val(const Status& st) {
  val out = val::object();
  out.set("ok", false);
  out.set("code", static_cast<int>(st.code()));
  out.set("name", std::string(error_code_name(st.code())));
  out.set("message", st.message());
  return out;
}

val ok_val(const std::string& value) {
  val out = val::object();
  out.set("ok", true);
  out.set("value", value);
  return out;
}

Status not_open() { return Status(ErrorCode::kInvalidArgument, "no database is open: open a file first."); }

// Out of memory, said so (the message of guarded() and warm_up_module()).
Status out_of_memory() {
  return Status(ErrorCode::kTooLarge,
                "Out of memory: this needs more memory than a browser gives WebAssembly (at most 4 GB). "
                "For a file this big, use the tracedrop command line instead.");
}

// In a catch (...) block: whether the exception is std::bad_alloc (or bad_array_new_length).
// The threaded module needs this: with Emscripten 3.1.6, -pthread and -fwasm-exceptions, no
// typed catch clause matches (every exception lands in catch (...)), so the type is asked of
// the C++ runtime instead.
bool current_is_bad_alloc() {
  const std::type_info* t = abi::__cxa_current_exception_type();
  return t != nullptr && (*t == typeid(std::bad_alloc) || *t == typeid(std::bad_array_new_length));
}

// Runs `fn` (returning Result<std::string>) with every C++ exception turned into a Status.
template <typename Fn>
Result<std::string> guarded(Fn&& fn) {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return out_of_memory();
  } catch (const std::exception& e) {
    return Status(ErrorCode::kInternal, std::string("internal error: ") + e.what());
  } catch (...) {
    if (current_is_bad_alloc()) return out_of_memory();
    return Status(ErrorCode::kInternal, "internal error");
  }
}

// A JS callback's answer: anything but `false` continues.
bool keep_going(const val& answer) { return !(answer.isFalse()); }

class Session {
 public:
  ~Session() { close(); }

  val openBytes(val bytes, std::string name, std::string options, val on_progress) {
    close();
    use_crypto_randomness();
    return finish_open(guarded([&]() -> Result<std::string> {
      if (!bytes.instanceof(val::global("Uint8Array"))) {
        return Status(ErrorCode::kInvalidArgument, "openBytes needs the file's bytes as a Uint8Array.");
      }
      // Copied straight into a buffer of its own (no zero-filled string first): the image
      // the store reads in place.
      const auto size = bytes["length"].as<size_t>();
      std::unique_ptr<char[]> data(new char[size == 0 ? 1 : size]);  // std::bad_alloc: guarded() says why
      val(emscripten::typed_memory_view(size, reinterpret_cast<unsigned char*>(data.get()))).call<void>("set", bytes);
      return open_image(std::move(data), size, name, options, on_progress);
    }));
  }

  // The bytes path without the file's copy in JavaScript memory (Session.openCopied in
  // tracedrop.mjs): reserveBytes(size) closes the open file and answers the address (JSON
  // number text) of a buffer of `size` bytes in wasm memory, which JavaScript fills from the
  // file in slices; openReserved(name, options, onProgress) then opens it as openBytes does.
  // releaseBytes() frees a buffer that will not be opened (its file could not be read).
  val reserveBytes(double size) {
    close();
    const Result<std::string> r = guarded([&]() -> Result<std::string> {
      if (!(size >= 0) || size > 4.0e9) return Status(ErrorCode::kInvalidArgument, "invalid file size");
      const auto n = static_cast<size_t>(size);
      reserved_.reset(new char[n == 0 ? 1 : n]);  // std::bad_alloc: guarded() says why
      reserved_size_ = n;
      return std::to_string(reinterpret_cast<uintptr_t>(reserved_.get()));
    });
    return r.is_ok() ? ok_val(r.value()) : error_val(r.status());
  }

  void releaseBytes() {
    reserved_.reset();
    reserved_size_ = 0;
  }

  val openReserved(std::string name, std::string options, val on_progress) {
    std::unique_ptr<char[]> data = std::move(reserved_);
    const size_t size = reserved_size_;
    reserved_size_ = 0;
    close();
    use_crypto_randomness();
    return finish_open(guarded([&]() -> Result<std::string> {
      if (!data) return Status(ErrorCode::kInvalidArgument, "openReserved needs reserveBytes first.");
      return open_image(std::move(data), size, name, options, on_progress);
    }));
  }

  val openFile(int file_id, double size, std::string name, std::string options, val on_progress) {
    close();
    use_crypto_randomness();
    return finish_open(guarded([&]() -> Result<std::string> {
      TRACEDROP_RETURN_IF_ERROR(register_file_vfs());
      if (!(size >= 0) || size > 9.0e15) return Status(ErrorCode::kInvalidArgument, "invalid file size");
      vfs_name_ = add_file(std::make_shared<JsFileSource>(file_id), static_cast<uint64_t>(size));
      auto store = Store::open_vfs(vfs_name_, kFileVfsName, name);
      if (!store.is_ok()) return store.status();
      // The model is built from one pass over the file in large slices, straight from the
      // source (not through the VFS's block cache); SQLite reads through the VFS afterwards.
      // A failed read is the file's error (file_error), which finish_open reports.
      const std::string file = vfs_name_;
      auto read_file = [file](uint64_t offset, size_t n, char* out, std::string& error) -> int64_t {
        const int64_t got = read_file_bytes(file, offset, n, reinterpret_cast<unsigned char*>(out));
        if (got < 0) error = file_error(file);
        return got;
      };
      return build(std::move(store).value(), options, on_progress, read_file);
    }));
  }

  val summary() { return call([&]() -> Result<std::string> { return session_->summary(); }); }
  // How the open file's tables were read: {"one_pass": bool, "in_place": bool} (the one pass
  // over a large file's slices, or pages of bytes in memory read in place; neither: SQLite).
  val howRead() {
    return call([&]() -> Result<std::string> {
      const tracedrop::Model& m = session_->model();
      return std::string("{\"one_pass\":") + (m.read_in_one_pass() ? "true" : "false") +
             ",\"in_place\":" + (m.reads_in_place() ? "true" : "false") + "}";
    });
  }
  val traceList(std::string options) {
    return call([&]() { return session_->trace_list(options); });
  }
  val traceTree(std::string trace_id) {
    return call([&]() { return session_->trace_tree(trace_id); });
  }
  val span(std::string span_id) {
    return call([&]() { return session_->span(span_id); });
  }
  val search(std::string text, double limit, val on_progress) {
    return call([&]() {
      auto progress = [&](double fraction) { return on_progress.isUndefined() || keep_going(on_progress(fraction)); };
      return session_->search(text, limit > 0 ? static_cast<size_t>(limit) : 0, progress);
    });
  }
  val stats() { return call([&]() { return session_->stats(); }); }
  val conversation(std::string trace_id) {
    return call([&]() { return session_->conversation(trace_id); });
  }
  val queryTraces(std::string request) {
    return call([&]() { return session_->query_traces(request); });
  }
  val querySpans(std::string request) {
    return call([&]() { return session_->query_spans(request); });
  }
  val queryMetrics(std::string request) {
    return call([&]() { return session_->query_metrics(request); });
  }
  val sql(std::string statement, double max_rows) {
    return call([&]() { return session_->sql(statement, max_rows > 0 ? static_cast<size_t>(max_rows) : 0); });
  }

  // Streams the export to on_chunk(Uint8Array) in pieces of about chunk_bytes; on_progress(done,
  // total) may return false to cancel. Answers the summary JSON.
  val exportTraces(std::string request, val on_chunk, val on_progress, double chunk_bytes, bool copy) {
    return call([&]() -> Result<std::string> {
      const size_t chunk = chunk_bytes >= 4096 ? static_cast<size_t>(chunk_bytes) : size_t{1} << 20;
      const val uint8_array = val::global("Uint8Array");
      ChunkSink sink(
          [&](std::string_view piece) {
            val view(emscripten::typed_memory_view(piece.size(), reinterpret_cast<const unsigned char*>(piece.data())));
            // A copy by default (wasm memory may move, the chunk may be kept or transferred);
            // without, a view valid until on_chunk returns.
            on_chunk(copy ? uint8_array.new_(view) : view);
            return Status::ok();
          },
          chunk);
      auto progress = [&](uint64_t done, uint64_t total) {
        return on_progress.isUndefined() ||
               keep_going(on_progress(static_cast<double>(done), static_cast<double>(total)));
      };
      return session_->export_traces(request, sink, progress);
    });
  }

  // {reads, block_loads, blocks_filled, cache_hits, bytes_loaded} of the file opened through the VFS,
  // and {pass_reads, pass_bytes}: the slices the model's one pass read past the cache.
  val fileStats() {
    const FileVfsStats s = file_stats(vfs_name_);
    val out = val::object();
    out.set("reads", static_cast<double>(s.reads));
    out.set("block_loads", static_cast<double>(s.block_loads));
    out.set("blocks_filled", static_cast<double>(s.blocks_filled));
    out.set("cache_hits", static_cast<double>(s.cache_hits));
    out.set("bytes_loaded", static_cast<double>(s.bytes_loaded));
    out.set("pass_reads", static_cast<double>(s.pass_reads));
    out.set("pass_bytes", static_cast<double>(s.pass_bytes));
    return out;
  }

  void close() {
    session_.reset();
    if (!vfs_name_.empty()) remove_file(vfs_name_);
    vfs_name_.clear();
    releaseBytes();
  }

 private:
  // The file's bytes in wasm memory (openBytes, openReserved): the image the store reads in place.
  Result<std::string> open_image(std::unique_ptr<char[]> data, size_t size, const std::string& name,
                                 const std::string& options, val& on_progress) {
    auto store = Store::open_bytes(std::move(data), size, name);
    if (!store.is_ok()) return store.status();
    return build(std::move(store).value(), options, on_progress);
  }

  Result<std::string> build(std::unique_ptr<Store> store, const std::string& options, val& on_progress,
                            std::function<int64_t(uint64_t, size_t, char*, std::string&)> read_file = nullptr) {
    auto load = parse_open_options(options);
    if (!load.is_ok()) return load.status();
    if (read_file) load->read_file = std::move(read_file);
    load->progress = [&](double fraction) { return on_progress.isUndefined() || keep_going(on_progress(fraction)); };
    auto session = tracedrop::Session::open(std::move(store), *load);
    if (!session.is_ok()) return session.status();
    session_ = std::move(session).value();
    return session_->summary();
  }

  val finish_open(const Result<std::string>& result) {
    if (result.is_ok()) return ok_val(result.value());
    Status st = result.status();
    const std::string file_problem = vfs_name_.empty() ? std::string() : file_error(vfs_name_);
    close();
    return error_val(file_problem.empty() ? st : Status(ErrorCode::kIoError, file_problem));
  }

  // A request on the open session. Once the file failed to read, every answer is that failure:
  // even a request the core completed (an export skipping unreadable traces) would be partial.
  template <typename Fn>
  val call(Fn&& fn) {
    if (!session_) return error_val(not_open());
    Result<std::string> result = guarded(fn);
    const std::string file_problem = vfs_name_.empty() ? std::string() : file_error(vfs_name_);
    if (!file_problem.empty()) return error_val(Status(ErrorCode::kIoError, file_problem));
    return result.is_ok() ? ok_val(result.value()) : error_val(result.status());
  }

  std::unique_ptr<tracedrop::Session> session_;
  std::string vfs_name_;
  std::unique_ptr<char[]> reserved_;  // reserveBytes' buffer until openReserved takes it
  size_t reserved_size_ = 0;
};

val set_vfs_config(double block_size, double cache_bytes) {
  FileVfsConfig config;
  config.block_size = static_cast<uint32_t>(block_size);
  config.cache_bytes = static_cast<uint64_t>(cache_bytes);
  const Status st = set_file_vfs_config(config);
  return st.is_ok() ? ok_val("") : error_val(st);
}

// Module function warmUp(spans, rounds): builds models of a made-up database (warm_up.h) so
// that V8 optimises the model build's code before a file is dropped.
val warm_up_module(double spans, double rounds) {
  use_crypto_randomness();
  Result<std::string> r = [&]() -> Result<std::string> {
    try {
      return warm_up(static_cast<int>(spans), static_cast<int>(rounds));
    } catch (const std::exception& e) {
      return Status(ErrorCode::kInternal, std::string("warm-up: ") + e.what());
    } catch (...) {
      return current_is_bad_alloc() ? out_of_memory() : Status(ErrorCode::kInternal, "warm-up failed");
    }
  }();
  return r.is_ok() ? ok_val(r.value()) : error_val(r.status());
}

val vfs_config() {
  const FileVfsConfig c = file_vfs_config();
  val out = val::object();
  out.set("block_size", static_cast<double>(c.block_size));
  out.set("cache_bytes", static_cast<double>(c.cache_bytes));
  return out;
}

// {heap_top, in_use, free}: bytes of wasm memory below the heap's top (what the module has
// touched, at most), allocated now, and free inside it (holes the allocator can reuse).
val memory_stats() {
  const struct mallinfo m = mallinfo();
  val out = val::object();
  out.set("heap_top", static_cast<double>(reinterpret_cast<uintptr_t>(sbrk(0))));
  out.set("in_use", static_cast<double>(static_cast<unsigned>(m.uordblks)));
  out.set("free", static_cast<double>(static_cast<unsigned>(m.fordblks)));
  return out;
}

// {threads, started, refused}: whether this module has threads (tracedrop_mt), the core's
// helper threads started so far, and those it wanted but could not have (the pool was in use).
val thread_counts() {
  const ThreadCounts c = helper_thread_counts();
  val out = val::object();
#if defined(__EMSCRIPTEN_PTHREADS__)
  out.set("threads", true);
#else
  out.set("threads", false);
#endif
  out.set("started", static_cast<double>(c.started));
  out.set("refused", static_cast<double>(c.refused));
  return out;
}

}  // namespace
}  // namespace tracedrop::wasm

EMSCRIPTEN_BINDINGS(tracedrop) {
  using tracedrop::wasm::Session;
  emscripten::class_<Session>("Session")
      .constructor<>()
      .function("openBytes", &Session::openBytes)
      .function("openFile", &Session::openFile)
      .function("reserveBytes", &Session::reserveBytes)
      .function("releaseBytes", &Session::releaseBytes)
      .function("openReserved", &Session::openReserved)
      .function("summary", &Session::summary)
      .function("howRead", &Session::howRead)
      .function("traceList", &Session::traceList)
      .function("traceTree", &Session::traceTree)
      .function("span", &Session::span)
      .function("search", &Session::search)
      .function("stats", &Session::stats)
      .function("conversation", &Session::conversation)
      .function("queryTraces", &Session::queryTraces)
      .function("querySpans", &Session::querySpans)
      .function("queryMetrics", &Session::queryMetrics)
      .function("sql", &Session::sql)
      .function("exportTraces", &Session::exportTraces)
      .function("fileStats", &Session::fileStats)
      .function("close", &Session::close);
  emscripten::function("setVfsConfig", &tracedrop::wasm::set_vfs_config);
  emscripten::function("warmUp", &tracedrop::wasm::warm_up_module);
  emscripten::function("vfsConfig", &tracedrop::wasm::vfs_config);
  emscripten::function("threadCounts", &tracedrop::wasm::thread_counts);
  emscripten::function("memoryStats", &tracedrop::wasm::memory_stats);
}
