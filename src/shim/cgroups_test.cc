#include "shim/cgroups.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace berth::shim {
namespace {

namespace v1 = ::io::containerd::cgroups::v1;
namespace v2 = ::io::containerd::cgroups::v2;

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

void Write(const std::string& path, const std::string& content) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << content;
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/berth-cgroups-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// ---- /proc/PID/cgroup and mountinfo ----

TEST(ParseProcCgroupTest, SplitsControllersAndUnified) {
  auto c = ParseProcCgroup(
      "12:cpu,cpuacct:/docker/abc\n"
      "4:memory:/docker/abc\n"
      "1:name=systemd:/sys:tem\n"
      "0::/user.slice\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->controllers.at("cpu"), "/docker/abc");
  EXPECT_EQ(c->controllers.at("cpuacct"), "/docker/abc");
  EXPECT_EQ(c->controllers.at("memory"), "/docker/abc");
  EXPECT_EQ(c->controllers.at("name=systemd"), "/sys:tem") << "a path may contain ':'";
  ASSERT_TRUE(c->unified.has_value());
  EXPECT_EQ(*c->unified, "/user.slice");
  EXPECT_EQ(c->controllers.size(), 4u);

  auto pure_v2 = ParseProcCgroup("0::/\n");
  ASSERT_TRUE(pure_v2.ok());
  EXPECT_TRUE(pure_v2->controllers.empty());
  EXPECT_EQ(pure_v2->unified.value_or("?"), "/");

  EXPECT_EQ(ParseProcCgroup("garbage\n").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(V1ControllerDirsTest, JoinsMountPointAndPathRelativeToMountRoot) {
  const char* mountinfo =
      "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
      "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup "
      "rw,cpu,cpuacct\n"
      "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
      "39 31 0:36 /docker/abc /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
      "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
  ProcCgroup c;
  c.controllers = {{"cpu", "/a/b"},
                   {"cpuacct", "/a/b"},
                   {"memory", "/"},
                   {"pids", "/docker/abc/sub"},
                   {"blkio", "/a/b"}};
  c.unified = "/";
  auto dirs = V1ControllerDirs(c, mountinfo);
  EXPECT_EQ(dirs.at("cpu"), "/sys/fs/cgroup/cpu,cpuacct/a/b");
  EXPECT_EQ(dirs.at("cpuacct"), "/sys/fs/cgroup/cpu,cpuacct/a/b");
  EXPECT_EQ(dirs.at("memory"), "/sys/fs/cgroup/memory") << "the root cgroup";
  EXPECT_EQ(dirs.at("pids"), "/sys/fs/cgroup/pids/sub") << "mount shows a sub-tree";
  EXPECT_EQ(dirs.count("blkio"), 0u) << "no mount for blkio";
}

// ---- v1 metrics from a fixture tree ----

class V1FixtureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_.path();
    for (const char* c : {"memory", "pids", "cpu", "cpuacct", "blkio", "hugetlb"}) {
      sources_.dirs[c] = absl::StrCat(root_, "/", c, "/ctr");
      std::filesystem::create_directories(sources_.dirs[c]);
    }
    sources_.proc_partitions = root_ + "/partitions";
    sources_.hugepages_dir = root_ + "/hugepages";
    Write(sources_.proc_partitions,
          "major minor  #blocks  name\n\n 254        0  268435456 vda\n   8       16  1000 sdb\n");
    std::filesystem::create_directories(root_ + "/hugepages/hugepages-2048kB");
    std::filesystem::create_directories(root_ + "/hugepages/hugepages-1048576kB");
  }
  std::string Dir(const char* controller) { return sources_.dirs[controller]; }

  TempDir tmp_;
  std::string root_;
  V1Sources sources_;
};

TEST_F(V1FixtureTest, MapsFilesToContainerdFields) {
  std::string mem = Dir("memory");
  Write(mem + "/memory.stat",
        "cache 4096\nrss 8192\nrss_huge 0\nmapped_file 1\ndirty 2\nwriteback 3\npgpgin 10\n"
        "pgpgout 11\npgfault 12\npgmajfault 13\ninactive_anon 14\nactive_anon 15\n"
        "inactive_file 16\nactive_file 17\nunevictable 18\nhierarchical_memory_limit 8388608\n"
        "hierarchical_memsw_limit 9223372036854771712\ntotal_cache 20\ntotal_rss 21\n"
        "total_pgfault 22\ntotal_unevictable 23\n");
  Write(mem + "/memory.oom_control", "oom_kill_disable 0\nunder_oom 1\noom_kill 3\n");
  Write(mem + "/memory.usage_in_bytes", "1234\n");
  Write(mem + "/memory.max_usage_in_bytes", "5678\n");
  Write(mem + "/memory.failcnt", "7\n");
  Write(mem + "/memory.limit_in_bytes", "8388608\n");
  Write(mem + "/memory.kmem.usage_in_bytes", "99\n");
  Write(mem + "/memory.kmem.limit_in_bytes", "-1\n");  // older kernels print -1: reads as 0
  // No memory.memsw.* (swap accounting off) and no kmem.tcp: those entries stay zero.

  Write(Dir("pids") + "/pids.current", "3\n");
  Write(Dir("pids") + "/pids.max", "max\n");

  Write(Dir("cpu") + "/cpu.stat",
        "nr_periods 5\nnr_throttled 2\nthrottled_time 1000\nnr_bursts 0\nburst_time 0\n");
  Write(Dir("cpuacct") + "/cpuacct.usage", "123456789\n");
  Write(Dir("cpuacct") + "/cpuacct.usage_percpu", "100 200 \n");
  Write(Dir("cpuacct") + "/cpuacct.stat", "user 150\nsystem 50\n");

  // No CFQ files: the throttle files are read.
  Write(Dir("blkio") + "/blkio.throttle.io_serviced",
        "254:0 Read 10\n254:0 Write 20\n254:0 Sync 30\n254:0 Async 0\n254:0 Discard 0\n"
        "254:0 Total 30\n7:0 Read 1\nTotal 31\n");
  Write(Dir("blkio") + "/blkio.throttle.io_service_bytes", "8:16 Read 4096\nTotal 4096\n");

  Write(Dir("hugetlb") + "/hugetlb.2MB.usage_in_bytes", "2097152\n");
  Write(Dir("hugetlb") + "/hugetlb.2MB.max_usage_in_bytes", "4194304\n");
  Write(Dir("hugetlb") + "/hugetlb.2MB.failcnt", "1\n");
  Write(Dir("hugetlb") + "/hugetlb.1GB.usage_in_bytes", "0\n");
  Write(Dir("hugetlb") + "/hugetlb.1GB.max_usage_in_bytes", "0\n");
  Write(Dir("hugetlb") + "/hugetlb.1GB.failcnt", "0\n");

  auto m = ReadV1Metrics(sources_);
  ASSERT_TRUE(m.ok()) << m.status();

  EXPECT_EQ(m->pids().current(), 3u);
  EXPECT_EQ(m->pids().limit(), 0u) << "v1 reports no pids limit as 0";

  EXPECT_EQ(m->cpu().throttling().periods(), 5u);
  EXPECT_EQ(m->cpu().throttling().throttled_periods(), 2u);
  EXPECT_EQ(m->cpu().throttling().throttled_time(), 1000u);
  EXPECT_EQ(m->cpu().usage().total(), 123456789u);
  uint64_t tick_ns = 1000000000ull / static_cast<uint64_t>(sysconf(_SC_CLK_TCK));
  EXPECT_EQ(m->cpu().usage().user(), 150 * tick_ns) << "USER_HZ ticks become nanoseconds";
  EXPECT_EQ(m->cpu().usage().kernel(), 50 * tick_ns);
  ASSERT_EQ(m->cpu().usage().per_cpu_size(), 2);
  EXPECT_EQ(m->cpu().usage().per_cpu(1), 200u);

  const v1::MemoryStat& ms = m->memory();
  EXPECT_EQ(ms.cache(), 4096u);
  EXPECT_EQ(ms.rss(), 8192u);
  EXPECT_EQ(ms.pg_pg_in(), 10u);
  EXPECT_EQ(ms.pg_maj_fault(), 13u);
  EXPECT_EQ(ms.unevictable(), 18u);
  EXPECT_EQ(ms.hierarchical_memory_limit(), 8388608u);
  EXPECT_EQ(ms.hierarchical_swap_limit(), 9223372036854771712u) << "from hierarchical_memsw_limit";
  EXPECT_EQ(ms.total_rss(), 21u);
  EXPECT_EQ(ms.total_pg_fault(), 22u);
  EXPECT_EQ(ms.usage().usage(), 1234u);
  EXPECT_EQ(ms.usage().max(), 5678u);
  EXPECT_EQ(ms.usage().failcnt(), 7u);
  EXPECT_EQ(ms.usage().limit(), 8388608u);
  EXPECT_TRUE(ms.has_swap());
  EXPECT_EQ(ms.swap().usage(), 0u);
  EXPECT_EQ(ms.kernel().usage(), 99u);
  EXPECT_EQ(ms.kernel().limit(), 0u);
  EXPECT_TRUE(ms.has_kernel_tcp());
  EXPECT_EQ(m->memory_oom_control().under_oom(), 1u);
  EXPECT_EQ(m->memory_oom_control().oom_kill(), 3u);

  const v1::BlkIOStat& b = m->blkio();
  ASSERT_EQ(b.io_serviced_recursive_size(), 7) << "Total lines are skipped";
  EXPECT_EQ(b.io_serviced_recursive(0).device(), "/dev/vda");
  EXPECT_EQ(b.io_serviced_recursive(0).major(), 254u);
  EXPECT_EQ(b.io_serviced_recursive(0).minor(), 0u);
  EXPECT_EQ(b.io_serviced_recursive(0).op(), "Read");
  EXPECT_EQ(b.io_serviced_recursive(0).value(), 10u);
  EXPECT_EQ(b.io_serviced_recursive(6).device(), "") << "7:0 is not in /proc/partitions";
  ASSERT_EQ(b.io_service_bytes_recursive_size(), 1);
  EXPECT_EQ(b.io_service_bytes_recursive(0).device(), "/dev/sdb");
  EXPECT_EQ(b.io_service_bytes_recursive(0).value(), 4096u);

  ASSERT_EQ(m->hugetlb_size(), 2);
  EXPECT_EQ(m->hugetlb(0).pagesize(), "1GB") << "kernel directory order, containerd's names";
  EXPECT_EQ(m->hugetlb(1).pagesize(), "2MB");
  EXPECT_EQ(m->hugetlb(1).usage(), 2097152u);
  EXPECT_EQ(m->hugetlb(1).max(), 4194304u);
  EXPECT_EQ(m->hugetlb(1).failcnt(), 1u);
}

TEST_F(V1FixtureTest, PrefersCfqRecursiveStatsWhenPresent) {
  Write(Dir("blkio") + "/blkio.io_serviced_recursive", "8:16 Read 3\n8:16 Write 4\nTotal 7\n");
  Write(Dir("blkio") + "/blkio.io_service_bytes_recursive", "8:16 Read 300\nTotal 300\n");
  Write(Dir("blkio") + "/blkio.sectors_recursive", "8:16 6\n");
  Write(Dir("blkio") + "/blkio.time_recursive", "8:16 9\n");
  Write(Dir("blkio") + "/blkio.throttle.io_serviced", "8:16 Read 1000\nTotal 1000\n");
  auto m = ReadV1Metrics(sources_);
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->blkio().io_serviced_recursive_size(), 2);
  EXPECT_EQ(m->blkio().io_serviced_recursive(1).value(), 4u);
  ASSERT_EQ(m->blkio().sectors_recursive_size(), 1);
  EXPECT_EQ(m->blkio().sectors_recursive(0).op(), "") << "three-field lines have no op";
  EXPECT_EQ(m->blkio().sectors_recursive(0).value(), 6u);
  ASSERT_EQ(m->blkio().io_time_recursive_size(), 1);
  EXPECT_EQ(m->blkio().io_time_recursive(0).value(), 9u);
}

TEST_F(V1FixtureTest, MalformedFileIsAnError) {
  Write(Dir("memory") + "/memory.stat", "cache 1\nrss\n");
  EXPECT_EQ(ReadV1Metrics(sources_).status().code(), absl::StatusCode::kInvalidArgument);
  Write(Dir("memory") + "/memory.stat", "cache lots\n");
  EXPECT_EQ(ReadV1Metrics(sources_).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(V1FixtureTest, MissingControllersAreLeftOutAndNoneIsNotFound) {
  Write(Dir("pids") + "/pids.current", "1\n");
  Write(Dir("pids") + "/pids.max", "10\n");
  std::filesystem::remove_all(Dir("memory"));
  sources_.dirs.erase("cpu");
  auto m = ReadV1Metrics(sources_);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_FALSE(m->has_memory());
  EXPECT_EQ(m->pids().limit(), 10u);
  EXPECT_TRUE(m->cpu().has_usage()) << "containerd always fills cpu";

  for (auto& [c, dir] : sources_.dirs) std::filesystem::remove_all(dir);
  EXPECT_EQ(ReadV1Metrics(sources_).status().code(), absl::StatusCode::kNotFound);
}

// ---- v2 metrics from a fixture tree ----

TEST(V2FixtureTest, MapsFilesToContainerdFields) {
  TempDir tmp;
  std::string d = tmp.path();
  Write(d + "/cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma\n");
  Write(d + "/cpu.stat",
        "usage_usec 1000\nuser_usec 600\nsystem_usec 400\nnr_periods 7\nnr_throttled 3\n"
        "throttled_usec 50\nnr_bursts 0\nburst_usec 0\n");
  Write(d + "/memory.stat",
        "anon 4096\nfile 8192\nkernel_stack 16384\nslab 100\nsock 0\nshmem 1\nfile_mapped 2\n"
        "file_dirty 3\nfile_writeback 4\nanon_thp 5\ninactive_anon 6\nactive_anon 7\n"
        "inactive_file 8\nactive_file 9\nunevictable 10\nslab_reclaimable 11\n"
        "slab_unreclaimable 12\npgfault 13\npgmajfault 14\nworkingset_refault 15\n"
        "workingset_activate 16\nworkingset_nodereclaim 17\npgrefill 18\npgscan 19\n"
        "pgsteal 20\npgactivate 21\npgdeactivate 22\npglazyfree 23\npglazyfreed 24\n"
        "thp_fault_alloc 25\nthp_collapse_alloc 26\nzswap 0\n");
  Write(d + "/memory.current", "12345\n");
  Write(d + "/memory.max", "max\n");
  Write(d + "/memory.swap.current", "0\n");
  Write(d + "/memory.swap.max", "1048576\n");
  Write(d + "/memory.events", "low 0\nhigh 1\nmax 2\noom 3\noom_kill 4\noom_group_kill 0\n");
  Write(d + "/pids.current", "2\n");
  Write(d + "/pids.max", "max\n");
  Write(d + "/io.stat",
        "8:16 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0\n"
        "254:0 rbytes=10 wbytes=20 rios=30 wios=40 dbytes=0 dios=0\n");
  Write(d + "/hugetlb.2MB.current", "2097152\n");
  Write(d + "/hugetlb.2MB.max", "max\n");
  Write(d + "/hugetlb.2MB.rsvd.max", "0\n");
  Write(d + "/hugetlb.2MB.events", "max 0\n");
  Write(d + "/rdma.current", "mlx4_0 hca_handle=2 hca_object=2000\n");
  Write(d + "/rdma.max", "mlx4_0 hca_handle=max hca_object=10\n");

  auto m = ReadV2Metrics(d);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->pids().current(), 2u);
  EXPECT_EQ(m->pids().limit(), kMax) << "v2 reports no pids limit as the largest uint64";
  EXPECT_EQ(m->cpu().usage_usec(), 1000u);
  EXPECT_EQ(m->cpu().user_usec(), 600u);
  EXPECT_EQ(m->cpu().system_usec(), 400u);
  EXPECT_EQ(m->cpu().nr_periods(), 7u);
  EXPECT_EQ(m->cpu().nr_throttled(), 3u);
  EXPECT_EQ(m->cpu().throttled_usec(), 50u);
  const v2::MemoryStat& ms = m->memory();
  EXPECT_EQ(ms.anon(), 4096u);
  EXPECT_EQ(ms.file(), 8192u);
  EXPECT_EQ(ms.kernel_stack(), 16384u);
  EXPECT_EQ(ms.slab_unreclaimable(), 12u);
  EXPECT_EQ(ms.workingset_nodereclaim(), 17u);
  EXPECT_EQ(ms.thp_collapse_alloc(), 26u);
  EXPECT_EQ(ms.usage(), 12345u);
  EXPECT_EQ(ms.usage_limit(), kMax);
  EXPECT_EQ(ms.swap_usage(), 0u);
  EXPECT_EQ(ms.swap_limit(), 1048576u);
  ASSERT_TRUE(m->has_memory_events());
  EXPECT_EQ(m->memory_events().high(), 1u);
  EXPECT_EQ(m->memory_events().max(), 2u);
  EXPECT_EQ(m->memory_events().oom(), 3u);
  EXPECT_EQ(m->memory_events().oom_kill(), 4u);
  ASSERT_EQ(m->io().usage_size(), 2);
  EXPECT_EQ(m->io().usage(1).major(), 254u);
  EXPECT_EQ(m->io().usage(1).minor(), 0u);
  EXPECT_EQ(m->io().usage(1).rbytes(), 10u);
  EXPECT_EQ(m->io().usage(1).wbytes(), 20u);
  EXPECT_EQ(m->io().usage(1).rios(), 30u);
  EXPECT_EQ(m->io().usage(1).wios(), 40u);
  ASSERT_EQ(m->hugetlb_size(), 1) << "rsvd and events files are not page sizes";
  EXPECT_EQ(m->hugetlb(0).pagesize(), "2MB");
  EXPECT_EQ(m->hugetlb(0).current(), 2097152u);
  EXPECT_EQ(m->hugetlb(0).max(), kMax);
  ASSERT_EQ(m->rdma().current_size(), 1);
  EXPECT_EQ(m->rdma().current(0).device(), "mlx4_0");
  EXPECT_EQ(m->rdma().current(0).hca_handles(), 2u);
  EXPECT_EQ(m->rdma().current(0).hca_objects(), 2000u);
  EXPECT_EQ(m->rdma().limit(0).hca_handles(), std::numeric_limits<uint32_t>::max());
}

TEST(V2FixtureTest, SparseCgroupAndMissingCgroup) {
  TempDir tmp;
  std::string d = tmp.path();
  Write(d + "/cgroup.controllers", "\n");
  Write(d + "/cpu.stat", "usage_usec 5\nuser_usec 3\nsystem_usec 2\n");
  auto m = ReadV2Metrics(d);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->cpu().usage_usec(), 5u);
  EXPECT_EQ(m->memory().usage(), 0u);
  EXPECT_FALSE(m->has_memory_events()) << "no memory.events, no memory_events";
  EXPECT_EQ(m->pids().current(), 0u);

  EXPECT_EQ(ReadV2Metrics(d + "/gone").status().code(), absl::StatusCode::kNotFound);
  Write(d + "/memory.stat", "anon\n");
  EXPECT_EQ(ReadV2Metrics(d).status().code(), absl::StatusCode::kInvalidArgument);
}

// ---- CgroupMetrics on this host ----

pid_t DeadPid() {
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  waitpid(pid, nullptr, 0);
  return pid;
}

TEST(CgroupMetricsTest, OwnCgroupAndGoneProcess) {
  auto any = CgroupMetrics(getpid());
  ASSERT_TRUE(any.ok()) << any.status();
  if (DetectCgroupMode() == CgroupMode::kUnified) {
    EXPECT_EQ(any->type_url(), "io.containerd.cgroups.v2.Metrics");
    v2::Metrics m;
    ASSERT_TRUE(m.ParseFromString(any->value()));
    EXPECT_GT(m.pids().current(), 0u);
    EXPECT_GT(m.cpu().usage_usec(), 0u);
  } else {
    EXPECT_EQ(any->type_url(), "io.containerd.cgroups.v1.Metrics");
    v1::Metrics m;
    ASSERT_TRUE(m.ParseFromString(any->value()));
    EXPECT_GT(m.memory().usage().usage(), 0u) << "this process uses memory";
    EXPECT_GT(m.cpu().usage().total(), 0u);
  }
  EXPECT_EQ(CgroupMetrics(DeadPid()).status().code(), absl::StatusCode::kNotFound);
}

// ---- live cgroup v1: metrics and OOM of a child in a test cgroup ----

// Test cgroups /sys/fs/cgroup/<controller>/berth-test-<pid>-<n>; the processes put in them are
// killed and the directories removed on destruction, even when the test failed.
class ScopedV1Cgroup {
 public:
  // Empty `reason` when the cgroup could not be made here (then the test is skipped).
  static std::unique_ptr<ScopedV1Cgroup> Create(const std::vector<std::string>& controllers,
                                                std::string* reason) {
    if (geteuid() != 0) {
      *reason = "needs root";
      return nullptr;
    }
    if (DetectCgroupMode() != CgroupMode::kV1) {
      *reason = "host is not cgroup v1";
      return nullptr;
    }
    static int counter = 0;
    std::string name = absl::StrCat("berth-test-", getpid(), "-", counter++);
    std::unique_ptr<ScopedV1Cgroup> cg(new ScopedV1Cgroup);
    for (const std::string& c : controllers) {
      std::string dir = absl::StrCat("/sys/fs/cgroup/", c, "/", name);
      if (mkdir(dir.c_str(), 0755) != 0) {
        *reason = absl::StrCat("mkdir ", dir, ": ", strerror(errno));
        return nullptr;
      }
      cg->dirs_[c] = dir;
    }
    return cg;
  }

