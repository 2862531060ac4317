#include "cli/table.h"

#include <gtest/gtest.h>

namespace berth::cli {
namespace {

TEST(TableTest, HeaderOnlyWhenEmpty) {
  Table table({"NAME", "LABELS"});
  EXPECT_EQ(table.Render(), "NAME   LABELS\n");
}

TEST(TableTest, ColumnsAlignToWidestCell) {
  Table table({"ID", "CREATED AT", "LABELS"});
  table.AddRow({"a-very-long-id", "2024-01-01T00:00:00Z", "-"});
  table.AddRow({"x", "2024-01-01T00:00:00Z", "k=v"});
  EXPECT_EQ(table.Render(),
            "ID               CREATED AT             LABELS\n"
            "a-very-long-id   2024-01-01T00:00:00Z   -\n"
            "x                2024-01-01T00:00:00Z   k=v\n");
}

TEST(TableTest, NoTrailingBlanksAndShortRows) {
  Table table({"NAME", "LABELS"});
  table.AddRow({"default", ""});
  table.AddRow({"k8s.io"});
  EXPECT_EQ(table.Render(),
            "NAME      LABELS\n"
            "default\n"
            "k8s.io\n");
}

TEST(TableTest, WidthCountsCodePointsNotBytes) {
  Table table({"A", "B"}, 2);
  table.AddRow({"héllo", "x"});
  table.AddRow({"hello", "y"});
  EXPECT_EQ(table.Render(),
            "A      B\n"
            "héllo  x\n"
            "hello  y\n");
  EXPECT_EQ(DisplayWidth("héllo"), 5u);
}

TEST(TableTest, ColumnBlocksLikeTabwriter) {
  // A line's last cell does not widen its column, and a line lacking a column ends that
  // column's block: the "root" block aligns on its own.
  Table table({}, 1);
  table.AddRow({"Type:", "io.containerd.snapshotter.v1"});
  table.AddRow({"Exports:", ""});
  table.AddRow({"", "root", "/var/lib"});
  table.AddRow({"", "capabilities", "x"});
  table.AddRow({"", ""});
  table.AddRow({"ID:", "native"});
  EXPECT_EQ(table.Render(),
            "Type:    io.containerd.snapshotter.v1\n"
            "Exports:\n"
            "         root         /var/lib\n"
            "         capabilities x\n"
            "\n"
            "ID:      native\n");
}

TEST(TableTest, ShortRowEndsTheBlock) {
  Table table({}, 1);
  table.AddRow({"a", "1"});
  table.AddRow({"solo"});
  table.AddRow({"longer", "2"});
  EXPECT_EQ(table.Render(),
            "a 1\n"
            "solo\n"
            "longer 2\n");
}

}  // namespace
}  // namespace berth::cli
