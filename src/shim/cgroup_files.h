// Reading cgroup interface files, shared by the metrics readers (cgroups.cc) and the OOM watcher
// (oom_watcher.cc). Internal to the shim's cgroup code.
// Thread-safety: pure functions over the file system.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::shim::cgroup_files {

// Where a unified (v2) hierarchy is mounted.
inline constexpr absl::string_view kUnifiedRoot = "/sys/fs/cgroup";

// dir + "/" + name.
std::string Join(const std::string& dir, absl::string_view name);
// The file's content, or nullopt when it does not exist.
absl::StatusOr<std::optional<std::string>> ReadOptional(const std::string& path);
bool Exists(const std::string& path);
// A decimal number, with surrounding whitespace; nullopt if it is not one.
std::optional<uint64_t> ParseUintLenient(absl::string_view s);
// Like ParseUintLenient; InvalidArgument naming `path` otherwise.
absl::StatusOr<uint64_t> ParseUint(absl::string_view s, const std::string& path);
absl::StatusOr<std::optional<uint64_t>> ReadUintOptional(const std::string& path);
// "key value" lines (memory.stat, cpu.stat, memory.events); `strict`: a bad line is an error.
absl::StatusOr<std::map<std::string, uint64_t>> ParseKeyed(absl::string_view content,
                                                           const std::string& path, bool strict);
absl::StatusOr<std::optional<std::map<std::string, uint64_t>>> ReadKeyedOptional(
    const std::string& path, bool strict);
// m[key], or 0.
uint64_t Get(const std::map<std::string, uint64_t>& m, const std::string& key);
// /proc/PID/cgroup; NotFound "process PID: not found" when the process is gone.
absl::StatusOr<std::string> ReadProcCgroup(int pid);

}  // namespace berth::shim::cgroup_files
