#include "mura/models/registry.h"

#include <functional>
#include <map>
#include <mutex>
#include <utility>

#include "mura/models/densenet.h"
#include "mura/models/resnet.h"
#include "mura/util/error.h"
#include "mura/util/strings.h"

namespace mura::models {

namespace {

using Factory = std::function<std::shared_ptr<ClassifierImpl>(int64_t)>;

/// More outputs than any classification head needs (ImageNet: 1000; mura: 1 or 2): a
/// damaged file's count is refused before anything is allocated for it.
constexpr int64_t kMaxOutputs = 100000;

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
  if (num_outputs < 1 || num_outputs > kMaxOutputs)
    throw Error("a model needs 1 to " + std::to_string(kMaxOutputs) + " outputs, got " +
                std::to_string(num_outputs));
  return factories().at(canonical_architecture(name))(num_outputs);
}

const std::vector<TensorSpec>& tensor_specs(const std::string& name, int64_t num_outputs) {
  static std::mutex mutex;
  static std::map<std::pair<std::string, int64_t>, std::vector<TensorSpec>> cache;
  const auto key = std::make_pair(canonical_architecture(name), num_outputs);
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  const auto model = create_model(key.first, num_outputs);
  std::vector<TensorSpec> specs;
  for (const auto& p : model->named_parameters())
    specs.push_back({p.key(), p.value().sizes().vec(), p.value().scalar_type(), false});
  for (const auto& b : model->named_buffers())
    specs.push_back({b.key(), b.value().sizes().vec(), b.value().scalar_type(), true});
  return cache.emplace(key, std::move(specs)).first->second;
}

}  // namespace mura::models
