#include "shim/cgroups.h"
#include "shim/cgroup_files.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/log.h"
#include "base/status.h"
#include "sys/file.h"

namespace berth::shim {
using namespace cgroup_files;  // NOLINT: this file's own helpers

namespace {

namespace v1 = ::io::containerd::cgroups::v1;
namespace v2 = ::io::containerd::cgroups::v2;

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();


// ---- cgroup v1 ----

absl::Status StatV1Pids(const std::string& dir, v1::Metrics* m) {
  // containerd reports pids only when both files read; "max" (no limit) is 0 in v1.
  ASSIGN_OR_RETURN(std::optional<uint64_t> current, ReadUintOptional(Join(dir, "pids.current")));
  ASSIGN_OR_RETURN(std::optional<std::string> max, ReadOptional(Join(dir, "pids.max")));
  if (!current || !max) return absl::OkStatus();
  uint64_t limit = 0;
  if (absl::StripAsciiWhitespace(*max) != "max") {
    ASSIGN_OR_RETURN(limit, ParseUint(*max, Join(dir, "pids.max")));
  }
  m->mutable_pids()->set_current(*current);
  m->mutable_pids()->set_limit(limit);
  return absl::OkStatus();
}

absl::Status StatV1Cpu(const std::string& dir, v1::Metrics* m) {
  ASSIGN_OR_RETURN(auto stat, ReadKeyedOptional(Join(dir, "cpu.stat"), /*strict=*/true));
  if (!stat) return absl::OkStatus();
  v1::Throttle* t = m->mutable_cpu()->mutable_throttling();
  t->set_periods(Get(*stat, "nr_periods"));
  t->set_throttled_periods(Get(*stat, "nr_throttled"));
  t->set_throttled_time(Get(*stat, "throttled_time"));
  return absl::OkStatus();
}

absl::Status StatV1Cpuacct(const std::string& dir, v1::Metrics* m) {
  v1::CPUUsage* usage = m->mutable_cpu()->mutable_usage();
  // cpuacct.stat is "user <ticks>\nsystem <ticks>" in USER_HZ; containerd reports nanoseconds.
  std::string stat_path = Join(dir, "cpuacct.stat");
  ASSIGN_OR_RETURN(std::optional<std::string> stat, ReadOptional(stat_path));
  if (stat) {
    std::vector<absl::string_view> f =
        absl::StrSplit(*stat, absl::ByAnyChar(" \t\n"), absl::SkipEmpty());
    if (f.size() != 4 || f[0] != "user" || f[2] != "system") {
      return ErrInvalidArgument(absl::StrCat(stat_path, ": unexpected format"));
    }
    ASSIGN_OR_RETURN(uint64_t user, ParseUint(f[1], stat_path));
    ASSIGN_OR_RETURN(uint64_t system, ParseUint(f[3], stat_path));
    long ticks = ::sysconf(_SC_CLK_TCK);
    if (ticks <= 0) ticks = 100;
    usage->set_user(user * 1000000000ull / static_cast<uint64_t>(ticks));
    usage->set_kernel(system * 1000000000ull / static_cast<uint64_t>(ticks));
  }
  ASSIGN_OR_RETURN(std::optional<uint64_t> total, ReadUintOptional(Join(dir, "cpuacct.usage")));
  if (total) usage->set_total(*total);
  std::string percpu_path = Join(dir, "cpuacct.usage_percpu");
  ASSIGN_OR_RETURN(std::optional<std::string> percpu, ReadOptional(percpu_path));
  if (percpu) {
    for (absl::string_view v :
         absl::StrSplit(*percpu, absl::ByAnyChar(" \t\n"), absl::SkipEmpty())) {
      ASSIGN_OR_RETURN(uint64_t n, ParseUint(v, percpu_path));
      usage->add_per_cpu(n);
    }
  }
  return absl::OkStatus();
}

absl::Status StatV1Memory(const std::string& dir, v1::Metrics* m) {
  std::string stat_path = Join(dir, "memory.stat");
  ASSIGN_OR_RETURN(auto stat_or, ReadKeyedOptional(stat_path, /*strict=*/true));
  if (!stat_or) return absl::OkStatus();
  const std::map<std::string, uint64_t>& raw = *stat_or;
  v1::MemoryStat* s = m->mutable_memory();
  s->set_cache(Get(raw, "cache"));
  s->set_rss(Get(raw, "rss"));
  s->set_rss_huge(Get(raw, "rss_huge"));
  s->set_mapped_file(Get(raw, "mapped_file"));
  s->set_dirty(Get(raw, "dirty"));
  s->set_writeback(Get(raw, "writeback"));
  s->set_pg_pg_in(Get(raw, "pgpgin"));
  s->set_pg_pg_out(Get(raw, "pgpgout"));
  s->set_pg_fault(Get(raw, "pgfault"));
  s->set_pg_maj_fault(Get(raw, "pgmajfault"));
  s->set_inactive_anon(Get(raw, "inactive_anon"));
  s->set_active_anon(Get(raw, "active_anon"));
  s->set_inactive_file(Get(raw, "inactive_file"));
  s->set_active_file(Get(raw, "active_file"));
  s->set_unevictable(Get(raw, "unevictable"));
  s->set_hierarchical_memory_limit(Get(raw, "hierarchical_memory_limit"));
  s->set_hierarchical_swap_limit(Get(raw, "hierarchical_memsw_limit"));
  s->set_total_cache(Get(raw, "total_cache"));
  s->set_total_rss(Get(raw, "total_rss"));
  s->set_total_rss_huge(Get(raw, "total_rss_huge"));
  s->set_total_mapped_file(Get(raw, "total_mapped_file"));
  s->set_total_dirty(Get(raw, "total_dirty"));
  s->set_total_writeback(Get(raw, "total_writeback"));
  s->set_total_pg_pg_in(Get(raw, "total_pgpgin"));
  s->set_total_pg_pg_out(Get(raw, "total_pgpgout"));
  s->set_total_pg_fault(Get(raw, "total_pgfault"));
  s->set_total_pg_maj_fault(Get(raw, "total_pgmajfault"));
  s->set_total_inactive_anon(Get(raw, "total_inactive_anon"));
  s->set_total_active_anon(Get(raw, "total_active_anon"));
  s->set_total_inactive_file(Get(raw, "total_inactive_file"));
  s->set_total_active_file(Get(raw, "total_active_file"));
  s->set_total_unevictable(Get(raw, "total_unevictable"));

  ASSIGN_OR_RETURN(auto oom, ReadKeyedOptional(Join(dir, "memory.oom_control"), true));
  if (oom) {
    v1::MemoryOomControl* o = m->mutable_memory_oom_control();
    o->set_oom_kill_disable(Get(*oom, "oom_kill_disable"));
    o->set_under_oom(Get(*oom, "under_oom"));
    o->set_oom_kill(Get(*oom, "oom_kill"));
  }

  // memory.<module>.{usage_in_bytes,max_usage_in_bytes,failcnt,limit_in_bytes}. The entries are
  // always present, like containerd's; a module the kernel lacks (memsw without swap accounting,
  // kmem on newer kernels) leaves its entry zero.
  const std::pair<const char*, v1::MemoryEntry*> modules[] = {
      {"memory.", s->mutable_usage()},
      {"memory.memsw.", s->mutable_swap()},
      {"memory.kmem.", s->mutable_kernel()},
      {"memory.kmem.tcp.", s->mutable_kernel_tcp()},
  };
  for (const auto& [prefix, entry] : modules) {
    ASSIGN_OR_RETURN(auto usage,
                     ReadUintOptional(Join(dir, absl::StrCat(prefix, "usage_in_bytes"))));
    ASSIGN_OR_RETURN(auto max,
                     ReadUintOptional(Join(dir, absl::StrCat(prefix, "max_usage_in_bytes"))));
    ASSIGN_OR_RETURN(auto failcnt, ReadUintOptional(Join(dir, absl::StrCat(prefix, "failcnt"))));
    ASSIGN_OR_RETURN(auto limit,
                     ReadUintOptional(Join(dir, absl::StrCat(prefix, "limit_in_bytes"))));
    entry->set_usage(usage.value_or(0));
    entry->set_max(max.value_or(0));
    entry->set_failcnt(failcnt.value_or(0));
    entry->set_limit(limit.value_or(0));
  }
  return absl::OkStatus();
}

// /proc/partitions: (major, minor) -> "/dev/<name>", first occurrence wins.
std::map<std::pair<uint64_t, uint64_t>, std::string> ReadPartitions(const std::string& path) {
  std::map<std::pair<uint64_t, uint64_t>, std::string> out;
  absl::StatusOr<std::string> content = sys::ReadFile(path);
  if (!content.ok()) return out;  // names are a nicety; entries still carry major:minor
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(*content, '\n')) {
    if (line_no++ < 2) continue;  // header and blank line
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    uint64_t major, minor;
    if (f.size() < 4 || !absl::SimpleAtoi(f[0], &major) || !absl::SimpleAtoi(f[1], &minor)) {
      continue;
    }
    out.emplace(std::make_pair(major, minor), absl::StrCat("/dev/", f[3]));
  }
  return out;
}

// Parses a blkio.* file ("major:minor [op] value" lines and a "Total value" line) into entries.
absl::Status ParseBlkioFile(absl::string_view content, const std::string& path,
                            const std::map<std::pair<uint64_t, uint64_t>, std::string>& devices,
                            google::protobuf::RepeatedPtrField<v1::BlkIOEntry>* out) {
  for (absl::string_view line : absl::StrSplit(content, '\n', absl::SkipWhitespace())) {
    std::vector<absl::string_view> f =
        absl::StrSplit(line, absl::ByAnyChar(" :"), absl::SkipEmpty());
    if (f.size() == 2 && f[0] == "Total") continue;
    if (f.size() < 3)
      return ErrInvalidArgument(absl::StrCat(path, ": invalid line \"", line, "\""));
    uint64_t major, minor, value;
    if (!absl::SimpleAtoi(f[0], &major) || !absl::SimpleAtoi(f[1], &minor)) {
      return ErrInvalidArgument(absl::StrCat(path, ": invalid device in \"", line, "\""));
    }
    absl::string_view op;
    absl::string_view value_field = f[2];
    if (f.size() == 4) {
      op = f[2];
      value_field = f[3];
    }
    ASSIGN_OR_RETURN(value, ParseUint(value_field, path));
    v1::BlkIOEntry* e = out->Add();
    auto dev = devices.find({major, minor});
    if (dev != devices.end()) e->set_device(dev->second);
    e->set_major(major);
    e->set_minor(minor);
    e->set_op(std::string(op));
    e->set_value(value);
  }
  return absl::OkStatus();
}

absl::Status StatV1Blkio(const std::string& dir, const std::string& partitions, v1::Metrics* m) {
  v1::BlkIOStat* b = m->mutable_blkio();
  auto devices = ReadPartitions(partitions);
  using Field = google::protobuf::RepeatedPtrField<v1::BlkIOEntry>;
  auto read = [&](absl::string_view name, Field* out) -> absl::Status {
    std::string path = Join(dir, absl::StrCat("blkio.", name));
    ASSIGN_OR_RETURN(std::optional<std::string> content, ReadOptional(path));
    if (!content) return absl::OkStatus();
    return ParseBlkioFile(*content, path, devices, out);
  };
  // The CFQ statistics when the kernel has them (recursive: the whole subtree), else, or when the
  // cgroup's devices do not use CFQ, the throttle statistics, like containerd.
  if (Exists(Join(dir, "blkio.io_serviced_recursive"))) {
    RETURN_IF_ERROR(read("sectors_recursive", b->mutable_sectors_recursive()));
    RETURN_IF_ERROR(read("io_service_bytes_recursive", b->mutable_io_service_bytes_recursive()));
    RETURN_IF_ERROR(read("io_serviced_recursive", b->mutable_io_serviced_recursive()));
    RETURN_IF_ERROR(read("io_queued_recursive", b->mutable_io_queued_recursive()));
    RETURN_IF_ERROR(read("io_service_time_recursive", b->mutable_io_service_time_recursive()));
    RETURN_IF_ERROR(read("io_wait_time_recursive", b->mutable_io_wait_time_recursive()));
    RETURN_IF_ERROR(read("io_merged_recursive", b->mutable_io_merged_recursive()));
    RETURN_IF_ERROR(read("time_recursive", b->mutable_io_time_recursive()));
    if (b->ByteSizeLong() > 0) return absl::OkStatus();
  }
  RETURN_IF_ERROR(read("throttle.io_serviced", b->mutable_io_serviced_recursive()));
  return read("throttle.io_service_bytes", b->mutable_io_service_bytes_recursive());
}

// Units of containerd's page size names (go-units' CustomSize with base 1024).
constexpr const char* kUnits[] = {"B", "KB", "MB", "GB", "TB", "PB"};

// Huge page sizes as the hugetlb controller names them ("2MB", "1GB"), from the kernel's
// /sys/kernel/mm/hugepages/hugepages-<n>kB directories, in directory order.
std::vector<std::string> HugePageSizes(const std::string& hugepages_dir) {
  std::vector<std::string> out;
  absl::StatusOr<std::vector<std::string>> names = sys::ListDir(hugepages_dir);
  if (!names.ok()) return out;
  for (const std::string& name : *names) {
    absl::string_view s = name;
    uint64_t kib;
    if (!absl::ConsumePrefix(&s, "hugepages-") || !absl::ConsumeSuffix(&s, "kB") ||
        !absl::SimpleAtoi(s, &kib)) {
      continue;
    }
    double size = static_cast<double>(kib) * 1024;
    size_t unit = 0;
    while (size >= 1024 && unit + 1 < std::size(kUnits)) {
      size /= 1024;
      ++unit;
    }
    out.push_back(absl::StrFormat("%g%s", size, kUnits[unit]));
  }
  return out;
}

absl::Status StatV1Hugetlb(const std::string& dir, const std::string& hugepages_dir,
                           v1::Metrics* m) {
  for (const std::string& size : HugePageSizes(hugepages_dir)) {
    std::string prefix = absl::StrCat("hugetlb.", size, ".");
    ASSIGN_OR_RETURN(auto usage, ReadUintOptional(Join(dir, prefix + "usage_in_bytes")));
    ASSIGN_OR_RETURN(auto max, ReadUintOptional(Join(dir, prefix + "max_usage_in_bytes")));
    ASSIGN_OR_RETURN(auto failcnt, ReadUintOptional(Join(dir, prefix + "failcnt")));
    if (!usage && !max && !failcnt) continue;
    v1::HugetlbStat* h = m->add_hugetlb();
    h->set_pagesize(size);
    h->set_usage(usage.value_or(0));
    h->set_max(max.value_or(0));
    h->set_failcnt(failcnt.value_or(0));
  }
  return absl::OkStatus();
}

// ---- cgroup v2 ----

void ReadV2Io(const std::string& dir, v2::IOStat* io) {
  absl::StatusOr<std::string> content = sys::ReadFile(Join(dir, "io.stat"));
  if (!content.ok()) return;
  // "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" per device.
  for (absl::string_view line : absl::StrSplit(*content, '\n', absl::SkipWhitespace())) {
    std::vector<absl::string_view> parts = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (parts.size() < 2) continue;
    std::pair<absl::string_view, absl::string_view> majmin = absl::StrSplit(parts[0], ':');
    uint64_t major, minor;
    if (!absl::SimpleAtoi(majmin.first, &major) || !absl::SimpleAtoi(majmin.second, &minor)) {
      continue;
    }
    v2::IOEntry* e = io->add_usage();
    e->set_major(major);
    e->set_minor(minor);
    for (size_t i = 1; i < parts.size(); ++i) {
      std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(parts[i], '=');
      uint64_t v;
      if (!absl::SimpleAtoi(kv.second, &v)) continue;
      if (kv.first == "rbytes") e->set_rbytes(v);
      if (kv.first == "wbytes") e->set_wbytes(v);
      if (kv.first == "rios") e->set_rios(v);
      if (kv.first == "wios") e->set_wios(v);
    }
  }
}

// rdma.current / rdma.max: "mlx4_0 hca_handle=2 hca_object=2000" per device ("max" = no limit).
void ReadV2Rdma(const std::string& path, google::protobuf::RepeatedPtrField<v2::RdmaEntry>* out) {
  absl::StatusOr<std::string> content = sys::ReadFile(path);
  if (!content.ok()) return;
  for (absl::string_view line : absl::StrSplit(*content, '\n', absl::SkipWhitespace())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.size() != 3) continue;
    v2::RdmaEntry* e = out->Add();
    e->set_device(std::string(f[0]));
    for (size_t i = 1; i < 3; ++i) {
      std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(f[i], '=');
      uint32_t v = std::numeric_limits<uint32_t>::max();
      if (kv.second != "max" && !absl::SimpleAtoi(kv.second, &v)) continue;
      if (kv.first == "hca_handle") e->set_hca_handles(v);
      if (kv.first == "hca_object") e->set_hca_objects(v);
    }
  }
}

