// One helper thread for work that natively runs beside the calling thread (attribute check,
// span_events parsing, export rendering, gzip blocks). Never started in the browser build,
// which has no threads, nor on a single core, nor when the system refuses a thread: the
// caller then does the work itself, and gets the same result.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <system_error>
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
#if defined(__EMSCRIPTEN__)
    (void)wanted;
    (void)body;
    return false;
#else
    if (!wanted || std::thread::hardware_concurrency() < 2) return false;
    try {
      thread_ = std::thread(std::move(body));
    } catch (const std::system_error&) {
      return false;
    }
    return true;
#endif
  }

  bool running() const { return thread_.joinable(); }

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