  ~ScopedV1Cgroup() {
    for (pid_t pid : children_) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    for (const auto& [c, dir] : dirs_) {
      // A killed process leaves its cgroup a moment after waitpid returns: retry briefly.
      for (int i = 0; i < 100 && rmdir(dir.c_str()) != 0 && errno == EBUSY; ++i) {
        usleep(20000);
      }
      if (access(dir.c_str(), F_OK) == 0) ADD_FAILURE() << "could not remove " << dir;
    }
  }

  const std::string& dir(const std::string& controller) { return dirs_.at(controller); }

  bool Set(const std::string& controller, const std::string& file, const std::string& value) {
    std::ofstream f(dir(controller) + "/" + file);
    f << value;
    f.flush();
    return f.good();
  }

  // Forks a child that moves itself into every controller of the cgroup and then runs `body`
  // (which must not return: exec or _exit). Returns once the child is inside.
  pid_t Spawn(void (*body)()) {
    std::vector<std::string> procs;
    for (const auto& [c, dir] : dirs_) procs.push_back(dir + "/cgroup.procs");
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
      close(p[0]);
      char ok = 'k';
      for (const std::string& path : procs) {
        int fd = open(path.c_str(), O_WRONLY);
        if (fd < 0 || write(fd, "0", 1) != 1) ok = 'f';  // "0": the writing process
        if (fd >= 0) close(fd);
      }
      if (write(p[1], &ok, 1) != 1 || ok != 'k') _exit(127);
      close(p[1]);
      body();
      _exit(127);
    }
    close(p[1]);
    if (pid < 0) {
      close(p[0]);
      return -1;
    }
    children_.push_back(pid);
    char c = 0;
    ssize_t n = read(p[0], &c, 1);
    close(p[0]);
    return n == 1 && c == 'k' ? pid : -1;
  }

