#include "ctr_spec.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace berth::bench {

std::string CtrSpec(const std::string& ns, const std::string& id,
                    const std::vector<std::string>& args, const std::vector<std::string>& env) {
  return absl::StrCat(
      R"({"ociVersion":"1.0.2-dev","process":{"user":{"uid":0,"gid":0,"additionalGids":[0]},)",
      R"("args":)", nlohmann::json(args).dump(), R"(,"env":)", nlohmann::json(env).dump(), R"(,"cwd":"/",)",
      R"("capabilities":{"bounding":["CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_FSETID","CAP_FOWNER",)",
      R"("CAP_MKNOD","CAP_NET_RAW","CAP_SETGID","CAP_SETUID","CAP_SETFCAP","CAP_SETPCAP",)",
      R"("CAP_NET_BIND_SERVICE","CAP_SYS_CHROOT","CAP_KILL","CAP_AUDIT_WRITE"],)",
      R"("effective":["CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_FSETID","CAP_FOWNER","CAP_MKNOD",)",
      R"("CAP_NET_RAW","CAP_SETGID","CAP_SETUID","CAP_SETFCAP","CAP_SETPCAP",)",
      R"("CAP_NET_BIND_SERVICE","CAP_SYS_CHROOT","CAP_KILL","CAP_AUDIT_WRITE"],)",
      R"("permitted":["CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_FSETID","CAP_FOWNER","CAP_MKNOD",)",
      R"("CAP_NET_RAW","CAP_SETGID","CAP_SETUID","CAP_SETFCAP","CAP_SETPCAP",)",
      R"("CAP_NET_BIND_SERVICE","CAP_SYS_CHROOT","CAP_KILL","CAP_AUDIT_WRITE"]},)",
      R"("rlimits":[{"type":"RLIMIT_NOFILE","hard":1024,"soft":1024}],"noNewPrivileges":true},)",
      R"("root":{"path":"rootfs"},"mounts":[)",
      R"({"destination":"/proc","type":"proc","source":"proc",)",
      R"("options":["nosuid","noexec","nodev"]},)",
      R"({"destination":"/dev","type":"tmpfs","source":"tmpfs",)",
      R"("options":["nosuid","strictatime","mode=755","size=65536k"]},)",
      R"({"destination":"/dev/pts","type":"devpts","source":"devpts",)",
      R"("options":["nosuid","noexec","newinstance","ptmxmode=0666","mode=0620","gid=5"]},)",
      R"({"destination":"/dev/shm","type":"tmpfs","source":"shm",)",
      R"("options":["nosuid","noexec","nodev","mode=1777","size=65536k"]},)",
      R"({"destination":"/dev/mqueue","type":"mqueue","source":"mqueue",)",
      R"("options":["nosuid","noexec","nodev"]},)",
      R"({"destination":"/sys","type":"sysfs","source":"sysfs",)",
      R"("options":["nosuid","noexec","nodev","ro"]},)",
      R"({"destination":"/run","type":"tmpfs","source":"tmpfs",)",
      R"("options":["nosuid","strictatime","mode=755","size=65536k"]}],)",
      R"("linux":{"resources":{"devices":[{"allow":false,"access":"rwm"},)",
      R"({"allow":true,"type":"c","major":1,"minor":3,"access":"rwm"},)",
      R"({"allow":true,"type":"c","major":1,"minor":8,"access":"rwm"},)",
      R"({"allow":true,"type":"c","major":1,"minor":7,"access":"rwm"},)",
      R"({"allow":true,"type":"c","major":5,"minor":0,"access":"rwm"},)",
      R"({"allow":true,"type":"c","major":1,"minor":5,"access":"rwm"},)",
      R"({"allow":true,"type":"c","major":1,"minor":9,"access":"rwm"},)",
      R"({"allow":true,"type":"c","major":5,"minor":1,"access":"rwm"},)",
      R"({"allow":true,"type":"c","major":136,"access":"rwm"},)",
      R"({"allow":true,"type":"c","major":5,"minor":2,"access":"rwm"}]},)", R"("cgroupsPath":"/)",
      ns, "/", id, R"(",)",
      R"("namespaces":[{"type":"pid"},{"type":"ipc"},{"type":"uts"},{"type":"mount"},)",
      R"({"type":"network"}],)",
      R"("maskedPaths":["/proc/acpi","/proc/asound","/proc/kcore","/proc/keys",)",
      R"("/proc/latency_stats","/proc/timer_list","/proc/timer_stats","/proc/sched_debug",)",
      R"("/sys/firmware","/proc/scsi"],)",
      R"("readonlyPaths":["/proc/bus","/proc/fs","/proc/irq","/proc/sys",)",
      R"("/proc/sysrq-trigger"]}})");
}

}  // namespace berth::bench
