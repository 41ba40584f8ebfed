#include "mura/weights/torchvision.h"

#include <torch/torch.h>

#include <map>
#include <regex>
#include <sstream>

#include "mura/models/registry.h"
#include "mura/util/error.h"
#include "mura/util/strings.h"

namespace mura::weights {

namespace {

std::string shape_str(c10::IntArrayRef s) {
  std::ostringstream o;
  o << "[";
  for (std::size_t i = 0; i < s.size(); ++i) o << (i ? ", " : "") << s[i];
  o << "]";
  return o.str();
}

std::string list_some(const std::vector<std::string>& keys, std::size_t n = 8) {
  std::vector<std::string> shown(keys.begin(), keys.begin() + std::min(n, keys.size()));
  std::string s = join(shown, ", ");
  if (keys.size() > n) s += ", ... (" + std::to_string(keys.size() - n) + " more)";
  return s;
}

bool ends_with_nbt(const std::string& k) {
  return ends_with(k, ".num_batches_tracked");
}

}  // namespace

std::string remap_legacy_key(const std::string& key) {
  // torchvision.models.densenet._load_state_dict's pattern (plus num_batches_tracked, which
  // torchvision's own legacy files never have but a re-saved legacy file may).
  static const std::regex pattern(
      R"(^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var|num_batches_tracked))$)");
  std::smatch m;
  if (std::regex_match(key, m, pattern)) return m[1].str() + m[2].str();
  return key;
}

std::optional<std::string> guess_architecture(const StateDict& sd) {
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& t : sd) shapes[remap_legacy_key(t.name)] = t.tensor.sizes().vec();
  auto count_prefix = [&](const std::string& prefix, const std::string& suffix) {
    std::size_t n = 0;
    for (const auto& [k, s] : shapes)
      if (starts_with(k, prefix) && ends_with(k, suffix)) ++n;
    return n;
  };
  if (shapes.count("features.conv0.weight")) {
    const std::size_t b3 = count_prefix("features.denseblock3.", ".conv2.weight");
    const int64_t init = shapes["features.conv0.weight"].at(0);
    if (init == 96 && b3 == 36) return "densenet161";
    if (init == 64 && b3 == 24) return "densenet121";
    if (init == 64 && b3 == 32) return "densenet169";
    if (init == 64 && b3 == 48) return "densenet201";
    return std::nullopt;
  }
  if (shapes.count("features.0.0.weight") && shapes["features.0.0.weight"].size() == 4) {
    // EfficientNet (blocks hold block.0.0, a Conv2dNormActivation) or ConvNeXt (block.0, a
    // convolution): the stem's channels, the number of blocks and the head's inputs tell
    // the variants apart (tests/models/parity_test.cpp checks every one).
    static const std::regex mbconv(R"(^features\.\d+\.\d+\.block\.0\.0\.weight$)");
    static const std::regex cnblock(R"(^features\.\d+\.\d+\.block\.0\.weight$)");
    const bool convnext = shapes.count("classifier.2.weight") > 0;
    const auto head = shapes.find(convnext ? "classifier.2.weight" : "classifier.1.weight");
    if (head == shapes.end() || head->second.size() != 2) return std::nullopt;
    std::size_t blocks = 0;
    for (const auto& [k, s] : shapes)
      if (std::regex_match(k, convnext ? cnblock : mbconv)) ++blocks;
    struct Signature {
      const char* arch;
      int64_t stem;
      std::size_t blocks;
      int64_t features;
    };
    static const Signature known[] = {
        {"efficientnet_b0", 32, 16, 1280},   {"efficientnet_b1", 32, 23, 1280},
        {"efficientnet_b2", 32, 23, 1408},   {"efficientnet_b3", 40, 26, 1536},
        {"efficientnet_b4", 48, 32, 1792},   {"efficientnet_b5", 48, 39, 2048},
        {"efficientnet_b6", 56, 45, 2304},   {"efficientnet_b7", 64, 55, 2560},
        {"efficientnet_v2_s", 24, 40, 1280}, {"efficientnet_v2_m", 24, 57, 1280},
        {"efficientnet_v2_l", 32, 79, 1280}, {"convnext_tiny", 96, 18, 768},
        {"convnext_small", 96, 36, 768},     {"convnext_base", 128, 36, 1024},
    };
    const int64_t stem = shapes["features.0.0.weight"][0];
    for (const auto& k : known)
      if (starts_with(k.arch, convnext ? "convnext" : "efficientnet") && k.stem == stem &&
          k.blocks == blocks && k.features == head->second[1])
        return std::string(k.arch);
    return std::nullopt;
  }
  if (shapes.count("conv1.weight") && shapes.count("layer1.0.conv1.weight")) {
    const bool bottleneck = shapes.count("layer1.0.conv3.weight") > 0;
    const std::size_t l3 = count_prefix("layer3.", ".conv1.weight");
    if (!bottleneck && l3 == 2) return "resnet18";
    if (!bottleneck && l3 == 6) return "resnet34";
    if (bottleneck && l3 == 6) return "resnet50";
    if (bottleneck && l3 == 23) return "resnet101";
    if (bottleneck && l3 == 36) return "resnet152";
  }
  return std::nullopt;
}

