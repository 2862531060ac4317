// berth prune: removes the images no container of the namespace uses, then has the daemon
// collect garbage at once and reports what that freed in the namespace.
//
// containerd's API has no call that only runs the garbage collector; what clients use (ctr rm
// --sync, containerd's own client) is a delete with `sync`, which answers once a collection has
// run. berth prune deletes the unused images, then creates a short-lived empty lease and deletes
// it with sync: that one collection removes the blobs and snapshots only those images held
// (and whatever else nothing references any more, e.g. content of expired leases), so it works
// against containerd too. Like `nerdctl image prune --all` / `docker image prune -a`, an image is
// in use when a container's `image` field names it. It asks for confirmation on a terminal;
// without one it needs --force.

#include <unistd.h>

#include <iostream>
#include <memory>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "cli/command.h"
#include "cli/human.h"
#include "client/containers.h"
#include "client/content.h"
#include "client/images.h"
#include "client/leases.h"
#include "client/snapshots.h"

namespace berth::cli {

namespace {

struct PruneFlags {
  bool force = false;
  bool dry_run = false;
  std::string snapshotter = DefaultSnapshotter();
};

struct Footprint {
  int64_t blobs = 0;
  int64_t bytes = 0;
  int64_t snapshots = -1;  // -1: the snapshotter could not be listed
};

absl::StatusOr<Footprint> Measure(client::Client& c, const std::string& snapshotter) {
  Footprint f;
  ASSIGN_OR_RETURN(std::vector<client::ContentInfo> blobs, client::ListContent(c));
  for (const auto& b : blobs) {
    ++f.blobs;
    f.bytes += b.size();
  }
  absl::StatusOr<std::vector<client::SnapshotInfo>> snaps = client::ListSnapshots(c, snapshotter);
  if (snaps.ok()) f.snapshots = static_cast<int64_t>(snaps->size());
  return f;
}

bool Confirm(const std::string& ns, size_t images) {
  std::cerr << "This removes " << images << " image(s) of namespace \"" << ns
            << "\" that no container uses, and the content only they hold.\n"
            << "Are you sure you want to continue? [y/N] " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  answer = absl::AsciiStrToLower(absl::StripAsciiWhitespace(answer));
  return answer == "y" || answer == "yes";
}

// Runs one garbage collection and waits for it (see the file comment).
absl::Status CollectGarbage(client::Client& c) {
  ASSIGN_OR_RETURN(client::Lease lease,
                   client::CreateLease(c, "", {{"berth.dev/purpose", "prune"}}, absl::Minutes(1)));
  return client::DeleteLease(c, lease.id(), /*sync=*/true);
}

absl::Status Prune(Env& env, const PruneFlags& flags) {
  ASSIGN_OR_RETURN(client::Client * c, env.Client());
  ASSIGN_OR_RETURN(std::vector<client::Container> containers, client::ListContainers(*c));
  std::set<std::string> used;
  for (const auto& container : containers) used.insert(container.image());
  ASSIGN_OR_RETURN(std::vector<client::Image> images, client::ListImages(*c));
  std::vector<std::string> unused;
  for (const auto& image : images) {
    if (!used.contains(image.name())) unused.push_back(image.name());
  }

  if (flags.dry_run) {
    for (const auto& name : unused) std::cout << "would delete " << name << "\n";
    return absl::OkStatus();
  }
  if (!flags.force && !unused.empty()) {
    if (::isatty(STDIN_FILENO) != 1) {
      return ErrFailedPrecondition("not a terminal to confirm on; use --force to prune");
    }
    if (!Confirm(env.options().ns, unused.size())) return absl::OkStatus();
  }

  ASSIGN_OR_RETURN(Footprint before, Measure(*c, flags.snapshotter));
  absl::Status failed;
  for (const auto& name : unused) {
    absl::Status st = client::DeleteImage(*c, name);
    if (st.ok()) {
      std::cout << "deleted " << name << "\n";
    } else if (!absl::IsNotFound(st)) {  // removed meanwhile: as good as done
      PrintError(st, env.options().debug);
      if (failed.ok()) failed = st;
    }
  }
  RETURN_IF_ERROR(Annotate(CollectGarbage(*c), "garbage collection"));
  ASSIGN_OR_RETURN(Footprint after, Measure(*c, flags.snapshotter));

  int64_t blobs = std::max<int64_t>(before.blobs - after.blobs, 0);
  int64_t bytes = std::max<int64_t>(before.bytes - after.bytes, 0);
  std::cout << "removed " << blobs << " blob(s), " << HumanBytes(bytes);
  if (before.snapshots >= 0 && after.snapshots >= 0) {
    std::cout << ", " << std::max<int64_t>(before.snapshots - after.snapshots, 0) << " "
              << flags.snapshotter << " snapshot(s)";
  }
  std::cout << "\n";
  if (!failed.ok()) return ReportedError("some images could not be deleted");
  return absl::OkStatus();
}

}  // namespace

void SetupPrune(CLI::App& noun, Action* action) {
  auto flags = std::make_shared<PruneFlags>();
  noun.add_flag("-f,--force", flags->force, "Do not ask for confirmation");
  noun.add_flag("--dry-run", flags->dry_run, "Only print the images that would be deleted");
  noun.add_option("--snapshotter", flags->snapshotter,
                  absl::StrCat("Snapshotter to report on (env ", kSnapshotterEnv, ")"))
      ->capture_default_str();
  noun.callback([=] { *action = [=](Env& env) { return Prune(env, *flags); }; });
}

}  // namespace berth::cli
