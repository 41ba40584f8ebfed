#pragma once
/// Loading torchvision state dicts into mura's models.
///
/// Handles what torchvision's own loaders handle: DenseNet's legacy key names
/// (`denselayer1.norm.1.weight` -> `denselayer1.norm1.weight`, as in torchvision's
/// `_load_state_dict`), files older than PyTorch 0.4.1 without `num_batches_tracked`
/// (set to 0, as BatchNorm's own loader does), and float16/float64 files (converted to the
/// model's dtype). An ImageNet head (1000 outputs) loaded into a model with another head
/// size is skipped, so the model keeps its fresh head: that is transfer learning.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "mura/models/classifier.h"
#include "mura/weights/pth_reader.h"

namespace mura::weights {

/// Maps one DenseNet legacy key to its current name; other keys come back unchanged.
std::string remap_legacy_key(const std::string& key);

/// Guesses which registry architecture a state dict belongs to (by its key structure and
/// shapes); nullopt when it matches none.
std::optional<std::string> guess_architecture(const StateDict& sd);

struct LoadOptions {
  /// Skip head tensors whose shape differs from the model's head (keep the model's head).
  bool allow_head_mismatch = true;
};

struct LoadReport {
  std::size_t loaded = 0;                 ///< tensors copied into the model
  std::size_t remapped = 0;               ///< legacy DenseNet names mapped
  std::size_t defaulted = 0;              ///< num_batches_tracked absent from the file, set to 0
  std::vector<std::string> skipped_head;  ///< head tensors not loaded (shape differs)
};

/// Copies `sd` into `model` in place (under NoGradGuard). `source` names the file in errors.
/// Throws mura::Error: wrong architecture (naming the file's likely architecture), missing
/// keys, unexpected keys, shape mismatch (key, expected and found shapes).
LoadReport load_state_dict(models::ClassifierImpl& model, const StateDict& sd,
                           const std::string& source, const LoadOptions& options = {});

/// The model's parameters and buffers as a StateDict (tensors shared, not copied).
StateDict model_state_dict(models::ClassifierImpl& model);

/// read_pth() + load_state_dict().
LoadReport load_torchvision_weights(models::ClassifierImpl& model, const std::filesystem::path& pth,
                                    const LoadOptions& options = {});

}  // namespace mura::weights
