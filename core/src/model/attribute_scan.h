// Checks span attribute text while the spans table is still being read: validity, NaN and
// Infinity, a non-empty top-level `error`, root markers. The check is a third of the model
// build, so natively it runs on a second thread, one batch behind the SQLite scan; without
// threads (the browser build) each batch is checked as soon as it is full.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tracedrop/file_image.h"
#include "util/helper_thread.h"

namespace tracedrop {

// SpanFlag bits for one attribute text (kSpanBadAttributes, kSpanNonJsonNumber,
// kSpanErrorAttribute, kSpanMarkedRoot). Empty text is fine (no attributes).
uint32_t attribute_flags(std::string_view text);

class AttributeScanner {
 public:
  // `arena` holds the texts added with add_in_arena(); it must not be reallocated while a
  // batch is pending: call wait() before an append that would exceed its capacity.
  AttributeScanner(const std::string* arena, bool use_thread);
  ~AttributeScanner();
  AttributeScanner(const AttributeScanner&) = delete;
  AttributeScanner& operator=(const AttributeScanner&) = delete;

  // The text of span `span` is arena[offset, offset + len).
  void add_in_arena(uint32_t span, uint64_t offset, uint32_t len);
  // The text is copied (attributes not kept in memory); without a thread it is checked at once.
  void add_copy(uint32_t span, std::string_view text);
  // The text stays where it is until finish() (in the file image).
  void add_in_place(uint32_t span, std::string_view text);
  // The text is field `field` of the cell at `cell_offset` of `image`, continued on overflow
  // pages (set_chain_source); it is gathered when checked.
  void set_chain_source(const FileImage* image, int field) { image_ = image, field_ = field; }
  void add_in_chain(uint32_t span, uint64_t cell_offset, uint32_t len);
  // Waits until every batch handed over so far is checked.
  void wait();
  // Checks what is left, waits, and ORs the flags found into flags[span].
  void finish(std::vector<uint32_t>& flags);

 private:
  struct Item {
    uint32_t span;
    uint32_t len;
    uint64_t offset;  // from the batch's base; for in-place texts, from nullptr (the address)
  };
  enum class Where : uint8_t { kArena, kCopy, kInPlace, kInChain };
  struct Batch {
    std::vector<Item> items;
    std::string bytes;  // the copied texts (add_copy); empty otherwise
    Where where = Where::kArena;
    const char* base = nullptr;  // arena_->data() when handed over
    std::vector<uint32_t> flags;
  };

  void open_batch(Where where);
  void added(uint32_t len);

  void submit();
  void check(Batch& b) const;
  void worker_loop();

  const std::string* arena_;
  const FileImage* image_ = nullptr;
  int field_ = -1;
  std::unique_ptr<Batch> open_;
  std::vector<std::unique_ptr<Batch>> done_;
  uint64_t open_bytes_ = 0;
  std::vector<std::pair<uint32_t, uint32_t>> checked_now_;  // (span, flags) checked by add_copy at once

  HelperThread worker_;  // stopped by the destructor, before the members its loop uses go
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Batch>> queue_;
  size_t in_flight_ = 0;
  bool stop_ = false;
};

}  // namespace tracedrop