void ReadV2Hugetlb(const std::string& dir, v2::Metrics* m) {
  absl::StatusOr<std::vector<std::string>> names = sys::ListDir(dir);
  if (!names.ok()) return;
  std::map<std::string, v2::HugeTlbStat> by_size;
  for (const std::string& name : *names) {
    std::vector<absl::string_view> parts = absl::StrSplit(name, '.');
    // hugetlb.<size>.current and hugetlb.<size>.max (not .rsvd.*, .events, ...).
    if (parts.size() != 3 || parts[0] != "hugetlb") continue;
    if (parts[2] != "current" && parts[2] != "max") continue;
    absl::StatusOr<std::string> content = sys::ReadFile(Join(dir, name));
    if (!content.ok()) continue;
    absl::string_view value = absl::StripAsciiWhitespace(*content);
    uint64_t v = kMax;
    if (value != "max" && !absl::SimpleAtoi(value, &v)) continue;
    v2::HugeTlbStat& h = by_size[std::string(parts[1])];
    h.set_pagesize(std::string(parts[1]));
    if (parts[2] == "current") h.set_current(v);
    if (parts[2] == "max") h.set_max(v);
  }
  for (auto& [size, stat] : by_size) *m->add_hugetlb() = std::move(stat);
}

// A single-value v2 file: "max" reads as the largest uint64, a missing file as 0 (containerd).
uint64_t ReadV2Single(const std::string& path) {
  absl::StatusOr<std::string> content = sys::ReadFile(path);
  if (!content.ok()) return 0;
  absl::string_view s = absl::StripAsciiWhitespace(*content);
  if (s == "max") return kMax;
  return ParseUintLenient(s).value_or(0);
}


}  // namespace

