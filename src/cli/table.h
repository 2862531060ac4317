// Aligned text columns, like Go's text/tabwriter as ctr and docker use it: each column is as
// wide as its widest cell plus padding; a line's last cell is not padded (no trailing blanks).
// A row with fewer cells ends the alignment of the columns it lacks, so a table may hold
// blocks with different layouts (see Render).
// Widths count UTF-8 code points, so labels with non-ASCII text still line up.
// Thread-compatible (a value type).
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace berth::cli {

class Table {
 public:
  // `header` may be empty (no header line). `padding`: blanks between columns, at least 1.
  explicit Table(std::vector<std::string> header, int padding = 3);

  // Rows may have fewer or more cells than the header. Empty cells count as cells: a row
  // {"default", ""} is aligned with the header like any other.
  void AddRow(std::vector<std::string> row);
  size_t rows() const { return rows_.size(); }

  // The header (if any) then each row, one per line, each ending in '\n'. Cell j of a line is
  // padded to the widest cell j among the adjacent lines that have a cell after j (text/
  // tabwriter's column blocks).
  std::string Render() const;
  void Print(std::ostream& out) const { out << Render(); }

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
  int padding_;
};

// Display width of `s`: its UTF-8 code points (continuation bytes do not count).
size_t DisplayWidth(const std::string& s);

}  // namespace berth::cli
