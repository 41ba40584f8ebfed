#include "mura/train/loss.h"

#include <torch/torch.h>

#include "mura/util/error.h"

namespace mura::train {

const NameTable<LossKind>& loss_names() {
  static const NameTable<LossKind> table("--loss",
                                         {{LossKind::WeightedBce, "weighted-bce", {"wbce"}},
                                          {LossKind::Bce, "bce", {}},
                                          {LossKind::Ce, "ce", {"cross-entropy"}}});
  return table;
}

LossKind parse_loss(const std::string& name) {
  return loss_names().parse(name);
}

const char* loss_name(LossKind k) {
  return loss_names().name(k).c_str();
}

int64_t loss_outputs(LossKind k) {
  return k == LossKind::Ce ? 2 : 1;
}

std::map<std::string, ClassWeights> mura_class_weights(const std::vector<std::string>& body_parts,
                                                       const std::vector<int>& labels) {
  if (body_parts.size() != labels.size()) throw Error("mura_class_weights: size mismatch");
  std::map<std::string, std::pair<double, double>> counts;  // part -> (normal, abnormal)
  for (std::size_t i = 0; i < labels.size(); ++i)
    (labels[i] ? counts[body_parts[i]].second : counts[body_parts[i]].first) += 1;
  std::map<std::string, ClassWeights> w;
  for (const auto& [part, c] : counts) {
    const double n = c.first, a = c.second;
    w[part] = {a / (a + n), n / (a + n)};
  }
  return w;
}

Loss::Loss(LossKind kind, std::map<std::string, ClassWeights> weights)
    : kind_(kind), weights_(std::move(weights)) {}

torch::Tensor Loss::operator()(const torch::Tensor& logits, const torch::Tensor& labels,
                               const std::vector<std::string>& parts) const {
  const auto x = logits.to(torch::kFloat32);
  const auto y = labels.to(x.device(), torch::kFloat32);
  if (kind_ == LossKind::Ce) {
    if (x.size(1) != 2) throw Error("the ce loss needs a 2-output head");
    return torch::nn::functional::cross_entropy(x, y.to(torch::kLong));
  }
  if (x.size(1) != 1)
    throw Error(std::string("the ") + loss_name(kind_) + " loss needs a 1-output head");
  const auto z = x.select(1, 0);
  if (kind_ == LossKind::Bce) return torch::binary_cross_entropy_with_logits(z, y);
  std::vector<float> w(parts.size());
  const auto ycpu = labels.to(torch::kCPU, torch::kFloat32).contiguous();  // no device round trip
  const float* yp = ycpu.data_ptr<float>();
  for (std::size_t i = 0; i < parts.size(); ++i) {
    auto it = weights_.find(parts[i]);
    const ClassWeights cw = it == weights_.end() ? ClassWeights{} : it->second;
    w[i] = static_cast<float>(yp[i] > 0.5f ? cw.w1 : cw.w0);
  }
  const auto wt = torch::from_blob(w.data(), {static_cast<int64_t>(w.size())}, torch::kFloat32)
                      .clone()
                      .to(x.device());
  return torch::binary_cross_entropy_with_logits(z, y, wt);
}

}  // namespace mura::train