LoadReport load_state_dict(models::ClassifierImpl& model, const StateDict& sd,
                           const std::string& source, const LoadOptions& options) {
  LoadReport report;
  std::map<std::string, torch::Tensor> file;
  for (const auto& t : sd) {
    const std::string k = remap_legacy_key(t.name);
    if (k != t.name) ++report.remapped;
    if (!file.emplace(k, t.tensor).second)
      throw Error(source + ": key '" + k + "' appears twice (after legacy-name mapping)");
  }
  std::map<std::string, torch::Tensor> dest;
  for (auto& p : model.named_parameters()) dest[p.key()] = p.value();
  for (auto& b : model.named_buffers()) dest[b.key()] = b.value();

  std::vector<std::string> missing, unexpected;
  for (const auto& [k, t] : dest)
    if (!file.count(k) && !ends_with_nbt(k)) missing.push_back(k);
  for (const auto& [k, t] : file)
    if (!dest.count(k)) unexpected.push_back(k);
  if (!missing.empty() || !unexpected.empty()) {
    const auto guess = guess_architecture(sd);
    if (guess && *guess != model.arch())
      throw Error(source + ": wrong architecture: the file holds " + *guess + " weights, not " +
                  model.arch() + " (pass --arch " + *guess + ")");
    if (!missing.empty())
      throw Error(source + ": " + std::to_string(missing.size()) + " key(s) that " + model.arch() +
                  " needs are missing from the file: " + list_some(missing));
    throw Error(source + ": the file has " + std::to_string(unexpected.size()) + " key(s) that " +
                model.arch() + " does not have: " + list_some(unexpected));
  }

  const std::string head_prefix = std::string(model.head_name()) + ".";
  torch::NoGradGuard no_grad;
  for (auto& [k, target] : dest) {
    auto it = file.find(k);
    if (it == file.end()) {  // num_batches_tracked absent from pre-0.4.1 files
      target.zero_();
      ++report.defaulted;
      continue;
    }
    const torch::Tensor& src = it->second;
    if (src.sizes() != target.sizes()) {
      if (options.allow_head_mismatch && starts_with(k, head_prefix)) {
        report.skipped_head.push_back(k);
        continue;
      }
      throw Error(source + ": shape mismatch for '" + k + "': " + model.arch() + " expects " +
                  shape_str(target.sizes()) + ", the file has " + shape_str(src.sizes()));
    }
    target.copy_(src.to(target.dtype()));
    ++report.loaded;
  }
  return report;
}

StateDict model_state_dict(models::ClassifierImpl& model) {
  StateDict sd;
  for (auto& p : model.named_parameters()) sd.push_back({p.key(), p.value()});
  for (auto& b : model.named_buffers()) sd.push_back({b.key(), b.value()});
  return sd;
}

LoadReport load_torchvision_weights(models::ClassifierImpl& model, const std::filesystem::path& pth,
                                    const LoadOptions& options) {
  return load_state_dict(model, read_pth(pth).tensors, pth.string(), options);
}

}  // namespace mura::weights
