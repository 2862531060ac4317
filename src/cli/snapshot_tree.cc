#include "cli/snapshot_tree.h"

#include <map>
#include <memory>

#include "absl/strings/str_cat.h"

namespace berth::cli {

namespace {

// ctr's snapshotTree: nodes in order of first mention, children in listing order.
class Tree {
 public:
  void Add(const SnapshotNode& info) {
    Node* entry = Get(info.name);
    if (entry == nullptr) {
      nodes_.push_back(std::make_unique<Node>(Node{.info = info}));
      entry = nodes_.back().get();
      index_[info.name] = entry;
    } else {
      entry->info = info;  // fills in a placeholder
    }
    if (!info.parent.empty()) {
      Node* parent = Get(info.parent);
      if (parent == nullptr) {
        Add(SnapshotNode{.name = info.parent});
        parent = Get(info.parent);
      }
      parent->children.push_back(info.name);
    }
  }

  std::string Render() const {
    std::string out;
    for (const auto& node : nodes_) {
      if (node->info.parent.empty()) RenderNode(*node, 0, &out);
    }
    return out;
  }

 private:
  struct Node {
    SnapshotNode info;
    std::vector<std::string> children;
  };

  Node* Get(const std::string& name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : it->second;
  }

  void RenderNode(const Node& node, int level, std::string* out) const {
    std::string prefix(static_cast<size_t>(level) * 2, ' ');
    if (level > 0) prefix += "\\_";
    absl::StrAppend(out, prefix, " ", node.info.name, "\n");
    for (const std::string& child : node.children) {
      const Node* c = Get(child);
      // A snapshot listed as its own ancestor would recurse forever; the daemon never sends
      // one, but a tree printer should not hang on it.
      if (c != nullptr && level < 1000) RenderNode(*c, level + 1, out);
    }
  }

  std::vector<std::unique_ptr<Node>> nodes_;
  std::map<std::string, Node*> index_;
};

}  // namespace

std::string RenderSnapshotTree(const std::vector<SnapshotNode>& snapshots) {
  Tree tree;
  for (const SnapshotNode& s : snapshots) tree.Add(s);
  return tree.Render();
}

}  // namespace berth::cli