 private:
  std::map<std::string, std::string> dirs_;
  std::vector<pid_t> children_;
};

void Sleep30() { execl("/bin/sleep", "sleep", "30", static_cast<char*>(nullptr)); }

void Allocate64MiB() {
  const size_t size = 64 << 20;
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) _exit(126);
  for (size_t off = 0; off < size; off += 4096) static_cast<volatile char*>(p)[off] = 1;
  _exit(0);  // the limit did not hold
}

TEST(CgroupV1LiveTest, MetricsOfAProcessInATestCgroup) {
  std::string reason;
  auto cg = ScopedV1Cgroup::Create({"memory", "pids"}, &reason);
  if (!cg) GTEST_SKIP() << reason;
  ASSERT_TRUE(cg->Set("pids", "pids.max", "10"));
  pid_t child = cg->Spawn(Sleep30);
  ASSERT_GT(child, 0);

  // The exec'd sleep charges its pages to the new cgroup a moment after it is moved.
  v1::Metrics m;
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  do {
    auto any = CgroupMetrics(child);
    ASSERT_TRUE(any.ok()) << any.status();
    ASSERT_EQ(any->type_url(), "io.containerd.cgroups.v1.Metrics");
    ASSERT_TRUE(m.ParseFromString(any->value()));
    if (m.memory().usage().usage() > 0) break;
    absl::SleepFor(absl::Milliseconds(20));
  } while (absl::Now() < deadline);
  EXPECT_EQ(m.pids().current(), 1u);
  EXPECT_EQ(m.pids().limit(), 10u);
  EXPECT_GT(m.memory().usage().usage(), 0u);
  EXPECT_GT(m.memory().usage().limit(), 0u);
  EXPECT_TRUE(m.has_memory_oom_control());
  EXPECT_EQ(m.memory_oom_control().oom_kill(), 0u);
}