CgroupMode DetectCgroupMode() {
  static const CgroupMode mode = [] {
    struct statfs st;
    if (::statfs(std::string(kUnifiedRoot).c_str(), &st) == 0 &&
        static_cast<uint64_t>(st.f_type) == CGROUP2_SUPER_MAGIC) {
      return CgroupMode::kUnified;
    }
    return CgroupMode::kV1;
  }();
  return mode;
}

absl::StatusOr<ProcCgroup> ParseProcCgroup(absl::string_view content) {
  ProcCgroup out;
  for (absl::string_view line : absl::StrSplit(content, '\n', absl::SkipWhitespace())) {
    // hierarchy-ID:controller-list:cgroup-path; the path may itself contain ':'.
    size_t first = line.find(':');
    size_t second = first == absl::string_view::npos ? first : line.find(':', first + 1);
    if (second == absl::string_view::npos) {
      return ErrInvalidArgument(absl::StrCat("invalid cgroup entry \"", line, "\""));
    }
    absl::string_view controllers = line.substr(first + 1, second - first - 1);
    std::string path(line.substr(second + 1));
    if (controllers.empty()) {
      out.unified = path;
      continue;
    }
    for (absl::string_view c : absl::StrSplit(controllers, ',', absl::SkipEmpty())) {
      out.controllers[std::string(c)] = path;
    }
  }
  return out;
}

