#include "shim/flags.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace berth::shim {
namespace {

absl::StatusOr<bool> ParseBool(absl::string_view name, absl::string_view value) {
  // strconv.ParseBool's accepted spellings.
  for (absl::string_view t : {"1", "t", "T", "true", "TRUE", "True"}) {
    if (value == t) return true;
  }
  for (absl::string_view f : {"0", "f", "F", "false", "FALSE", "False"}) {
    if (value == f) return false;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("invalid boolean value \"", value, "\" for -", name));
}

}  // namespace

absl::StatusOr<Flags> ParseFlags(const std::vector<std::string>& args) {
  Flags flags;
  size_t i = 0;
  for (; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (arg.size() < 2 || arg[0] != '-') break;  // "-" alone is an argument too
    if (arg == "--") {
      ++i;
      break;
    }
    arg.remove_prefix(arg[1] == '-' ? 2 : 1);
    if (arg.empty() || arg[0] == '-' || arg[0] == '=') {
      return absl::InvalidArgumentError(absl::StrCat("bad flag syntax: ", args[i]));
    }
    std::string name(arg);
    std::string value;
    bool has_value = false;
    if (size_t eq = arg.find('='); eq != absl::string_view::npos) {
      name = std::string(arg.substr(0, eq));
      value = std::string(arg.substr(eq + 1));
      has_value = true;
    }
    bool* boolean = nullptr;
    if (name == "debug") boolean = &flags.debug;
    if (name == "v") boolean = &flags.version;
    if (boolean != nullptr) {
      if (!has_value) {
        *boolean = true;
      } else {
        auto b = ParseBool(name, value);
        if (!b.ok()) return b.status();
        *boolean = *b;
      }
      continue;
    }
    std::string* target = nullptr;
    if (name == "namespace") target = &flags.namespace_;
    if (name == "address") target = &flags.address;
    if (name == "publish-binary") target = &flags.publish_binary;
    if (name == "id") target = &flags.id;
    if (name == "bundle") target = &flags.bundle;
    if (name == "socket") target = &flags.socket;
    if (target == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("flag provided but not defined: -", name));
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(absl::StrCat("flag needs an argument: -", name));
      }
      value = args[++i];
    }
    *target = std::move(value);
  }
  if (i < args.size()) flags.action = args[i];
  return flags;
}

std::vector<std::string> ServeArgs(const Flags& flags) {
  std::vector<std::string> args = {"-namespace",      flags.namespace_,    "-id",
                                   flags.id,          "-address",          flags.address,
                                   "-publish-binary", flags.publish_binary};
  if (!flags.bundle.empty()) {
    args.push_back("-bundle");
    args.push_back(flags.bundle);
  }
  if (flags.debug) args.push_back("-debug");
  return args;
}

}  // namespace berth::shim
