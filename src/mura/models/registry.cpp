#include "mura/models/registry.h"

#include <functional>
#include <map>

#include "mura/models/densenet.h"
#include "mura/models/resnet.h"
#include "mura/util/error.h"
#include "mura/util/strings.h"

namespace mura::models {

namespace {

using Factory = std::function<std::shared_ptr<ClassifierImpl>(int64_t)>;

const std::map<std::string, Factory>& factories() {
  static const std::map<std::string, Factory> f = {
      {"resnet18", [](int64_t n) { return resnet18(n).ptr(); }},
      {"resnet34", [](int64_t n) { return resnet34(n).ptr(); }},
      {"resnet50", [](int64_t n) { return resnet50(n).ptr(); }},
      {"resnet101", [](int64_t n) { return resnet101(n).ptr(); }},
      {"resnet152", [](int64_t n) { return resnet152(n).ptr(); }},
      {"densenet121", [](int64_t n) { return densenet121(n).ptr(); }},
      {"densenet161", [](int64_t n) { return densenet161(n).ptr(); }},
      {"densenet169", [](int64_t n) { return densenet169(n).ptr(); }},
      {"densenet201", [](int64_t n) { return densenet201(n).ptr(); }},
  };
  return f;
}

}  // namespace

std::vector<std::string> known_architectures() {
  std::vector<std::string> names;
  for (const auto& [name, f] : factories()) names.push_back(name);
  return names;
}

std::string canonical_architecture(const std::string& name) {
  std::string key;
  for (char c : to_lower(name))
    if (c != '-' && c != '_') key += c;
  if (factories().count(key)) return key;
  throw Error("unknown architecture '" + name + "'; known: " + join(known_architectures(), ", "));
}

std::shared_ptr<ClassifierImpl> create_model(const std::string& name, int64_t num_outputs) {
  if (num_outputs < 1)
    throw Error("a model needs at least 1 output, got " + std::to_string(num_outputs));
  return factories().at(canonical_architecture(name))(num_outputs);
}

}  // namespace mura::models
