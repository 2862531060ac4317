#include "cli/snapshot_tree.h"

#include <gtest/gtest.h>

namespace berth::cli {
namespace {

// The expected text is what ctr snapshots tree prints for the same listing.
TEST(SnapshotTreeTest, ChainOfLayers) {
  EXPECT_EQ(
      RenderSnapshotTree({{"sha256:a", ""}, {"sha256:b", "sha256:a"}, {"sha256:c", "sha256:b"}}),
      " sha256:a\n"
      "  \\_ sha256:b\n"
      "    \\_ sha256:c\n");
}

TEST(SnapshotTreeTest, BranchesKeepListingOrder) {
  EXPECT_EQ(RenderSnapshotTree({{"base", ""},
                                {"web", "base"},
                                {"other-root", ""},
                                {"db", "base"},
                                {"extract-1-AbCd sha256:x", "web"}}),
            " base\n"
            "  \\_ web\n"
            "    \\_ extract-1-AbCd sha256:x\n"
            "  \\_ db\n"
            " other-root\n");
}

TEST(SnapshotTreeTest, ChildListedBeforeItsParent) {
  // Keys come sorted, so a child may come first: its parent is a placeholder until listed, and
  // keeps the place where it was first mentioned.
  EXPECT_EQ(RenderSnapshotTree({{"a-child", "z-parent"}, {"m-root", ""}, {"z-parent", ""}}),
            " z-parent\n"
            "  \\_ a-child\n"
            " m-root\n");
}

TEST(SnapshotTreeTest, UnlistedParentStillHeadsItsChildren) {
  EXPECT_EQ(RenderSnapshotTree({{"child", "gone"}}),
            " gone\n"
            "  \\_ child\n");
}

TEST(SnapshotTreeTest, Empty) { EXPECT_EQ(RenderSnapshotTree({}), ""); }

}  // namespace
}  // namespace berth::cli
