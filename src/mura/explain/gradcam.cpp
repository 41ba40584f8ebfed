#include "mura/explain/gradcam.h"

#include <torch/torch.h>

#include "mura/eval/inference.h"
#include "mura/util/error.h"

namespace mura::explain {

CamMethod parse_cam_method(const std::string& name) {
  if (name == "gradcam" || name == "grad-cam") return CamMethod::GradCam;
  if (name == "gradcam++" || name == "grad-cam++" || name == "gradcampp") return CamMethod::GradCamPlusPlus;
  throw Error("unknown CAM method '" + name + "' (expected gradcam or gradcam++)");
}

const char* cam_method_name(CamMethod m) { return m == CamMethod::GradCam ? "gradcam" : "gradcam++"; }

CamBatch compute_cam(models::ClassifierImpl& model, const torch::Tensor& images, CamMethod method) {
  const bool was_training = model.is_training();
  model.eval();
  CamBatch out;
  {
    torch::AutoGradMode enable(true);
    auto features = model.forward_features(images);
    if (!features.requires_grad()) features = features.detach().requires_grad_(true);
    const auto logits = model.forward_head(features).to(torch::kFloat32);
    const auto target = logits.size(1) == 1 ? logits.select(1, 0) : logits.select(1, 1);
    const auto g = torch::autograd::grad({target.sum()}, {features})[0].to(torch::kFloat32);
    const auto a = features.detach().to(torch::kFloat32);
    torch::Tensor weights;
    if (method == CamMethod::GradCam) {
      weights = g.mean({2, 3}, /*keepdim=*/true);
    } else {
      const auto g2 = g.pow(2), g3 = g.pow(3);
      const auto sum_a = a.sum({2, 3}, true);
      auto alpha = g2 / (2 * g2 + sum_a * g3 + 1e-7);
      alpha = torch::where(g != 0, alpha, torch::zeros_like(alpha));
      weights = (alpha * torch::relu(g)).sum({2, 3}, true);
    }
    auto cam = torch::relu((weights * a).sum(1));  // [B,h,w]
    const auto flat = cam.flatten(1);
    const auto lo = std::get<0>(flat.min(1)).view({-1, 1, 1});
    const auto hi = std::get<0>(flat.max(1)).view({-1, 1, 1});
    const auto range = hi - lo;
    cam = torch::where(range > 0, (cam - lo) / range.clamp_min(1e-12), torch::zeros_like(cam));
    out.cams = cam.detach().to(torch::kCPU).contiguous();
    out.probabilities = eval::probabilities_from_logits(logits.detach()).to(torch::kCPU, torch::kFloat64);
  }
  model.train(was_training);
  return out;
}

CamBatch compute_cam(const std::vector<std::shared_ptr<models::ClassifierImpl>>& models,
                     const torch::Tensor& images, CamMethod method) {
  if (models.empty()) throw Error("no model to explain");
  if (models.size() == 1) return compute_cam(*models[0], images, method);
  std::vector<CamBatch> parts;
  int64_t h = 0, w = 0;
  for (const auto& m : models) {
    parts.push_back(compute_cam(*m, images, method));
    h = std::max(h, parts.back().cams.size(1));
    w = std::max(w, parts.back().cams.size(2));
  }
  CamBatch out;
  for (auto& p : parts) {
    auto c = p.cams.size(1) == h && p.cams.size(2) == w
                 ? p.cams
                 : torch::nn::functional::interpolate(
                       p.cams.unsqueeze(1), torch::nn::functional::InterpolateFuncOptions()
                                                .size(std::vector<int64_t>{h, w})
                                                .mode(torch::kBilinear)
                                                .align_corners(false))
                       .squeeze(1);
    out.cams = out.cams.defined() ? out.cams + c : c;
    out.probabilities = out.probabilities.defined() ? out.probabilities + p.probabilities : p.probabilities;
  }
  out.cams /= static_cast<double>(models.size());
  out.probabilities /= static_cast<double>(models.size());
  return out;
}

}  // namespace mura::explain