std::map<std::string, std::string> V1ControllerDirs(const ProcCgroup& cgroup,
                                                    absl::string_view mountinfo) {
  // controller -> (mount point, root of the hierarchy that is mounted there).
  std::map<std::string, std::pair<std::string, std::string>> mounts;
  for (absl::string_view line : absl::StrSplit(mountinfo, '\n', absl::SkipWhitespace())) {
    // id parent major:minor root mount-point options [optional...] - fstype source super-options
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
    auto sep = std::find(f.begin(), f.end(), "-");
    if (f.size() < 5 || sep == f.end() || f.end() - sep < 4 || sep[1] != "cgroup") continue;
    for (absl::string_view opt : absl::StrSplit(sep[3], ',')) {
      mounts.emplace(std::string(opt), std::make_pair(std::string(f[4]), std::string(f[3])));
    }
  }
  std::map<std::string, std::string> dirs;
  for (const auto& [controller, path] : cgroup.controllers) {
    auto it = mounts.find(controller);
    if (it == mounts.end()) continue;
    const auto& [mount_point, root] = it->second;
    // Without a cgroup namespace, a container's mounts may show a sub-tree (root /docker/x) while
    // /proc/PID/cgroup shows full paths: make the path relative to the mounted root.
    absl::string_view rel = path;
    if (root != "/" && (rel == root || absl::StartsWith(rel, root + "/"))) {
      rel.remove_prefix(root.size());
    }
    rel = absl::StripSuffix(rel, "/");
    dirs[controller] = absl::StrCat(mount_point, rel);
  }
  return dirs;
}

