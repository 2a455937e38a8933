// Reads a rowid table straight from the database file's B-tree pages (SQLite file format 3),
// in rowid order, without going through SQLite's virtual machine: no per-column copy, and
// text and blob values that lie on one page are views into the file image itself.
//
// Only what the model builder needs, and only when it is sure: anything unusual (another text
// encoding, WITHOUT ROWID, a rowid alias, generated columns, a short record whose column has
// a default, a REAL where text is read, a page that does not look right) makes the scan answer
// kUnsupported, and the caller reads the table through SQLite instead, which also gives the
// proper message for a damaged file. Every offset is checked against the image: a damaged or
// hostile file cannot make it read outside the image.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tracedrop/file_image.h"

namespace tracedrop {

// Where each selected column comes from.
struct TableLayout {
  static constexpr int kRowid = -1;
  static constexpr int kNull = -2;
  uint32_t root_page = 0;
  std::vector<int> sources;  // record field index, kRowid or kNull, per selected column
  std::vector<bool> has_default;  // per selected column: a default other than NULL
  // A selected TEXT/BLOB column whose value, when it continues on overflow pages, is not
  // copied out but left in the file (DirectRow::in_chain); -1 for none.
  int lazy_column = -1;
  int record_fields = 0;  // the table's column count: the fields of a full record
  int rowid_alias_field = -1;  // the INTEGER PRIMARY KEY column (stored as NULL), if any
};

// Resolves `columns` ("rowid", "NULL" for an absent column, or a column name) of `table`
// from the schema. False (with the reason) when the table cannot be read directly.
bool resolve_table_layout(sqlite3* db, const std::string& table, const std::vector<std::string>& columns,
                          TableLayout& out, std::string& why);

// One row. Accessors follow the SQLite column API the model builder uses on statements.
class DirectRow {
 public:
  int64_t rowid() const { return rowid_; }
  int type(int i) const { return f_[static_cast<size_t>(i)].type; }
  // TEXT and BLOB bytes as stored; INTEGER as its decimal text (like sqlite3_column_text);
  // empty for NULL. A REAL cannot be turned into SQLite's exact text here: the row is marked
  // and the scan ends with kUnsupported.
  std::string_view text(int i) const {
    const Field& f = f_[static_cast<size_t>(i)];
    if (f.type == SQLITE_TEXT && !f.in_chain) return std::string_view(f.p, f.n);  // the usual case
    return other_text(i);
  }
  int64_t int64(int i) const;
  double real(int i) const;
  // Whether text(i) points into the file image (valid as long as the image).
  bool in_image(int i) const { return f_[static_cast<size_t>(i)].in_image; }
  // Whether column i is the layout's lazy column and its value continues on overflow pages:
  // text(i) is then empty; the value (type(i), length(i)) is read later with
  // read_overflow_field(image, cell_offset(), field).
  bool in_chain(int i) const { return f_[static_cast<size_t>(i)].in_chain; }
  uint32_t length(int i) const { return f_[static_cast<size_t>(i)].n; }
  // Offset of this row's cell in the image.
  uint64_t cell_offset() const { return cell_offset_; }

 private:
  friend class TableScanner;
  std::string_view other_text(int i) const;
  struct Field {
    int type = SQLITE_NULL;
    bool in_image = false;
    bool in_chain = false;
    const char* p = nullptr;
    uint32_t n = 0;
    int64_t i = 0;
    double d = 0;
  };
  int64_t rowid_ = 0;
  uint64_t cell_offset_ = 0;
  std::vector<Field> f_;
  mutable std::vector<std::string> number_text_;  // per field, for text() of an INTEGER
  mutable bool unsupported_ = false;
};

// The value of record field `field` (the table column's index) of the leaf cell at
// `cell_offset`, copied from the page and its overflow chain into `out`. False when the
// cell does not read as one (the file changed under the image).
bool read_overflow_field(const FileImage& image, uint64_t cell_offset, int field, std::string& out);

enum class ScanOutcome { kDone, kStopped, kUnsupported };

// A run of the root page's children: [first_child, end_child), the right-most child being
// number (cells of the root). Rows of a part all have smaller rowids than those of any later
// part, so parts read one after the other give the table in rowid order.
// `claim`, when set, is asked before each child is read (with its number) and ends the part
// at the first one it refuses: for a part whose end another thread moves while it is read.
struct TablePart {
  uint32_t first_child = 0, end_child = 0;
  std::function<bool(uint32_t)> claim;
};

// How many children the table's root page has (cells + the right-most one), or 0 when the root
// is a leaf (or does not look like a table page): the number a TablePart divides.
uint32_t root_children(const FileImage& image, const TableLayout& layout);

// Calls fn(row) for every row of the table (or of `part` of it) in rowid order until it
// returns false. `why` says what was unsupported.
ScanOutcome scan_table(const FileImage& image, const TableLayout& layout,
                       const std::function<bool(const DirectRow&)>& fn, std::string& why,
                       const TablePart* part = nullptr);

// Several tables read in one pass over a file handed over in order, a slice at a time: for a
// file that is not in memory as a whole (the browser's large files), where reading each table
// by its own walk of the B-tree would read the file once per table, a page at a time.
//
// Each table leaf page is taken as the table whose column count its first record has, and read
// (calling that table's fn for each row) once the next slice has arrived, so that overflow
// chains reaching a slice back or ahead are at hand; the pages of a chain that reaches further
// are read from the file apart (set_read_file), a run of pages at a time. Interior pages are
// kept; finish() walks each table's tree and checks that exactly its leaf pages were read, in
// rowid order. Whatever does not fit (two tables of the same width, a table's pages out of
// rowid order, a chain beyond the slices at hand that cannot be read apart, a page read as a
// table's that its tree does not hold) answers
// kUnsupported, and the rows handed out so far must be thrown away: read the tables another
// way. Every offset is checked, as in scan_table.
class PageSweep {
 public:
  struct Table {
    TableLayout layout;  // root_page and record_fields matter here; lazy_column must be -1
    std::function<bool(const DirectRow&)> fn;  // false stops the pass (kStopped)
  };
  // `slice_bytes` is rounded down to whole 64 KiB (at least 64 KiB).
  PageSweep(std::vector<Table> tables, uint64_t file_size, size_t slice_bytes);
  ~PageSweep();
  PageSweep(const PageSweep&) = delete;
  PageSweep& operator=(const PageSweep&) = delete;

  // Reads `n` bytes at `offset` of the file into `out`: how many it read, or -1 (with `error`).
  using ReadFile = std::function<int64_t(uint64_t offset, size_t n, char* out, std::string& error)>;
  // How pages beyond the slices at hand are read (without it, a chain that needs them answers
  // kUnsupported). Set it before the first feed(); it must stay valid until finish().
  void set_read_file(const ReadFile* read_file);

  size_t slice_bytes() const;
  // Where the next slice goes: slice_bytes() bytes, valid until the next feed().
  char* buffer();
  // The next n bytes of the file are in buffer(): n == slice_bytes() except for the last slice.
  // Rows handed to the tables' fns are only valid during the call (DirectRow::in_image is false).
  ScanOutcome feed(size_t n, std::string& why);
  // After the last slice: reads what is left and checks the trees.
  ScanOutcome finish(std::string& why);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tracedrop
