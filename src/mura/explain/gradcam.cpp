#include "mura/explain/gradcam.h"

#include <torch/torch.h>

#include <algorithm>

#include "mura/models/inference.h"
#include "mura/util/error.h"

namespace mura::explain {

const NameTable<CamMethod>& cam_method_names() {
  static const NameTable<CamMethod> table(
      "--method", {{CamMethod::GradCam, "gradcam", {"grad-cam"}},
                   {CamMethod::GradCamPlusPlus, "gradcam++", {"grad-cam++", "gradcampp"}}});
  return table;
}

CamMethod parse_cam_method(const std::string& name) {
  return cam_method_names().parse(name);
}

const char* cam_method_name(CamMethod m) {
  return cam_method_names().name(m).c_str();
}

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
    out.probabilities = models::probabilities_from_logits(logits.detach(), model.temperature())
                            .to(torch::kCPU, torch::kFloat64);
  }
  const auto grid = model.feature_grid();
  out.geometry = {grid.stride, grid.offset, images.size(3), images.size(2)};
  model.train(was_training);
  return out;
}

CamBatch compute_cam(const std::vector<std::shared_ptr<models::ClassifierImpl>>& models,
                     const torch::Tensor& images, CamMethod method) {
  if (models.empty()) throw Error("no model to explain");
  if (models.size() == 1) return compute_cam(*models[0], images, method);
  std::vector<CamBatch> parts;
  std::size_t finest = 0;
  for (const auto& m : models) {
    parts.push_back(compute_cam(*m, images, method));
    if (parts.back().cams.size(1) * parts.back().cams.size(2) >
        parts[finest].cams.size(1) * parts[finest].cams.size(2))
      finest = parts.size() - 1;
  }
  CamBatch out;
  out.geometry = parts[finest].geometry;
  const int64_t h = parts[finest].cams.size(1), w = parts[finest].cams.size(2);
  for (auto& p : parts) {
    // The input pixels the target cells look at, in this member's grid coordinates.
    auto coords = [&](int64_t n) {
      std::vector<double> g(static_cast<std::size_t>(n));
      for (int64_t k = 0; k < n; ++k)
        g[static_cast<std::size_t>(k)] =
            (out.geometry.offset + out.geometry.stride * static_cast<double>(k) -
             p.geometry.offset) /
            p.geometry.stride;
      return g;
    };
    torch::Tensor c = p.cams;
    if (p.cams.size(1) != h || p.cams.size(2) != w || p.geometry.offset != out.geometry.offset ||
        p.geometry.stride != out.geometry.stride) {
      const auto gy = coords(h), gx = coords(w);
      c = torch::empty({p.cams.size(0), h, w}, torch::kFloat32);
      for (int64_t b = 0; b < p.cams.size(0); ++b) c[b].copy_(sample_cam(p.cams[b], gy, gx));
    }
    out.cams = out.cams.defined() ? out.cams + c : c;
    out.probabilities =
        out.probabilities.defined() ? out.probabilities + p.probabilities : p.probabilities;
  }
  out.cams /= static_cast<double>(models.size());
  out.probabilities /= static_cast<double>(models.size());
  return out;
}

torch::Tensor sample_cam(const torch::Tensor& cam, const std::vector<double>& gy,
                         const std::vector<double>& gx) {
  if (cam.dim() != 2 || cam.size(0) < 1 || cam.size(1) < 1)
    throw Error("a CAM must be a non-empty 2-D map");
  const auto c = cam.to(torch::kCPU, torch::kFloat32).contiguous();
  const int64_t h = c.size(0), w = c.size(1);
  struct Tap {
    int64_t i0, i1;
    float f;  // weight of i1
  };
  auto taps = [](const std::vector<double>& g, int64_t n) {
    std::vector<Tap> t;
    t.reserve(g.size());
    for (double q : g) {
      q = std::clamp(q, 0.0, static_cast<double>(n - 1));
      const auto i0 = std::min(static_cast<int64_t>(q), n - 1);
      const auto i1 = std::min(i0 + 1, n - 1);
      t.push_back({i0, i1, static_cast<float>(q - static_cast<double>(i0))});
    }
    return t;
  };
  const auto ty = taps(gy, h), tx = taps(gx, w);
  auto out = torch::empty({static_cast<int64_t>(gy.size()), static_cast<int64_t>(gx.size())},
                          torch::kFloat32);
  const float* src = c.data_ptr<float>();
  float* dst = out.data_ptr<float>();
  for (const auto& y : ty) {
    const float* r0 = src + y.i0 * w;
    const float* r1 = src + y.i1 * w;
    for (const auto& x : tx) {
      const float top = r0[x.i0] + (r0[x.i1] - r0[x.i0]) * x.f;
      const float bottom = r1[x.i0] + (r1[x.i1] - r1[x.i0]) * x.f;
      *dst++ = top + (bottom - top) * y.f;
    }
  }
  return out;
}

}  // namespace mura::explain
