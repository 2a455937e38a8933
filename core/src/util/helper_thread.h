// One helper thread for work that natively runs beside the calling thread (attribute check,
// span_events parsing, export rendering, gzip blocks). Never started in the single-threaded
// browser build (the threaded one, built with -pthread, has threads: __EMSCRIPTEN_PTHREADS__),
// nor on a single core, nor when the system refuses a thread (the threaded module's pool of
// workers is used up): the caller then does the work itself, and gets the same result.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

namespace tracedrop {

class HelperThread {
 public:
  HelperThread() = default;
  ~HelperThread() { join(); }
  HelperThread(const HelperThread&) = delete;
  HelperThread& operator=(const HelperThread&) = delete;

  // Runs `body` on the helper thread when `wanted` and possible; false when it does not run.
  bool start(bool wanted, std::function<void()> body) {
#if defined(__EMSCRIPTEN__) && !defined(__EMSCRIPTEN_PTHREADS__)
    (void)wanted;
    (void)body;
    return false;
#else
    if (!wanted || std::thread::hardware_concurrency() < 2) return false;
    try {
      thread_ = std::thread(std::move(body));
    } catch (...) {  // std::system_error (no thread to be had) or std::bad_alloc: either way, none
      // (caught untyped: the threaded wasm module's typed catch clauses do not match, see
      // wasm/README.md "Threads")
      counts().refused.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    counts().started.fetch_add(1, std::memory_order_relaxed);
    return true;
#endif
  }

  bool running() const { return thread_.joinable(); }

  // Threads started, and threads wanted that the system refused, since the process began
  // (the wasm bridge reports them: threadCounts).
  struct Counts {
    std::atomic<uint64_t> started{0};
    std::atomic<uint64_t> refused{0};
  };
  static Counts& counts() {
    static Counts c;
    return c;
  }

  // Sets `flag` under `mu`, wakes the waiters of `cv` and waits for the thread to end.
  void stop(std::mutex& mu, std::condition_variable& cv, bool& flag) {
    if (!running()) return;
    {
      std::lock_guard<std::mutex> lock(mu);
      flag = true;
    }
    cv.notify_all();
    join();
  }

  void join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::thread thread_;
};

}  // namespace tracedrop
