// The cases ported from containerd's snapshots/testsuite (testsuite.go, issues.go); berth's own
// cases are in berth_cases.cc.
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/status.h"
#include "snapshots/testsuite/testsuite.h"
#include "sys/file.h"
#include "sys/mount.h"

namespace berth::snapshots::testsuite {
namespace {

// The basic workflow: prepare, fill, commit, build on it, view the result.
TEST_P(SnapshotterSuite, Basic) {
  const Applier initial = Apply({
      CreateFile("/foo", "foo\n", 0777),
      CreateDir("/a", 0755),
      CreateDir("/a/b", 0755),
      CreateDir("/a/b/c", 0755),
  });
  const Applier diff = Apply({
      CreateFile("/bar", "bar\n", 0777),
      CreateFile("/foo", "bar\n", 0777),  // change content of foo to bar
      RemoveAll("/a/b"),
  });

  const std::string preparing = WorkDir("preparing");
  auto mounts = sn_->Prepare(preparing, "", Opt());
  ASSERT_TRUE(mounts.ok()) << mounts.status();
  ASSERT_TRUE(MountOn(*mounts, preparing));
  ASSERT_OK(initial(preparing));
  ASSERT_TRUE(UnmountFrom(preparing));

  const std::string committed = WorkDir("committed");
  ASSERT_OK(sn_->Commit(committed, preparing, Opt()));
  auto si = sn_->Stat(committed);
  ASSERT_TRUE(si.ok()) << si.status();
  EXPECT_EQ(si->parent, "");
  EXPECT_EQ(si->kind, Kind::kCommitted);
  EXPECT_FALSE(sn_->Stat(preparing).ok()) << "no longer available after Commit";

  const std::string next = WorkDir("nextlayer");
  mounts = sn_->Prepare(next, committed, Opt());
  ASSERT_TRUE(mounts.ok()) << mounts.status();
  ASSERT_TRUE(MountOn(*mounts, next));
  {
    const std::string expect = MakeTempDirIn(work_, "expect");
    ASSERT_OK(initial(expect));
    ASSERT_OK(CheckDirectoryEqual(expect, next));
  }
  ASSERT_OK(diff(next));
  ASSERT_TRUE(UnmountFrom(next));

  auto ni = sn_->Stat(next);
  ASSERT_TRUE(ni.ok()) << ni.status();
  EXPECT_EQ(ni->parent, committed);
  EXPECT_EQ(ni->kind, Kind::kActive);

  const std::string next_committed = WorkDir("committed-next");
  ASSERT_OK(sn_->Commit(next_committed, next, Opt()));
  auto si2 = sn_->Stat(next_committed);
  ASSERT_TRUE(si2.ok()) << si2.status();
  EXPECT_EQ(si2->parent, committed);
  EXPECT_EQ(si2->kind, Kind::kCommitted);
  EXPECT_FALSE(sn_->Stat(next).ok()) << "no longer available after Commit";

  std::map<std::string, Info> walked;
  ASSERT_OK(sn_->Walk(
      [&](const Info& info) {
        walked[info.name] = info;
        return absl::OkStatus();
      },
      {}));
  EXPECT_EQ(walked, (std::map<std::string, Info>{{si->name, *si}, {si2->name, *si2}}));

  const std::string nextnext = WorkDir("nextnextlayer");
  mounts = sn_->View(nextnext, next_committed, Opt());
  ASSERT_TRUE(mounts.ok()) << mounts.status();
  ASSERT_TRUE(MountOn(*mounts, nextnext));
  {
    const std::string expect = MakeTempDirIn(work_, "expect");
    ASSERT_OK(Apply({initial, diff})(expect));
    EXPECT_OK(CheckDirectoryEqual(expect, nextnext));
  }
  ASSERT_TRUE(UnmountFrom(nextnext));
  EXPECT_OK(sn_->Remove(nextnext));
  absl::Status st = sn_->Remove(committed);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("remove"), absl::string_view::npos) << st;
  EXPECT_OK(sn_->Remove(next_committed));
  EXPECT_OK(sn_->Remove(committed));
}

// A new layer from Prepare stats as Active.
TEST_P(SnapshotterSuite, StatActive) {
  const std::string preparing = PrepareMount("preparing", "");
  ASSERT_FALSE(preparing.empty());
  ASSERT_OK(sys::WriteFile(preparing + "/foo", "foo\n", 0777));
  auto si = sn_->Stat(preparing);
  ASSERT_TRUE(si.ok()) << si.status();
  EXPECT_EQ(si->name, preparing);
  EXPECT_EQ(si->kind, Kind::kActive);
  EXPECT_EQ(si->parent, "");
}

// A committed layer stats as Committed.
TEST_P(SnapshotterSuite, StatCommitted) {
  const std::string preparing = PrepareMount("preparing", "");
  ASSERT_FALSE(preparing.empty());
  ASSERT_OK(sys::WriteFile(preparing + "/foo", "foo\n", 0777));
  const std::string committed = WorkDir("committed");
  ASSERT_OK(sn_->Commit(committed, preparing, Opt()));
  auto si = sn_->Stat(committed);
  ASSERT_TRUE(si.ok()) << si.status();
  EXPECT_EQ(si->name, committed);
  EXPECT_EQ(si->kind, Kind::kCommitted);
  EXPECT_EQ(si->parent, "");
}

// Given A <- B, A is B's parent and has none itself.
TEST_P(SnapshotterSuite, Transitivity) {
  const std::string preparing = PrepareMount("preparing", "");
  ASSERT_FALSE(preparing.empty());
  ASSERT_OK(sys::WriteFile(preparing + "/foo", "foo\n", 0777));
  const std::string snap_a = WorkDir("snapA");
  ASSERT_OK(sn_->Commit(snap_a, preparing, Opt()));

  const std::string next = PrepareMount("next", snap_a);
  ASSERT_FALSE(next.empty());
  ASSERT_OK(sys::WriteFile(next + "/foo", "foo bar\n", 0777));
  const std::string snap_b = WorkDir("snapB");
  ASSERT_OK(sn_->Commit(snap_b, next, Opt()));

  auto si_a = sn_->Stat(snap_a);
  auto si_b = sn_->Stat(snap_b);
  ASSERT_TRUE(si_a.ok() && si_b.ok());
  auto si_parent_b = sn_->Stat(si_b->parent);
  ASSERT_TRUE(si_parent_b.ok()) << si_parent_b.status();
  EXPECT_EQ(si_a->parent, "");
  EXPECT_EQ(si_b->parent, snap_a);
  EXPECT_EQ(si_parent_b->parent, "");
}

// Two Prepare or View calls with the same key fail.
TEST_P(SnapshotterSuite, PrepareViewFailing) {
  const std::string preparing = PrepareMount("preparing", "");
  ASSERT_FALSE(preparing.empty());
  const std::string snap_a = WorkDir("snapA");
  ASSERT_OK(sn_->Commit(snap_a, preparing, Opt()));

  const std::string new_layer = work_ + "/newlayer";
  ASSERT_TRUE(sn_->Prepare(new_layer, snap_a, Opt()).ok());
  EXPECT_EQ(sn_->View(new_layer, snap_a, Opt()).status().code(), absl::StatusCode::kAlreadyExists);

  const std::string prep_layer = work_ + "/prepLayer";
  ASSERT_TRUE(sn_->Prepare(prep_layer, snap_a, Opt()).ok());
  EXPECT_EQ(sn_->Prepare(prep_layer, snap_a, Opt()).status().code(),
            absl::StatusCode::kAlreadyExists);

  const std::string view_layer = work_ + "/viewLayer";
  ASSERT_TRUE(sn_->View(view_layer, snap_a, Opt()).ok());
  EXPECT_EQ(sn_->View(view_layer, snap_a, Opt()).status().code(), absl::StatusCode::kAlreadyExists);
}

// Removing files of a lower layer hides them in the next.
TEST_P(SnapshotterSuite, DeletedFilesInChildSnapshot) {
  EXPECT_OK(CheckSnapshots({
      Apply({CreateFile("/foo", "foo\n", 0777), CreateFile("/foobar", "foobar\n", 0777)}),
      Apply({RemoveAll("/foobar")}),
      Apply({}),
  }));
}

// An intermediate layer cannot be removed while a child exists.
TEST_P(SnapshotterSuite, RemoveIntermediateSnapshot) {
  const std::string base = PrepareMount("base", "");
  ASSERT_FALSE(base.empty());
  const std::string committed_base = WorkDir("committed-base");
  ASSERT_OK(sn_->Commit(committed_base, base, Opt()));

  const std::string intermediate = work_ + "/intermediate";
  ASSERT_TRUE(sn_->Prepare(intermediate, committed_base, Opt()).ok());
  const std::string committed_inter = work_ + "/committed-inter";
  ASSERT_OK(sn_->Commit(committed_inter, intermediate, Opt()));

  const std::string top = work_ + "/toplayer";
  ASSERT_TRUE(sn_->Prepare(top, committed_inter, Opt()).ok());

  absl::Status st = sn_->Remove(committed_inter);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
  EXPECT_OK(sn_->Remove(top));
  EXPECT_OK(sn_->Remove(committed_inter));
  ASSERT_TRUE(UnmountFrom(base));
  EXPECT_OK(sn_->Remove(committed_base));
}

// c1 <- c2 <- a1; a2; c2 <- v1; v2.
absl::Status BaseTestSnapshots(Snapshotter& sn, const Labels& opt) {
  RETURN_IF_ERROR(sn.Prepare("c1-a", "", opt).status());
  RETURN_IF_ERROR(sn.Commit("c1", "c1-a", opt));
  RETURN_IF_ERROR(sn.Prepare("c2-a", "c1", opt).status());
  RETURN_IF_ERROR(sn.Commit("c2", "c2-a", opt));
  RETURN_IF_ERROR(sn.Prepare("a1", "c2", opt).status());
  RETURN_IF_ERROR(sn.Prepare("a2", "", opt).status());
  RETURN_IF_ERROR(sn.View("v1", "c2", opt).status());
  return sn.View("v2", "", opt).status();
}

TEST_P(SnapshotterSuite, Update) {
  const absl::Time t1 = absl::Now();
  ASSERT_OK(BaseTestSnapshots(*sn_, Opt()));
  const absl::Time t2 = absl::Now();
  const std::string root_label = Opt().begin()->second;
  struct Case {
    std::string name;
    Kind kind;
    std::string parent;
  };
  for (const Case& tc : std::vector<Case>{{"c1", Kind::kCommitted, ""},
                                          {"c2", Kind::kCommitted, "c1"},
                                          {"a1", Kind::kActive, "c2"},
                                          {"a2", Kind::kActive, ""},
                                          {"v1", Kind::kView, "c2"},
                                          {"v2", Kind::kView, ""}}) {
    SCOPED_TRACE(tc.name);
    auto st = sn_->Stat(tc.name);
    ASSERT_TRUE(st.ok()) << st.status();
    EXPECT_GE(st->created, t1);
    EXPECT_LE(st->created, t2);
    EXPECT_EQ(st->created, st->updated);
    EXPECT_EQ(st->kind, tc.kind);
    EXPECT_EQ(st->parent, tc.parent);
    EXPECT_EQ(st->name, tc.name);

    const absl::Time created = st->created;
    Labels expected = {
        {"l1", "v1"}, {"l2", "v2"}, {"l3", "v3"}, {"containerd.io/gc.root", root_label}};
    Info in = *st;
    in.parent = "doesnotexist";
    in.labels = expected;
    const absl::Time u1 = absl::Now();
    auto up = sn_->Update(in, {});
    const absl::Time u2 = absl::Now();
    ASSERT_TRUE(up.ok()) << up.status();
    EXPECT_EQ(up->created, created);
    EXPECT_GE(up->updated, u1);
    EXPECT_LE(up->updated, u2);
    EXPECT_EQ(up->kind, tc.kind);
    EXPECT_EQ(up->parent, tc.parent) << "parent is immutable";
    EXPECT_EQ(up->name, tc.name);
    EXPECT_EQ(up->labels, expected);

    in = *up;
    in.labels = {{"l1", "updated"}, {"l4", "v4"}};
    const std::vector<std::string> paths = {"labels.l1", "labels.l2"};
    up = sn_->Update(in, paths);
    ASSERT_TRUE(up.ok()) << up.status();
    EXPECT_EQ(up->labels,
              (Labels{{"l1", "updated"}, {"l3", "v3"}, {"containerd.io/gc.root", root_label}}));

    in = *up;
    expected = {{"l4", "v4"}, {"containerd.io/gc.root", root_label}};
    in.labels = expected;
    const std::vector<std::string> all = {"labels"};
    up = sn_->Update(in, all);
    ASSERT_TRUE(up.ok()) << up.status();
    EXPECT_EQ(up->labels, expected);
    EXPECT_EQ(Value(sn_->Stat(tc.name)).labels, expected) << "stored";

    in = *up;
    in.parent = "doesnotexist";
    const std::vector<std::string> immutable = {"parent"};
    EXPECT_EQ(sn_->Update(in, immutable).status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST_P(SnapshotterSuite, Remove) {
  ASSERT_TRUE(sn_->Prepare("committed-a", "", Opt()).ok());
  ASSERT_OK(sn_->Commit("committed-1", "committed-a", Opt()));
  ASSERT_TRUE(sn_->Prepare("reuse-1", "committed-1", Opt()).ok());
  ASSERT_OK(sn_->Remove("reuse-1"));
  ASSERT_TRUE(sn_->View("reuse-1", "committed-1", Opt()).ok());
  ASSERT_OK(sn_->Remove("reuse-1"));
  ASSERT_TRUE(sn_->Prepare("reuse-1", "", Opt()).ok());
  ASSERT_OK(sn_->Remove("committed-1"));
  ASSERT_OK(sn_->Commit("committed-1", "reuse-1", Opt()));
}

// A view mounts read-only, for real.
TEST_P(SnapshotterSuite, ViewReadonly) {
  const std::string preparing = work_ + "/preparing";
  ASSERT_TRUE(sn_->Prepare(preparing, "", Opt()).ok());
  const std::string committed = work_ + "/committed";
  ASSERT_OK(sn_->Commit(committed, preparing, Opt()));
  const std::string view = work_ + "/view";
  auto m = sn_->View(view, committed, Opt());
  ASSERT_TRUE(m.ok()) << m.status();
  const std::string mountpoint = WorkDir("view-mount");
  ASSERT_TRUE(MountOn(*m, mountpoint));
  EXPECT_FALSE(sys::WriteFile(mountpoint + "/testfile", "testcontent", 0777).ok())
      << "write to a view should fail (EROFS)";
  ASSERT_TRUE(UnmountFrom(mountpoint));
  EXPECT_OK(sn_->Remove(view));
  EXPECT_OK(sn_->Remove(committed));
}

// Stat may be called from inside Walk's function.
TEST_P(SnapshotterSuite, StatInWalk) {
  const std::string prefix = "stats-in-walk-";
  ASSERT_TRUE(sn_->Prepare(prefix + "c1-a", "", Opt()).ok());
  ASSERT_OK(sn_->Commit(prefix + "c1", prefix + "c1-a", Opt()));
  ASSERT_TRUE(sn_->Prepare(prefix + "c2-a", prefix + "c1", Opt()).ok());
  ASSERT_OK(sn_->Commit(prefix + "c2", prefix + "c2-a", Opt()));
  ASSERT_TRUE(sn_->Prepare(prefix + "a1", prefix + "c2", Opt()).ok());
  ASSERT_TRUE(sn_->View(prefix + "v1", prefix + "c2", Opt()).ok());
  int seen = 0;
  ASSERT_OK(sn_->Walk(
      [&](const Info& info) -> absl::Status {
        ++seen;
        ASSIGN_OR_RETURN(Info again, sn_->Stat(info.name));
        if (again != info) return absl::InternalError("stat differs from walk for " + info.name);
        return absl::OkStatus();
      },
      {}));
  EXPECT_EQ(seen, 4);
}

TEST_P(SnapshotterSuite, CloseTwice) {
  ASSERT_TRUE(sn_->Prepare("closeTwice-prepare", "", Opt()).ok());
  ASSERT_OK(sn_->Commit("closeTwice", "closeTwice-prepare", Opt()));
  ASSERT_OK(sn_->Remove("closeTwice"));
  EXPECT_OK(sn_->Close());
  EXPECT_OK(sn_->Close());
}

// The root of a new snapshot is 0755.
TEST_P(SnapshotterSuite, RootPermission) {
  const std::string preparing = PrepareMount("preparing", "");
  ASSERT_FALSE(preparing.empty());
  struct stat st;
  ASSERT_EQ(::stat(preparing.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
}

// Issues found in older layering models (containerd's issues.go).
TEST_P(SnapshotterSuite, LayerFileUpdate) {
  const std::vector<Applier> layers = {
      Apply({CreateDir("/etc", 0700), CreateFile("/etc/hosts", "mydomain 10.0.0.1", 0644),
             CreateFile("/etc/profile", "PATH=/usr/bin", 0644)}),
      Apply({CreateFile("/etc/hosts", "mydomain 10.0.0.2", 0644),
             CreateFile("/etc/profile", "PATH=/usr/bin", 0666), CreateDir("/root", 0700),
             CreateFile("/root/.bashrc", "PATH=/usr/sbin:/usr/bin", 0644)}),
  };
  // Twice, the second time across a second boundary (mtime granularity once hid changes).
  for (int i = 0; i < 2; ++i) {
    ASSERT_OK(CheckSnapshots(layers));
    const auto now = std::chrono::system_clock::now();
    std::this_thread::sleep_until(std::chrono::ceil<std::chrono::seconds>(now));
  }
}

TEST_P(SnapshotterSuite, RemoveDirectoryInLowerLayer) {
  EXPECT_OK(CheckSnapshots({
      Apply({CreateDir("/lib", 0700), CreateFile("/lib/hidden", "", 0644)}),
      Apply({RemoveAll("/lib"), CreateDir("/lib", 0700), CreateFile("/lib/not-hidden", "", 0644)}),
      Apply({CreateFile("/lib/newfile", "", 0644)}),
  }));
}

TEST_P(SnapshotterSuite, Chown) {
  EXPECT_OK(CheckSnapshots({
      Apply({CreateDir("/opt", 0700), CreateDir("/opt/a", 0700), CreateDir("/opt/a/b", 0700),
             CreateFile("/opt/a/b/file.txt", "hello", 0644)}),
      Apply({Chown("/opt", 1, 1), Chown("/opt/a", 1, 1), Chown("/opt/a/b", 1, 1),
             Chown("/opt/a/b/file.txt", 1, 1)}),
  }));
}

// containerd skips this one ("still fails on some kernels with overlay": renaming a directory
// of a lower layer fails with EXDEV unless overlayfs has redirect_dir). Here the Rename applier
// falls back to copy-and-delete as mv(1) does, so the case checks what a user would see.
TEST_P(SnapshotterSuite, Rename) {
  EXPECT_OK(CheckSnapshots({
      Apply({CreateDir("/dir1", 0700), CreateDir("/somefiles", 0700),
             CreateFile("/somefiles/f1", "was here first!", 0644),
             CreateFile("/somefiles/f2", "nothing interesting", 0644)}),
      Apply({Rename("/dir1", "/dir2"), CreateFile("/somefiles/f1-overwrite", "new content 1", 0644),
             Rename("/somefiles/f1-overwrite", "/somefiles/f1"),
             Rename("/somefiles/f2", "/somefiles/f3")}),
  }));
}

TEST_P(SnapshotterSuite, DirectoryPermissionOnCommit) {
  EXPECT_OK(CheckSnapshots({
      Apply({CreateDir("/dir1", 0700), CreateDir("/dir2", 0700), CreateDir("/dir3", 0700),
             CreateDir("/dir4", 0700), CreateFile("/dir4/f1", "...", 0644),
             CreateDir("/dir5", 0700), CreateFile("/dir5/f1", "...", 0644), Chown("/dir1", 1, 1),
             Chown("/dir2", 1, 1), Chown("/dir3", 1, 1), Chown("/dir5", 1, 1),
             Chown("/dir5/f1", 1, 1)}),
      Apply({Chown("/dir2", 0, 0), RemoveAll("/dir3"), Chown("/dir4", 1, 1),
             Chown("/dir4/f1", 1, 1)}),
      Apply({CreateDir("/dir3", 0700), Chown("/dir3", 1, 1), RemoveAll("/dir5"),
             CreateDir("/dir5", 0700), Chown("/dir5", 1, 1)}),
  }));
}

// Files moved (linked, then removed) out of a lower layer.
TEST_P(SnapshotterSuite, MoveFileFromLowerLayer) {
  EXPECT_OK(CheckSnapshots({
      Apply({CreateDir("/dir1", 0700), CreateFile("/dir1/f1", "Hello", 0644),
             CreateDir("dir2", 0700), CreateFile("dir2/f2", "...", 0644)}),
      Apply({CreateDir("/dir3", 0700), CreateFile("/dir3/f1", "Hello", 0644), RemoveAll("/dir1"),
             Link("dir2/f2", "dir3/f2"), RemoveAll("dir2/f2")}),
  }));
}

TEST_P(SnapshotterSuite, Walk) {
  const Labels opt = {{"containerd.io/gc.root", "check-walk"}};
  auto with = [&](const std::string& l) {
    Labels labels = opt;
    labels["l"] = l;
    return labels;
  };
  ASSERT_TRUE(sn_->Prepare("a-np", "", opt).ok());  // no parent, active
  ASSERT_TRUE(sn_->Prepare("p-tmp", "", opt).ok());
  ASSERT_OK(sn_->Commit("p", "p-tmp", opt));      // base parent
  ASSERT_TRUE(sn_->Prepare("a", "p", opt).ok());  // active
  ASSERT_TRUE(sn_->View("v", "p", opt).ok());     // view
  ASSERT_TRUE(sn_->Prepare("p-wl-tmp", "", opt).ok());
  ASSERT_OK(sn_->Commit("p-wl", "p-wl-tmp", with("1")));      // base parent with l=1
  ASSERT_TRUE(sn_->Prepare("a-wl", "p-wl", with("2")).ok());  // active with l=2
  ASSERT_TRUE(sn_->View("v-wl", "p-wl", with("3")).ok());     // view with l=3
  ASSERT_TRUE(sn_->Prepare("a-np-wl", "", with("2")).ok());   // no parent, active, l=2

  struct Case {
    std::vector<std::string> matches;
    std::vector<std::string> filters;
  };
  const std::vector<Case> cases = {
      {{"a-np", "p", "a", "v", "p-wl", "a-wl", "v-wl", "a-np-wl"},
       {"labels.\"containerd.io/gc.root\"==check-walk"}},
      {{"a-np", "a", "a-wl", "a-np-wl"},
       {"kind==active,labels.\"containerd.io/gc.root\"==check-walk"}},
      {{"v", "v-wl"}, {"kind==view,labels.\"containerd.io/gc.root\"==check-walk"}},
      {{"p", "p-wl"}, {"kind==committed,labels.\"containerd.io/gc.root\"==check-walk"}},
      {{"p", "a-np-wl"}, {"name==p", "name==a-np-wl"}},
      {{"a-wl"}, {"name==a-wl,labels.l"}},
      {{"a", "v"}, {"parent==p"}},
      {{"a", "v", "a-wl", "v-wl"}, {"parent!=\"\",labels.\"containerd.io/gc.root\"==check-walk"}},
      {{"p-wl", "a-wl", "v-wl", "a-np-wl"}, {"labels.l"}},
      {{"a-wl", "a-np-wl"}, {"labels.l==2"}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    std::vector<std::string> want = cases[i].matches;
    std::sort(want.begin(), want.end());
    EXPECT_EQ(WalkNames(cases[i].filters), want) << "case " << i;
  }
}

// 128 layers deep: each layer is checked against a flat directory before and after changes, and
// the view of the top sees all of it (overlay: 128 lowerdirs, more than a page of options).
TEST_P(SnapshotterSuite, LayersMount128) {
  std::vector<Applier> appliers = {Apply({
      CreateFile("/bottom", "way at the bottom\n", 0777),
      CreateFile("/overwriteme", "FIRST!\n", 0777),
      CreateDir("/ADDHERE", 0755),
      CreateDir("/ONLYME", 0755),
      CreateFile("/ONLYME/bottom", "bye!\n", 0777),
  })};
  for (int i = 1; i <= 127; ++i) {
    appliers.push_back(Apply({
        CreateFile("/overwriteme", absl::StrCat(i, " WAS HERE!\n"), 0777),
        CreateFile(absl::StrCat("/ADDHERE/file-", i), "same\n", 0755),
        RemoveAll("/ONLYME"),
        CreateDir("/ONLYME", 0755),
        CreateFile(absl::StrCat("/ONLYME/file-", i), "only me!\n", 0777),
    }));
  }
  const std::string flat = WorkDir("flat");
  std::string parent;
  for (size_t i = 0; i < appliers.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("layer ", i));
    const std::string preparing = WorkDir(absl::StrCat("prepare-layer-", i));
    auto mounts = sn_->Prepare(preparing, parent, Opt());
    ASSERT_TRUE(mounts.ok()) << mounts.status();
    ASSERT_TRUE(MountOn(*mounts, preparing));
    ASSERT_OK(CheckDirectoryEqual(flat, preparing));  // before the change
    ASSERT_OK(appliers[i](flat));
    ASSERT_OK(appliers[i](preparing));
    ASSERT_OK(CheckDirectoryEqual(flat, preparing));  // after
    ASSERT_TRUE(UnmountFrom(preparing));
    parent = work_ + absl::StrCat("/committed-", i);
    ASSERT_OK(sn_->Commit(parent, preparing, Opt()));
  }
  const std::string view = WorkDir("fullview");
  auto mounts = sn_->View(view, parent, Opt());
  ASSERT_TRUE(mounts.ok()) << mounts.status();
  ASSERT_TRUE(MountOn(*mounts, view));
  EXPECT_OK(CheckDirectoryEqual(flat, view));
  ASSERT_TRUE(UnmountFrom(view));
}

}  // namespace
}  // namespace berth::snapshots::testsuite
