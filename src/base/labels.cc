#include "base/labels.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "base/status.h"

namespace berth {

absl::Status ValidateLabel(absl::string_view key, absl::string_view value) {
  if (key.size() + value.size() > kMaxLabelSize) {
    return ErrInvalidArgument(absl::StrCat("label key and value greater than maximum size (",
                                           kMaxLabelSize, " bytes), key: ", key.substr(0, 10)));
  }
  return absl::OkStatus();
}

absl::Status ValidateLabels(const Labels& labels) {
  for (const auto& [k, v] : labels) RETURN_IF_ERROR(ValidateLabel(k, v));
  return absl::OkStatus();
}

Labels WithoutEmptyValues(const Labels& labels) {
  Labels out;
  for (const auto& [k, v] : labels) {
    if (!v.empty()) out.emplace(k, v);
  }
  return out;
}

void ApplyLabelPath(Labels& labels, const std::string& key, const Labels& from) {
  auto it = from.find(key);
  if (it == from.end() || it->second.empty()) {
    labels.erase(key);
  } else {
    labels[key] = it->second;
  }
}

std::string LabelsToJson(const Labels& labels) {
  if (labels.empty()) return "{}";
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : labels) j[k] = v;
  // Replace invalid UTF-8 rather than throw: labels come from clients.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::StatusOr<Labels> LabelsFromJson(absl::string_view json) {
  Labels labels;
  if (json.empty() || json == "{}") return labels;
  nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::DataLossError(absl::StrCat("stored labels are not a JSON object: ", json));
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.value().is_string()) {
      return absl::DataLossError(absl::StrCat("stored label ", it.key(), " is not a string"));
    }
    labels.emplace(it.key(), it.value().get<std::string>());
  }
  return labels;
}

}  // namespace berth
