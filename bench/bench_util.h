// Small helpers of the benchmark: clocks, medians, memory high-water marks, child processes.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace bench {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start);
// CPU time of this process in ms (user + system). The machine is shared, so wall time alone
// can mostly measure the neighbours: every figure is reported both ways.
double cpu_ms_now();

// Wall and CPU time since construction (or the last restart()).
class Stopwatch {
 public:
  Stopwatch() { restart(); }
  void restart() {
    wall_ = Clock::now();
    cpu_ = cpu_ms_now();
  }
  double wall_ms() const { return ms_since(wall_); }
  double cpu_ms() const { return cpu_ms_now() - cpu_; }

 private:
  Clock::time_point wall_;
  double cpu_ = 0;
};
// Median of the samples (mean of the middle two for an even count); 0 for none.
double median(std::vector<double> samples);

// VmHWM of this process in KiB (peak resident set), 0 if /proc is unavailable.
uint64_t vm_hwm_kb();
// A kB field of /proc/self/status ("RssAnon", "RssFile", ...), 0 when absent.
uint64_t status_kb(const char* field);

// Runs this executable again (a fresh address space, so its VmHWM is its own) with `args`
// and returns what it wrote on stdout. False, with *error set, if it failed.
bool run_self(const std::vector<std::string>& args, std::string* out, std::string* error);

// Reads the whole file once so the measured runs all see a warm page cache.
void warm_page_cache(const std::string& path);

// Facts about the machine, for the report.
std::string cpu_model();
long online_cpus();
std::string load_average();  // the three figures of /proc/loadavg
std::string today_utc();     // YYYY-MM-DD

// Hex text of arbitrary bytes and back (trace ids travel to child processes this way, so
// odd stored ids cannot break the command line).
std::string to_hex(const std::string& bytes);
std::string from_hex(const std::string& hex);
std::vector<std::string> split(const std::string& text, char sep);

}  // namespace bench
