#pragma once
/// Builds a model by its torchvision name.
#include <memory>
#include <string>
#include <vector>

#include "mura/models/classifier.h"

namespace mura::models {

/// "resnet18" ... "resnet152", "densenet121" ... "densenet201" (also "DenseNet-169",
/// "ResNet50": case, '-' and '_' are ignored).
std::vector<std::string> known_architectures();
/// The canonical name for a spelling; throws mura::Error listing the known names.
std::string canonical_architecture(const std::string& name);
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
