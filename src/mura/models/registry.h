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

}  // namespace mura::models
