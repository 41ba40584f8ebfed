#include "mura/models/registry.h"

#include <functional>
#include <map>
#include <mutex>
#include <utility>

#include "mura/models/convnext.h"
#include "mura/models/densenet.h"
#include "mura/models/efficientnet.h"
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
      {"efficientnet_b0", [](int64_t n) { return efficientnet("b0", n).ptr(); }},
      {"efficientnet_b1", [](int64_t n) { return efficientnet("b1", n).ptr(); }},
      {"efficientnet_b2", [](int64_t n) { return efficientnet("b2", n).ptr(); }},
      {"efficientnet_b3", [](int64_t n) { return efficientnet("b3", n).ptr(); }},
      {"efficientnet_b4", [](int64_t n) { return efficientnet("b4", n).ptr(); }},
      {"efficientnet_b5", [](int64_t n) { return efficientnet("b5", n).ptr(); }},
      {"efficientnet_b6", [](int64_t n) { return efficientnet("b6", n).ptr(); }},
      {"efficientnet_b7", [](int64_t n) { return efficientnet("b7", n).ptr(); }},
      {"efficientnet_v2_s", [](int64_t n) { return efficientnet("v2_s", n).ptr(); }},
      {"efficientnet_v2_m", [](int64_t n) { return efficientnet("v2_m", n).ptr(); }},
      {"efficientnet_v2_l", [](int64_t n) { return efficientnet("v2_l", n).ptr(); }},
      {"convnext_tiny", [](int64_t n) { return convnext("tiny", n).ptr(); }},
      {"convnext_small", [](int64_t n) { return convnext("small", n).ptr(); }},
      {"convnext_base", [](int64_t n) { return convnext("base", n).ptr(); }},
  };
  return f;
}

/// A spelling without case, '-' and '_': "DenseNet-169" and "efficientnetV2_S" are keys.
std::string spelling_key(const std::string& name) {
  std::string key;
  for (char c : to_lower(name))
    if (c != '-' && c != '_') key += c;
  return key;
}

}  // namespace

std::vector<std::string> known_architectures() {
  std::vector<std::string> names;
  for (const auto& [name, f] : factories()) names.push_back(name);
  return names;
}

std::string canonical_architecture(const std::string& name) {
  const std::string key = spelling_key(name);
  for (const auto& [canonical, f] : factories())
    if (spelling_key(canonical) == key) return canonical;
  throw Error("unknown architecture '" + name + "'; known: " + join(known_architectures(), ", "));
}

std::string head_weight_key(const std::string& arch) {
  if (starts_with(arch, "resnet")) return "fc.weight";
  if (starts_with(arch, "efficientnet")) return "classifier.1.weight";
  if (starts_with(arch, "convnext")) return "classifier.2.weight";
  return "classifier.weight";
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