absl::StatusOr<v1::Metrics> ReadV1Metrics(const V1Sources& sources) {
  v1::Metrics m;
  // containerd always fills cpu.usage and cpu.throttling, even without cpu controllers.
  m.mutable_cpu()->mutable_usage();
  m.mutable_cpu()->mutable_throttling();
  bool any = false;
  auto dir_of = [&](const char* controller) -> std::optional<std::string> {
    auto it = sources.dirs.find(controller);
    if (it == sources.dirs.end() || !Exists(it->second)) return std::nullopt;
    any = true;
    return it->second;
  };
  if (auto d = dir_of("pids")) RETURN_IF_ERROR(StatV1Pids(*d, &m));
  if (auto d = dir_of("cpu")) RETURN_IF_ERROR(StatV1Cpu(*d, &m));
  if (auto d = dir_of("cpuacct")) RETURN_IF_ERROR(StatV1Cpuacct(*d, &m));
  if (auto d = dir_of("memory")) RETURN_IF_ERROR(StatV1Memory(*d, &m));
  if (auto d = dir_of("blkio")) RETURN_IF_ERROR(StatV1Blkio(*d, sources.proc_partitions, &m));
  if (auto d = dir_of("hugetlb")) RETURN_IF_ERROR(StatV1Hugetlb(*d, sources.hugepages_dir, &m));
  if (!any) return ErrNotFound("cgroup");
  return m;
}

