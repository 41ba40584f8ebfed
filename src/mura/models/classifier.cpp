#include "mura/models/classifier.h"

#include <torch/torch.h>

#include <cmath>
#include <string>

#include "mura/models/batchnorm.h"
#include "mura/util/error.h"

namespace mura::models {

torch::Tensor ClassifierImpl::forward_head(const torch::Tensor& features) {
  auto x = torch::adaptive_avg_pool2d(features, {1, 1});
  return head_->forward(torch::flatten(x, 1));
}

void ClassifierImpl::register_head(int64_t in_features, int64_t num_outputs) {
  head_ = place_head(torch::nn::Linear(in_features, num_outputs), false);
}

torch::nn::Linear ClassifierImpl::place_head(torch::nn::Linear linear, bool replace) {
  return replace ? replace_module(head_name(), std::move(linear))
                 : register_module(head_name(), std::move(linear));
}

void ClassifierImpl::set_temperature(double t) {
  if (!(t > 0) || !std::isfinite(t))
    throw Error("the temperature must be a finite number > 0, got " + std::to_string(t));
  temperature_ = t;
}

void ClassifierImpl::reset_head(int64_t num_outputs) {
  const auto device = head_->weight.device();
  head_ = place_head(torch::nn::Linear(num_features(), num_outputs), true);
  head_->to(device);
  head_->weight.set_requires_grad(true);
  head_->bias.set_requires_grad(true);
}

void ClassifierImpl::set_frozen(bool frozen) {
  frozen_ = frozen;
  const std::string prefix = std::string(head_name()) + ".";
  for (auto& p : named_parameters())
    p.value().set_requires_grad(!frozen || p.key().rfind(prefix, 0) == 0);
  train(is_training());
}

void ClassifierImpl::set_batchnorm_group(const std::shared_ptr<Collective>& group) {
  for (auto& m : modules(/*include_self=*/false))
    if (auto* bn = dynamic_cast<BatchNorm2dImpl*>(m.get())) bn->set_group(group);
}

void ClassifierImpl::train(bool on) {
  if (on && inference_only_)
    throw Error(arch_ + ": this model's BatchNorm is folded for inference; it cannot be trained");
  torch::nn::Module::train(on);
  if (on && frozen_)
    for (auto& m : modules(/*include_self=*/false))
      if (dynamic_cast<BatchNorm2dImpl*>(m.get())) m->eval();
}

void ClassifierImpl::fold_batchnorm() {
  if (inference_only_) return;
  eval();
  torch::NoGradGuard no_grad;
  fold_batchnorm_impl();
  inference_only_ = true;
}

}  // namespace mura::models
