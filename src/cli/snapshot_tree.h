// The tree view of snapshots that `berth snapshots tree` prints, identical to ctr's:
//
//    sha256:aaa…                     a snapshot without parent
//     \_ sha256:bbb…                 its children, two more blanks per level
//       \_ extract-123-AbCd sha256:ccc…
//
// Roots are printed in the order they were first mentioned, as a snapshot or as a parent: a
// parent that was not listed at all still heads its children, as ctr prints it.
// Thread-safe: pure function.
#pragma once

#include <string>
#include <vector>

namespace berth::cli {

struct SnapshotNode {
  std::string name;
  std::string parent;  // "" for none
};

// The tree of `snapshots` (in listing order), one line per snapshot, each ending in '\n'.
std::string RenderSnapshotTree(const std::vector<SnapshotNode>& snapshots);

}  // namespace berth::cli
