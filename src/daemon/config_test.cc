#include "daemon/config.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace berth::daemon {
namespace {

TEST(ConfigTest, DefaultsRoundTrip) {
  auto parsed = ParseConfig(DefaultConfigToml(), "default");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  Config want;
  EXPECT_EQ(parsed->root, want.root);
  EXPECT_EQ(parsed->state, want.state);
  EXPECT_EQ(parsed->grpc.address, want.grpc.address);
  EXPECT_EQ(parsed->debug.level, want.debug.level);
  EXPECT_EQ(parsed->gc_scheduler.pause_threshold, want.gc_scheduler.pause_threshold);
  EXPECT_EQ(parsed->gc_scheduler.deletion_threshold, want.gc_scheduler.deletion_threshold);
  EXPECT_EQ(parsed->gc_scheduler.mutation_threshold, want.gc_scheduler.mutation_threshold);
  EXPECT_EQ(parsed->gc_scheduler.schedule_delay, want.gc_scheduler.schedule_delay);
  EXPECT_FALSE(parsed->gc_scheduler.startup_delay.has_value());
  EXPECT_TRUE(Validate(*parsed).ok());
}

// containerd's defaults (gc/scheduler/scheduler.go), in containerd's key names and syntax.
TEST(ConfigTest, DefaultPrintsTheGcSchedulerSection) {
  const std::string text = DefaultConfigToml();
  for (const char* line :
       {"[plugins.\"io.containerd.gc.v1.scheduler\"]\n", "pause_threshold = 0.02\n",
        "deletion_threshold = 0\n", "mutation_threshold = 100\n", "schedule_delay = \"0s\"\n",
        "# startup_delay = \"100ms\"\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << " missing from\n" << text;
  }
  Config c;
  EXPECT_EQ(c.gc_scheduler.pause_threshold, 0.02);
  EXPECT_EQ(c.gc_scheduler.deletion_threshold, 0);
  EXPECT_EQ(c.gc_scheduler.mutation_threshold, 100);
  EXPECT_EQ(c.gc_scheduler.schedule_delay, absl::ZeroDuration());
  // Uncommented, the printed startup_delay is containerd's default.
  std::string uncommented = text;
  uncommented.replace(uncommented.find("# startup_delay"), 2, "");
  auto parsed = ParseConfig(uncommented, "default");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->gc_scheduler.startup_delay, absl::Milliseconds(100));
}

TEST(ConfigTest, ReadsTheGcSchedulerTable) {
  auto c = ParseConfig(R"(
version = 2
[plugins."io.containerd.gc.v1.scheduler"]
  pause_threshold = 0.1
  deletion_threshold = 5
  mutation_threshold = 0
  schedule_delay = "1.5s"
  startup_delay = "2m30s"
)",
                       "t.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->gc_scheduler.pause_threshold, 0.1);
  EXPECT_EQ(c->gc_scheduler.deletion_threshold, 5);
  EXPECT_EQ(c->gc_scheduler.mutation_threshold, 0);
  EXPECT_EQ(c->gc_scheduler.schedule_delay, absl::Milliseconds(1500));
  EXPECT_EQ(c->gc_scheduler.startup_delay, absl::Seconds(150));
  EXPECT_TRUE(Validate(*c).ok());

  // The dotted-key spelling of the same table, an integer threshold, and Go's other units.
  c = ParseConfig(
      "plugins.\"io.containerd.gc.v1.scheduler\".pause_threshold = 0\n"
      "plugins.\"io.containerd.gc.v1.scheduler\".schedule_delay = \"250\xC2\xB5s\"\n"
      "plugins.\"io.containerd.gc.v1.scheduler\".startup_delay = \"0\"\n",
      "t.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->gc_scheduler.pause_threshold, 0.0);
  EXPECT_EQ(c->gc_scheduler.schedule_delay, absl::Microseconds(250));
  EXPECT_EQ(c->gc_scheduler.startup_delay, absl::ZeroDuration()) << "set, to zero";
  EXPECT_EQ(c->gc_scheduler.mutation_threshold, 100) << "defaults stay for keys not given";

  // An empty table changes nothing; startup_delay stays unset.
  c = ParseConfig("[plugins.\"io.containerd.gc.v1.scheduler\"]\n", "t.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->gc_scheduler.startup_delay.has_value());
}

// Each message names the offending key the way it is written in TOML.
TEST(ConfigTest, GcSchedulerErrorsNameTheKey) {
  const std::string table = "[plugins.\"io.containerd.gc.v1.scheduler\"]\n";
  const std::string prefix = "plugins.\"io.containerd.gc.v1.scheduler\".";
  struct Case {
    std::string body;
    std::string key;
  };
  for (const Case& bad : std::vector<Case>{
           {"schedule_delay = \"soon\"", "schedule_delay"},
           {"schedule_delay = 100", "schedule_delay"},    // Go: a duration is a string
           {"startup_delay = \"100\"", "startup_delay"},  // no unit
           {"startup_delay = \"inf\"", "startup_delay"},
           {"schedule_delay = \"\"", "schedule_delay"},
           {"deletion_threshold = 1.5", "deletion_threshold"},
           {"mutation_threshold = \"100\"", "mutation_threshold"},
           {"mutation_threshold = 3000000000", "mutation_threshold"},
           {"pause_threshold = \"0.02\"", "pause_threshold"},
           {"pause_treshold = 0.02", "pause_treshold"},
       }) {
    auto c = ParseConfig(table + bad.body + "\n", "t.toml");
    ASSERT_FALSE(c.ok()) << bad.body;
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << bad.body;
    EXPECT_NE(c.status().message().find(prefix + bad.key), absl::string_view::npos)
        << bad.body << ": " << c.status();
    EXPECT_NE(c.status().message().find("t.toml"), absl::string_view::npos) << c.status();
  }
  auto c = ParseConfig(table + "schedule_delay = \"soon\"\n", "t.toml");
  EXPECT_NE(c.status().message().find("\"100ms\""), absl::string_view::npos)
      << "says what a duration looks like: " << c.status();

  // Values of the right type but out of range: parsed, then refused by Validate, where
  // containerd would clamp them silently.
  for (const Case& bad : std::vector<Case>{
           {"pause_threshold = 0.6", "pause_threshold"},
           {"pause_threshold = -0.1", "pause_threshold"},
           {"pause_threshold = nan", "pause_threshold"},
           {"deletion_threshold = -1", "deletion_threshold"},
           {"mutation_threshold = -5", "mutation_threshold"},
           {"schedule_delay = \"-1s\"", "schedule_delay"},
           {"startup_delay = \"-100ms\"", "startup_delay"},
       }) {
    auto parsed = ParseConfig(table + bad.body + "\n", "t.toml");
    ASSERT_TRUE(parsed.ok()) << bad.body << ": " << parsed.status();
    absl::Status st = Validate(*parsed);
    ASSERT_FALSE(st.ok()) << bad.body;
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(st.message().find(prefix + bad.key), absl::string_view::npos)
        << bad.body << ": " << st;
  }
  Config edge;
  edge.gc_scheduler.pause_threshold = 0.5;
  EXPECT_TRUE(Validate(edge).ok()) << "0.5 is containerd's maximum, allowed";
}

// containerd skips the tables of plugins it does not have; so does berthd, noting each one that
// says something. The gc scheduler's table is read, and must be a table.
TEST(ConfigTest, OtherPluginTablesAreIgnoredAndNoted) {
  auto c = ParseConfig(
      "[plugins.\"io.containerd.grpc.v1.cri\"]\n  sandbox_image = \"x\"\n"
      "[plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"\"\n"
      "[plugins.scheduler]\n  pause_threshold = 0.3\n",
      "t.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  std::vector<std::string> keys;
  for (const Config::Ignored& i : c->ignored) keys.push_back(i.key);
  // The opt table holds only an empty value: not worth a warning. containerd 1.x's version-1
  // spelling ([plugins.scheduler]) is another plugin id to version 2, so it is not read.
  EXPECT_EQ(keys, (std::vector<std::string>{"plugins.\"io.containerd.grpc.v1.cri\"",
                                            "plugins.\"scheduler\""}));
  EXPECT_EQ(c->gc_scheduler.pause_threshold, Config().gc_scheduler.pause_threshold);

  EXPECT_FALSE(ParseConfig("plugins = 3\n", "t.toml").ok());
  c = ParseConfig("[plugins]\n\"io.containerd.gc.v1.scheduler\" = 1\n", "t.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("must be a table"), absl::string_view::npos) << c.status();
  c = ParseConfig("[plugins.\"io.containerd.gc.v1.scheduler\"]\n  pause_treshold = 0.1\n",
                  "t.toml");
  ASSERT_FALSE(c.ok()) << "a typo inside a table berthd reads is still an error";
  EXPECT_NE(c.status().message().find("pause_treshold"), absl::string_view::npos) << c.status();
}

// What `containerd config default` (1.6) writes at the top level and in [grpc]/[debug]: keys
// berthd does not use are noted when they say something, and never an error.
TEST(ConfigTest, ContainerdKeysBerthdDoesNotUseAreNotedNotRefused) {
  auto c = ParseConfig(R"(
disabled_plugins = ["cri"]
imports = []
oom_score = -999
plugin_dir = ""
required_plugins = ["io.containerd.grpc.v1.tasks"]
temp = ""
version = 2
[cgroup]
  path = ""
[debug]
  address = ""
  format = "json"
  level = ""
[grpc]
  address = "/x/sock"
  max_recv_message_size = 16777216
  tcp_address = ""
[metrics]
  address = ""
  grpc_histogram = false
[ttrpc]
  address = ""
[timeouts]
  "io.containerd.timeout.shim.cleanup" = "5s"
)",
                       "t.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  std::vector<std::string> keys;
  for (const Config::Ignored& i : c->ignored) keys.push_back(i.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"\"disabled_plugins\"", "\"oom_score\"",
                                            "\"timeouts\"", "\"grpc.max_recv_message_size\"",
                                            "\"debug.format\""}));
  EXPECT_EQ(c->required_plugins, std::vector<std::string>{"io.containerd.grpc.v1.tasks"});
  EXPECT_EQ(c->debug.level, "info") << "\"\" is containerd's default level";
  EXPECT_EQ(c->grpc.address, "/x/sock");
  EXPECT_FALSE(ParseConfig("required_plugins = \"x\"\n", "t.toml").ok());
  EXPECT_FALSE(ParseConfig("required_plugins = [1]\n", "t.toml").ok());
}

TEST(ConfigTest, ReadsValues) {
  auto c = ParseConfig(R"(
version = 2
root = "/r"
state = "/s"
[grpc]
  address = "/s/sock"
  gid = 42
[debug]
  level = "debug"
[metadata]
  sync = "full"
)",
                       "t.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->root, "/r");
  EXPECT_EQ(c->grpc.address, "/s/sock");
  EXPECT_EQ(c->grpc.gid, 42);
  EXPECT_EQ(c->debug.level, "debug");
  EXPECT_EQ(c->metadata.sync, "full");
}

TEST(ConfigTest, UnknownKeysAreNamed) {
  auto c = ParseConfig("[grpc]\naddres = \"/x\"\n", "t.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("\"grpc.addres\""), absl::string_view::npos) << c.status();
  EXPECT_FALSE(ParseConfig("rooot = \"/x\"\n", "t.toml").ok());
}

TEST(ConfigTest, TypeAndSyntaxErrors) {
  EXPECT_FALSE(ParseConfig("root = 3\n", "t.toml").ok());
  EXPECT_FALSE(ParseConfig("[grpc]\nuid = \"zero\"\n", "t.toml").ok());
  EXPECT_FALSE(ParseConfig("version = 1\n", "t.toml").ok());
  auto bad = ParseConfig("root = \n", "t.toml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("t.toml:1"), absl::string_view::npos) << bad.status();
}

TEST(ConfigTest, ValidateRejectsRelativePathsAndBadLevels) {
  Config c;
  c.root = "relative";
  EXPECT_FALSE(Validate(c).ok());
  c = Config();
  c.debug.level = "loud";
  EXPECT_FALSE(Validate(c).ok());
  c = Config();
  c.state = c.root;
  EXPECT_FALSE(Validate(c).ok());
  c = Config();
  c.metadata.sync = "sometimes";
  EXPECT_FALSE(Validate(c).ok());
  c = Config();
  c.runtime.runc_shim = "crun";
  EXPECT_FALSE(Validate(c).ok());
}

TEST(ConfigTest, RuncShimSwitch) {
  auto c = ParseConfig("[runtime]\nrunc_shim = \"containerd\"\n", "t.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->runtime.runc_shim, "containerd");
  EXPECT_TRUE(Validate(*c).ok());
  EXPECT_EQ(Config().runtime.runc_shim, "berth");
  EXPECT_FALSE(ParseConfig("[runtime]\nshim = \"x\"\n", "t.toml").ok());
}

}  // namespace
}  // namespace berth::daemon