absl::StatusOr<v2::Metrics> ReadV2Metrics(const std::string& dir) {
  if (!Exists(Join(dir, "cgroup.controllers"))) {
    return ErrNotFound(absl::StrCat("cgroup ", dir));
  }
  // cpu.stat exists in every cgroup2 directory (usage only, unless the cpu controller is enabled);
  // memory.stat only with the memory controller.
  ASSIGN_OR_RETURN(auto cpu, ReadKeyedOptional(Join(dir, "cpu.stat"), /*strict=*/false));
  ASSIGN_OR_RETURN(auto mem, ReadKeyedOptional(Join(dir, "memory.stat"), /*strict=*/false));
  ASSIGN_OR_RETURN(auto events, ReadKeyedOptional(Join(dir, "memory.events"), /*strict=*/false));
  const std::map<std::string, uint64_t> empty;
  const auto& c = cpu ? *cpu : empty;
  const auto& s = mem ? *mem : empty;

  v2::Metrics m;
  m.mutable_pids()->set_current(ReadV2Single(Join(dir, "pids.current")));
  m.mutable_pids()->set_limit(ReadV2Single(Join(dir, "pids.max")));

  v2::CPUStat* cs = m.mutable_cpu();
  cs->set_usage_usec(Get(c, "usage_usec"));
  cs->set_user_usec(Get(c, "user_usec"));
  cs->set_system_usec(Get(c, "system_usec"));
  cs->set_nr_periods(Get(c, "nr_periods"));
  cs->set_nr_throttled(Get(c, "nr_throttled"));
  cs->set_throttled_usec(Get(c, "throttled_usec"));

  v2::MemoryStat* ms = m.mutable_memory();
  ms->set_anon(Get(s, "anon"));
  ms->set_file(Get(s, "file"));
  ms->set_kernel_stack(Get(s, "kernel_stack"));
  ms->set_slab(Get(s, "slab"));
  ms->set_sock(Get(s, "sock"));
  ms->set_shmem(Get(s, "shmem"));
  ms->set_file_mapped(Get(s, "file_mapped"));
  ms->set_file_dirty(Get(s, "file_dirty"));
  ms->set_file_writeback(Get(s, "file_writeback"));
  ms->set_anon_thp(Get(s, "anon_thp"));
  ms->set_inactive_anon(Get(s, "inactive_anon"));
  ms->set_active_anon(Get(s, "active_anon"));
  ms->set_inactive_file(Get(s, "inactive_file"));
  ms->set_active_file(Get(s, "active_file"));
  ms->set_unevictable(Get(s, "unevictable"));
  ms->set_slab_reclaimable(Get(s, "slab_reclaimable"));
  ms->set_slab_unreclaimable(Get(s, "slab_unreclaimable"));
  ms->set_pgfault(Get(s, "pgfault"));
  ms->set_pgmajfault(Get(s, "pgmajfault"));
  ms->set_workingset_refault(Get(s, "workingset_refault"));
  ms->set_workingset_activate(Get(s, "workingset_activate"));
  ms->set_workingset_nodereclaim(Get(s, "workingset_nodereclaim"));
  ms->set_pgrefill(Get(s, "pgrefill"));
  ms->set_pgscan(Get(s, "pgscan"));
  ms->set_pgsteal(Get(s, "pgsteal"));
  ms->set_pgactivate(Get(s, "pgactivate"));
  ms->set_pgdeactivate(Get(s, "pgdeactivate"));
  ms->set_pglazyfree(Get(s, "pglazyfree"));
  ms->set_pglazyfreed(Get(s, "pglazyfreed"));
  ms->set_thp_fault_alloc(Get(s, "thp_fault_alloc"));
  ms->set_thp_collapse_alloc(Get(s, "thp_collapse_alloc"));
  ms->set_usage(ReadV2Single(Join(dir, "memory.current")));
  ms->set_usage_limit(ReadV2Single(Join(dir, "memory.max")));
  ms->set_swap_usage(ReadV2Single(Join(dir, "memory.swap.current")));
  ms->set_swap_limit(ReadV2Single(Join(dir, "memory.swap.max")));

  if (events && !events->empty()) {
    v2::MemoryEvents* e = m.mutable_memory_events();
    e->set_low(Get(*events, "low"));
    e->set_high(Get(*events, "high"));
    e->set_max(Get(*events, "max"));
    e->set_oom(Get(*events, "oom"));
    e->set_oom_kill(Get(*events, "oom_kill"));
  }
  ReadV2Io(dir, m.mutable_io());
  v2::RdmaStat* rdma = m.mutable_rdma();
  ReadV2Rdma(Join(dir, "rdma.current"), rdma->mutable_current());
  ReadV2Rdma(Join(dir, "rdma.max"), rdma->mutable_limit());
  ReadV2Hugetlb(dir, &m);
  return m;
}

