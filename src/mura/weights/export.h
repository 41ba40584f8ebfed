#pragma once
/// TorchScript export of a checkpoint: a module that Python's `torch.jit.load` (or LibTorch)
/// runs with no mura installed.
///
///   forward(x: Tensor[B, 3, H, W], ImageNet-normalised float32) -> Tensor[B]
///       the probability of "abnormal" (sigmoid of the logit; softmax class 1 for 2 outputs)
///   attributes: architecture (str), image_size (int), mean (List[float]), std (List[float]),
///               threshold (float), num_outputs (int), mura_version (str), format_version (int)
///
/// The forward graph is recorded by LibTorch's tracer with the model in eval mode and its
/// BatchNorm folded into the convolutions (ClassifierImpl::fold_batchnorm), so the weights
/// are embedded as constants; the module is then frozen (torch::jit::freeze) with the
/// metadata attributes preserved.
#include <filesystem>

#include "mura/util/versions.h"
#include "mura/weights/checkpoint.h"

namespace mura::weights {

constexpr int64_t kExportFormatVersion = versions::kExport;  ///< util/versions.h

/// Writes the TorchScript file atomically. The checkpoint's model is left unchanged.
void export_torchscript(const Checkpoint& ckpt, const std::filesystem::path& out);

}  // namespace mura::weights