TEST(CgroupV1LiveTest, OomKillIsReported) {
  std::string reason;
  auto cg = ScopedV1Cgroup::Create({"memory"}, &reason);
  if (!cg) GTEST_SKIP() << reason;
  ASSERT_TRUE(cg->Set("memory", "memory.limit_in_bytes", "8388608"));
  // Without swap accounting (no memsw files) swap may absorb the allocation; this host has none.
  if (access((cg->dir("memory") + "/memory.memsw.limit_in_bytes").c_str(), F_OK) == 0) {
    ASSERT_TRUE(cg->Set("memory", "memory.memsw.limit_in_bytes", "8388608"));
  }
  auto loop = sys::EventLoop::Create();
  ASSERT_TRUE(loop.ok()) << loop.status();

  // A process that waits in the cgroup, so that Start(pid) finds it; the allocating child comes
  // after the watcher is in place.
  pid_t sleeper = cg->Spawn(Sleep30);
  ASSERT_GT(sleeper, 0);
  int ooms = 0;
  auto watcher = OomWatcher::Start(loop->get(), sleeper, [&] {
    ++ooms;
    (*loop)->Stop();
  });
  ASSERT_TRUE(watcher.ok()) << watcher.status();

  pid_t hog = cg->Spawn(Allocate64MiB);
  ASSERT_GT(hog, 0);
  sys::EventLoop::TimerId timeout = (*loop)->After(absl::Seconds(20), [&] { (*loop)->Stop(); });
  ASSERT_TRUE((*loop)->Run().ok());
  (*loop)->Cancel(timeout);
  EXPECT_GE(ooms, 1) << "no OOM notification within 20s";

  int status = 0;
  ASSERT_EQ(waitpid(hog, &status, 0), hog);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the OOM killer should have killed the allocating child, status " << status;

  auto any = CgroupMetrics(sleeper);
  ASSERT_TRUE(any.ok()) << any.status();
  v1::Metrics m;
  ASSERT_TRUE(m.ParseFromString(any->value()));
  // (memory.failcnt is not a reliable witness: recent kernels stopped counting it.)
  EXPECT_EQ(m.memory().usage().max(), 8388608u) << "usage peaked at the limit";
  EXPECT_GE(m.memory_oom_control().oom_kill(), 1u);
}

