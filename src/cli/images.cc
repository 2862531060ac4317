// berth images (alias i): ls, import, export, rm, check. Import and export stream archives
// through the daemon's Content API (client/import.h, client/export.h); import unpacks into a
// snapshotter unless --no-unpack, and shows a progress bar on stderr when that is a terminal.

#include "client/images.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>
#include <memory>
#include <set>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status.h"
#include "cli/command.h"
#include "cli/human.h"
#include "cli/progress.h"
#include "cli/table.h"
#include "client/export.h"
#include "client/import.h"
#include "client/unpack.h"
#include "images/platforms.h"

namespace berth::cli {

namespace {

// "linux/amd64,linux/arm64/v8": the platforms an image provides, sorted, or "-".
std::string PlatformColumn(client::Client& c, const client::Image& image) {
  absl::StatusOr<std::vector<images::Platform>> platforms = client::ImagePlatforms(c, image);
  if (!platforms.ok() || platforms->empty()) return "-";
  std::set<std::string> names;
  for (const auto& p : *platforms) names.insert(images::FormatPlatform(p));
  return absl::StrJoin(names, ",");
}

absl::Status List(Env& env, bool quiet, const std::vector<std::string>& filters) {
  ASSIGN_OR_RETURN(client::Client * c, env.Client());
  ASSIGN_OR_RETURN(std::vector<client::Image> list, client::ListImages(*c, filters));
  if (quiet) {
    for (const auto& image : list) std::cout << image.name() << "\n";
    return absl::OkStatus();
  }
  Table table({"NAME", "DIGEST", "SIZE", "PLATFORMS"});
  for (const auto& image : list) {
    // Like ctr, an image whose content is missing is still listed, without a size.
    std::string size = "-";
    absl::StatusOr<int64_t> bytes = client::ImageSize(*c, image);
    if (bytes.ok()) {
      size = HumanBytes(*bytes);
    } else {
      env.Debug(absl::StrCat("size of ", image.name(), ": ", bytes.status().ToString()));
    }
    std::string platforms = PlatformColumn(*c, image);
    table.AddRow({image.name(), image.target().digest(), size, platforms});
  }
  table.Print(std::cout);
  return absl::OkStatus();
}

struct ImportFlags {
  std::string input;  // a path or "-"
  std::string base_name;
  bool digests = false;
  std::string index_name;
  std::string platform;
  bool all_platforms = false;
  bool compress_blobs = false;
  bool no_unpack = false;
  bool no_progress = false;
  std::string snapshotter = DefaultSnapshotter();
};

absl::Status Import(Env& env, const ImportFlags& flags) {
  client::ImportOptions options{
      .base_name = flags.base_name,
      .digests = flags.digests,
      .index_name = flags.index_name,
      .all_platforms = flags.all_platforms,
      .compress_blobs = flags.compress_blobs,
      .unpack = !flags.no_unpack,
      .snapshotter = flags.snapshotter,
  };
  if (!flags.platform.empty()) {
    ASSIGN_OR_RETURN(options.platform, images::ParsePlatform(flags.platform));
  }

  int fd = STDIN_FILENO;
  if (flags.input != "-") {
    fd = ::open(flags.input.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoError(errno, absl::StrCat("open ", flags.input));
  }
  absl::Cleanup close_input = [fd] {
    if (fd != STDIN_FILENO) ::close(fd);
  };
  // A regular file's size is the bar's total, and how far the importer has read it is the
  // progress; from a pipe, the bytes stored so far are all there is to show.
  struct stat st;
  const bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  ProgressBar bar(flags.no_progress ? -1 : STDERR_FILENO, "importing", regular ? st.st_size : 0);
  if (bar.enabled()) {
    options.write_progress = [&bar, fd, regular](int64_t bytes) {
      off_t at = regular ? ::lseek(fd, 0, SEEK_CUR) : -1;
      if (at >= 0) {
        bar.Set(at);
      } else {
        bar.Add(bytes);
      }
    };
  }
  // The importer reads to the end: once it is done, all of a regular file was imported, whatever
  // position the last write happened at.
  auto imported_all = [&bar, &st, regular] {
    if (regular) bar.Set(st.st_size);
    bar.Finish();
  };
  bool mid_line = false;  // "unpacking …..." printed, "done" not yet
  options.on_unpack = [&imported_all, &mid_line](const client::Image& image, bool done) {
    mid_line = !done;
    if (done) {
      std::cout << "done" << std::endl;
      return;
    }
    imported_all();
    std::cout << "unpacking " << image.name() << " (" << image.target().digest() << ")..."
              << std::flush;
  };

  ASSIGN_OR_RETURN(client::Client * c, env.Client());
  absl::StatusOr<std::vector<client::Image>> imported = client::ImportImages(*c, fd, options);
  if (imported.ok()) imported_all();
  bar.Finish();
  if (!imported.ok()) {
    if (mid_line) std::cout << std::endl;  // the error goes on a line of its own
    return imported.status();
  }
  if (flags.no_unpack) {
    for (const auto& image : *imported) {
      std::cout << "imported " << image.name() << " (" << image.target().digest() << ")\n";
    }
  }
  return absl::OkStatus();
}

struct ExportFlags {
  std::string output;  // a path or "-"
  std::vector<std::string> names;
  std::vector<std::string> platforms;
  bool all_platforms = false;
  bool skip_manifest_json = false;
  bool skip_non_distributable = false;
};

absl::Status Export(Env& env, const ExportFlags& flags) {
  client::ExportOptions options{
      .all_platforms = flags.all_platforms,
      .skip_manifest_json = flags.skip_manifest_json,
      .skip_non_distributable = flags.skip_non_distributable,
  };
  for (const std::string& p : flags.platforms) {
    absl::StatusOr<images::Platform> platform = images::ParsePlatform(p);
    if (!platform.ok()) return Annotate(platform.status(), absl::StrCat("invalid platform ", p));
    options.platforms.push_back(*platform);
  }
  ASSIGN_OR_RETURN(client::Client * c, env.Client());

  if (flags.output == "-") {
    if (::isatty(STDOUT_FILENO) == 1) {
      return ErrInvalidArgument("refusing to write an archive to a terminal; redirect stdout");
    }
    return client::ExportImages(*c, flags.names, STDOUT_FILENO, options);
  }
  // Written beside the destination and renamed into place once complete, so that a failed
  // export never leaves a truncated archive under the requested name.
  std::string tmp = absl::StrCat(flags.output, ".berth-XXXXXX");
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, absl::StrCat("create ", flags.output));
  absl::Status status = client::ExportImages(*c, flags.names, fd, options);
  // mkstemp makes the file 0600; give it the mode a plain create would have.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  if (status.ok() && ::fchmod(fd, 0666 & ~mask) != 0) status = ErrnoError(errno, "chmod");
  if (status.ok() && ::fsync(fd) != 0) status = ErrnoError(errno, "fsync");
  if (::close(fd) != 0 && status.ok()) status = ErrnoError(errno, "close");
  if (status.ok() && ::rename(tmp.c_str(), flags.output.c_str()) != 0) {
    status = ErrnoError(errno, absl::StrCat("rename to ", flags.output));
  }
  if (!status.ok()) ::unlink(tmp.c_str());  // only the temporary file this call created
  return status;
}

absl::Status Remove(Env& env, const std::vector<std::string>& names, bool sync) {
  ASSIGN_OR_RETURN(client::Client * c, env.Client());
  // Like ctr, only the last delete waits for garbage collection: one collection covers all.
  const std::string& last = names.back();
  return ForEachId(names, env.options().debug, [&](const std::string& name) {
    return client::DeleteImage(*c, name, sync && &name == &last);
  });
}

// ctr images check: whether each image's content is all present, and whether it is unpacked.
absl::Status Check(Env& env, bool quiet, const std::vector<std::string>& filters,
                   const std::string& snapshotter) {
  ASSIGN_OR_RETURN(client::Client * c, env.Client());
  ASSIGN_OR_RETURN(std::vector<client::Image> list, client::ListImages(*c, filters));
  Table table({"NAME", "TYPE", "DIGEST", "STATUS", "SIZE", "UNPACKED"});
  absl::Status first_error;
  auto report = [&](const client::Image& image, absl::string_view what, const absl::Status& st) {
    if (first_error.ok()) {
      first_error = Annotate(st, absl::StrCat("unable to ", what, " ", image.name()));
    }
    PrintError(Annotate(st, absl::StrCat("unable to ", what, " ", image.name())),
               env.options().debug);
  };
  for (const auto& image : list) {
    std::string status = "complete";
    std::string size = "-";
    bool complete = true;
    absl::StatusOr<images::CheckResult> checked = client::CheckImage(*c, image);
    if (!checked.ok()) {
      report(image, "check", checked.status());
      status = "error";
      complete = false;
    } else {
      int64_t required = 0;
      int64_t present = 0;
      for (const auto& d : checked->required) required += d.size;
      for (const auto& d : checked->present) present += d.size;
      if (!checked->missing.empty()) {
        status = "incomplete";
        complete = false;
      }
      if (checked->available) {
        absl::StrAppend(&status, " (", checked->present.size(), "/", checked->required.size(), ")");
        size = absl::StrCat(HumanBytes(present), "/", HumanBytes(required));
      } else {
        status = absl::StrCat("unavailable (", checked->present.size(), "/?)");
        size = absl::StrCat(HumanBytes(present), "/?");
        complete = false;
      }
    }
    bool unpacked = false;
    if (complete) {
      absl::StatusOr<bool> is = client::IsUnpacked(*c, image, {.snapshotter = snapshotter});
      if (is.ok()) {
        unpacked = *is;
      } else {
        report(image, "check unpack for", is.status());
      }
    }
    if (quiet) {
      if (complete) std::cout << image.name() << "\n";
      continue;
    }
    table.AddRow({image.name(), image.target().media_type(), image.target().digest(), status, size,
                  unpacked ? "true" : "false"});
  }
  if (!quiet) table.Print(std::cout);
  if (!first_error.ok()) return ReportedError(std::string(first_error.message()));
  return absl::OkStatus();
}

}  // namespace

void SetupImages(CLI::App& noun, Action* action) {
  noun.require_subcommand(1);

  {
    auto quiet = std::make_shared<bool>(false);
    auto filters = std::make_shared<std::vector<std::string>>();
    CLI::App* ls = noun.add_subcommand("ls", "List images")->alias("list");
    ls->add_flag("-q,--quiet", *quiet, "Print only the image names");
    ls->add_option("filters", *filters,
                   "Filters, e.g. 'name~=busybox' 'labels.\"a\"==b' (several = OR)");
    ls->callback([=] { *action = [=](Env& env) { return List(env, *quiet, *filters); }; });
  }
  {
    auto f = std::make_shared<ImportFlags>();
    CLI::App* im = noun.add_subcommand("import", "Import images from an archive (docker or OCI)");
    im->add_option("archive", f->input, "The archive (tar, tar.gz), or - for stdin")->required();
    im->add_option("--base-name", f->base_name,
                   "Name bare tags with this image name; keep only names under it");
    im->add_flag("--digests", f->digests, "Also name each image <base-name>@<digest>");
    im->add_option("--index-name", f->index_name, "Also keep the whole index under this name");
    im->add_option("--platform", f->platform, "Import content for this platform only");
    im->add_flag("--all-platforms", f->all_platforms, "Import content for every platform");
    im->add_flag("--compress-blobs", f->compress_blobs,
                 "Gzip uncompressed layers (docker archives)");
    im->add_flag("--no-unpack", f->no_unpack, "Do not unpack the images into the snapshotter");
    im->add_flag("--no-progress", f->no_progress, "Do not show a progress bar");
    im->add_option("--snapshotter", f->snapshotter,
                   absl::StrCat("Snapshotter to unpack into (env ", kSnapshotterEnv, ")"))
        ->capture_default_str();
    im->callback([=] { *action = [=](Env& env) { return Import(env, *f); }; });
  }
  {
    auto f = std::make_shared<ExportFlags>();
    CLI::App* ex = noun.add_subcommand("export", "Export images as an OCI archive");
    ex->add_option("output", f->output, "The archive to write, or - for stdout")->required();
    ex->add_option("names", f->names, "Image names")->required();
    ex->add_option("--platform", f->platforms,
                   "Export this platform (repeatable; default: the host's)");
    ex->add_flag("--all-platforms", f->all_platforms, "Export every platform");
    ex->add_flag("--skip-manifest-json", f->skip_manifest_json, "Leave out Docker's manifest.json");
    ex->add_flag("--skip-non-distributable", f->skip_non_distributable,
                 "Leave out non-distributable layers");
    ex->callback([=] { *action = [=](Env& env) { return Export(env, *f); }; });
  }
  {
    auto names = std::make_shared<std::vector<std::string>>();
    auto sync = std::make_shared<bool>(false);
    CLI::App* rm = noun.add_subcommand("rm", "Remove images")->alias("delete");
    rm->alias("del")->alias("remove");
    rm->add_flag("--sync", *sync, "Wait until their content is garbage collected");
    rm->add_option("names", *names, "Image names")->required();
    rm->callback([=] { *action = [=](Env& env) { return Remove(env, *names, *sync); }; });
  }
  {
    auto quiet = std::make_shared<bool>(false);
    auto filters = std::make_shared<std::vector<std::string>>();
    auto snapshotter = std::make_shared<std::string>(DefaultSnapshotter());
    CLI::App* check =
        noun.add_subcommand("check", "Check that images' content is present and unpacked");
    check->add_flag("-q,--quiet", *quiet, "Print only the names of complete images");
    check->add_option("filters", *filters, "Filters (several = OR)");
    check->add_option("--snapshotter", *snapshotter, "Snapshotter to look for unpacked images in")
        ->capture_default_str();
    check->callback(
        [=] { *action = [=](Env& env) { return Check(env, *quiet, *filters, *snapshotter); }; });
  }
}

}  // namespace berth::cli
