#include "cli/table.h"

#include <algorithm>

namespace berth::cli {

size_t DisplayWidth(const std::string& s) {
  size_t width = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++width;
  }
  return width;
}

Table::Table(std::vector<std::string> header, int padding)
    : header_(std::move(header)), padding_(std::max(padding, 1)) {}

void Table::AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }

std::string Table::Render() const {
  std::vector<const std::vector<std::string>*> lines;
  if (!header_.empty()) lines.push_back(&header_);
  for (const auto& row : rows_) lines.push_back(&row);

  // As in text/tabwriter, cell j of a line is aligned with the cells j of the lines next to it
  // that also have a cell after it; a line's last cell takes no part (its width never widens
  // a column), and a line without cell j ends the column's block.
  size_t columns = 0;
  for (const auto* line : lines) columns = std::max(columns, line->size());
  std::vector<std::vector<size_t>> widths(lines.size(), std::vector<size_t>(columns, 0));
  for (size_t j = 0; j < columns; ++j) {
    size_t begin = 0;
    while (begin < lines.size()) {
      if (j + 1 >= lines[begin]->size()) {
        ++begin;
        continue;
      }
      size_t end = begin;
      size_t width = 0;
      while (end < lines.size() && j + 1 < lines[end]->size()) {
        width = std::max(width, DisplayWidth((*lines[end])[j]));
        ++end;
      }
      for (size_t i = begin; i < end; ++i) widths[i][j] = width;
      begin = end;
    }
  }

  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::vector<std::string>& line = *lines[i];
    // Empty cells at the end are not written, so lines carry no trailing blanks.
    size_t n = line.size();
    while (n > 0 && line[n - 1].empty()) --n;
    for (size_t j = 0; j < n; ++j) {
      out += line[j];
      if (j + 1 < n) out.append(widths[i][j] - DisplayWidth(line[j]) + padding_, ' ');
    }
    out += '\n';
  }
  return out;
}

}  // namespace berth::cli