TEST(CgroupV1LiveTest, RemovingTheCgroupEndsWatchingWithoutAnOom) {
  std::string reason;
  auto cg = ScopedV1Cgroup::Create({"memory"}, &reason);
  if (!cg) GTEST_SKIP() << reason;
  auto loop = sys::EventLoop::Create();
  ASSERT_TRUE(loop.ok()) << loop.status();
  int ooms = 0;
  auto watcher =
      OomWatcher::StartAt(loop->get(), CgroupMode::kV1, cg->dir("memory"), [&] { ++ooms; });
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  ASSERT_EQ(rmdir(cg->dir("memory").c_str()), 0) << strerror(errno);
  // The kernel signals the eventfd when the cgroup goes away (asynchronously).
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  std::function<void()> poll = [&] {
    if (!(*watcher)->watching() || absl::Now() > deadline) {
      (*loop)->Stop();
      return;
    }
    (*loop)->After(absl::Milliseconds(10), poll);
  };
  (*loop)->After(absl::Milliseconds(10), poll);
  ASSERT_TRUE((*loop)->Run().ok());
  EXPECT_FALSE((*watcher)->watching());
  EXPECT_EQ(ooms, 0);
}

// ---- OomWatcher on a fixture (the unified logic; v1 needs the kernel) ----