absl::StatusOr<ProcCgroup> ReadProcessCgroup(int pid) {
  ASSIGN_OR_RETURN(std::string proc_cgroup, ReadProcCgroup(pid));
  return ParseProcCgroup(proc_cgroup);
}

absl::StatusOr<google::protobuf::Any> CgroupMetrics(int pid) {
  ASSIGN_OR_RETURN(ProcCgroup cgroup, ReadProcessCgroup(pid));
  absl::StatusOr<google::protobuf::Any> metrics = CgroupMetrics(cgroup);
  if (!metrics.ok()) return Annotate(metrics.status(), absl::StrCat("metrics of process ", pid));
  return metrics;
}

absl::StatusOr<google::protobuf::Any> CgroupMetrics(const ProcCgroup& cgroup) {
  google::protobuf::Any any;
  if (DetectCgroupMode() == CgroupMode::kUnified) {
    if (!cgroup.unified) return ErrNotFound("no cgroup2 membership");
    ASSIGN_OR_RETURN(v2::Metrics m, ReadV2Metrics(absl::StrCat(kUnifiedRoot, *cgroup.unified)));
    any.set_type_url(std::string(kV2MetricsTypeUrl));
    m.SerializeToString(any.mutable_value());
    return any;
  }
  ASSIGN_OR_RETURN(std::string mountinfo, sys::ReadFile("/proc/self/mountinfo"));
  V1Sources sources;
  sources.dirs = V1ControllerDirs(cgroup, mountinfo);
  ASSIGN_OR_RETURN(v1::Metrics m, ReadV1Metrics(sources));
  any.set_type_url(std::string(kV1MetricsTypeUrl));
  m.SerializeToString(any.mutable_value());
  return any;
}

}  // namespace berth::shim
