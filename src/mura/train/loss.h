#pragma once
/// Training losses.
///
///   weighted-bce  the MURA paper's loss (Rajpurkar et al. 2017): for body part T,
///                 w1 = N_T / (A_T + N_T) on abnormal and w0 = A_T / (A_T + N_T) on normal
///                 images, A_T / N_T counted on the training images; one logit.
///   bce           plain binary cross-entropy on one logit.
///   ce            2-class cross-entropy on two logits (the first seed's head).
/// All return the mean over the batch, in float32 whatever the autocast dtype of the logits.
#include <torch/types.h>

#include <map>
#include <string>
#include <vector>

#include "mura/util/names.h"

namespace mura::train {

enum class LossKind { WeightedBce, Bce, Ce };
/// "weighted-bce" | "bce" | "ce"; throws mura::Error otherwise.
/// The names --loss accepts ("weighted_bce" = "weighted-bce").
const NameTable<LossKind>& loss_names();
LossKind parse_loss(const std::string& name);
const char* loss_name(LossKind k);
/// Logits a loss needs: 1 for the BCE variants, 2 for CE.
int64_t loss_outputs(LossKind k);

/// Per-body-part weights of the MURA paper's loss.
struct ClassWeights {
  double w0 = 0.5;  ///< on normal images
  double w1 = 0.5;  ///< on abnormal images
};
/// Counts labels per body part: weights[T] = {A_T/(A_T+N_T), N_T/(A_T+N_T)}.
std::map<std::string, ClassWeights> mura_class_weights(const std::vector<std::string>& body_parts,
                                                       const std::vector<int>& labels);

class Loss {
 public:
  Loss(LossKind kind, std::map<std::string, ClassWeights> weights = {});
  /// logits [B, 1] (BCE) or [B, 2] (CE); labels [B] float 0/1; parts: each image's body part
  /// (only used by weighted-bce; an unseen part weighs 0.5/0.5).
  torch::Tensor operator()(const torch::Tensor& logits, const torch::Tensor& labels,
                           const std::vector<std::string>& parts) const;
  LossKind kind() const { return kind_; }
  const std::map<std::string, ClassWeights>& weights() const { return weights_; }

 private:
  LossKind kind_;
  std::map<std::string, ClassWeights> weights_;
};

}  // namespace mura::train