TEST(OomWatcherTest, UnifiedReportsIncreasesOfOomKill) {
  TempDir tmp;
  std::string d = tmp.path();
  Write(d + "/memory.events", "low 0\nhigh 0\nmax 0\noom 1\noom_kill 1\n");
  auto loop = sys::EventLoop::Create();
  ASSERT_TRUE(loop.ok());
  int ooms = 0;
  auto w = OomWatcher::StartAt(loop->get(), CgroupMode::kUnified, d, [&] { ++ooms; });
  ASSERT_TRUE(w.ok()) << w.status();

  auto run_briefly = [&] {
    (*loop)->After(absl::Milliseconds(100), [&] { (*loop)->Stop(); });
    ASSERT_TRUE((*loop)->Run().ok());
  };
  run_briefly();
  EXPECT_EQ(ooms, 0) << "kills before the watch started are not reported";

  Write(d + "/memory.events", "low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\n");
  run_briefly();
  EXPECT_EQ(ooms, 0) << "other counters changing is no OOM";

  Write(d + "/memory.events", "low 0\nhigh 0\nmax 6\noom 2\noom_kill 2\n");
  run_briefly();
  EXPECT_EQ(ooms, 1);

  // Flush delivers a recorded kill before the loop has seen the change.
  Write(d + "/memory.events", "low 0\nhigh 0\nmax 6\noom 3\noom_kill 3\n");
  (*w)->Flush();
  EXPECT_EQ(ooms, 2);
  run_briefly();
  EXPECT_EQ(ooms, 2) << "the same kill is not reported twice";
  EXPECT_TRUE((*w)->watching());

  std::filesystem::remove(d + "/memory.events");
  run_briefly();
  EXPECT_FALSE((*w)->watching()) << "the cgroup is gone";
  EXPECT_EQ(ooms, 2);
}

