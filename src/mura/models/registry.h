#pragma once
/// Builds a model by its torchvision name.
#include <memory>
#include <string>
#include <vector>

#include "mura/models/classifier.h"

namespace mura::models {

/// torchvision's names: "resnet18" ... "resnet152", "densenet121" ... "densenet201",
/// "efficientnet_b0" ... "efficientnet_b7", "efficientnet_v2_s/m/l", "convnext_tiny/small/base"
/// (also "DenseNet-169", "ResNet50", "EfficientNet-B0": case, '-' and '_' are ignored).
std::vector<std::string> known_architectures();
/// The canonical name for a spelling; throws mura::Error listing the known names.
std::string canonical_architecture(const std::string& name);
/// The state-dict name of the head Linear's weight: "fc.weight" (ResNet),
/// "classifier.weight" (DenseNet), "classifier.1.weight" (EfficientNet),
/// "classifier.2.weight" (ConvNeXt). `arch` canonical.
std::string head_weight_key(const std::string& arch);
/// A new model with torchvision's random init and a head of `num_outputs` logits.
std::shared_ptr<ClassifierImpl> create_model(const std::string& name, int64_t num_outputs = 1);

/// One parameter or buffer of a model, as its state dict names it.
struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  c10::ScalarType dtype;
  bool buffer;
};
/// What create_model(name, num_outputs) holds: its parameters, then its buffers, in the
/// order named_parameters()/named_buffers() give them. Built once per (architecture,
/// outputs) and cached, so a reader can check a file against it before building a model.
const std::vector<TensorSpec>& tensor_specs(const std::string& name, int64_t num_outputs);

}  // namespace mura::models