TEST(OomWatcherTest, CallbackMayDestroyTheWatcher) {
  TempDir tmp;
  std::string d = tmp.path();
  Write(d + "/memory.events", "oom_kill 0\n");
  auto loop = sys::EventLoop::Create();
  ASSERT_TRUE(loop.ok());
  std::unique_ptr<OomWatcher> watcher;
  int ooms = 0;
  auto w = OomWatcher::StartAt(loop->get(), CgroupMode::kUnified, d, [&] {
    ++ooms;
    watcher.reset();
    (*loop)->Stop();
  });
  ASSERT_TRUE(w.ok()) << w.status();
  watcher = std::move(*w);
  Write(d + "/memory.events", "oom_kill 1\n");
  (*loop)->After(absl::Seconds(5), [&] { (*loop)->Stop(); });
  ASSERT_TRUE((*loop)->Run().ok());
  EXPECT_EQ(ooms, 1);
  EXPECT_EQ(watcher, nullptr);
}

TEST(OomWatcherTest, Errors) {
  TempDir tmp;
  auto loop = sys::EventLoop::Create();
  ASSERT_TRUE(loop.ok());
  auto noop = [] {};
  for (CgroupMode mode : {CgroupMode::kV1, CgroupMode::kUnified}) {
    EXPECT_EQ(OomWatcher::StartAt(loop->get(), mode, tmp.path(), noop).status().code(),
              absl::StatusCode::kUnimplemented)
        << "a cgroup without the memory controller";
    EXPECT_EQ(OomWatcher::StartAt(loop->get(), mode, tmp.path() + "/gone", noop).status().code(),
              absl::StatusCode::kNotFound);
  }
  EXPECT_EQ(OomWatcher::Start(loop->get(), DeadPid(), noop).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace berth::shim
