#pragma once
/// Grad-CAM (Selvaraju et al. 2017) and Grad-CAM++ (Chattopadhay et al. 2018) for the
/// abnormal logit, at the last convolutional stage (ClassifierImpl::forward_features:
/// ResNet's layer4, DenseNet's features after norm5 and its ReLU).
///
///   A = features [B,C,h,w], g = d(abnormal logit)/dA (per image: the logit of image b
///   depends on A[b] only, so one backward of the summed logits gives every g[b])
///   Grad-CAM:   w_c = mean_hw g_c;                 cam = ReLU(sum_c w_c A_c)
///   Grad-CAM++: a_c = g^2 / (2 g^2 + sum_hw(A_c) g^3) (0 where g = 0);
///               w_c = sum_hw a_c ReLU(g_c);        cam = ReLU(sum_c w_c A_c)
///   normalised per image to [0, 1] by (cam - min) / (max - min) (all zeros when flat).
/// The abnormal logit is the single logit of a 1-output head, class 1's of a 2-output head.
///
/// The model runs in eval mode (BatchNorm uses running statistics) and gradients are taken
/// with torch::autograd::grad with respect to A only, so nothing accumulates in the
/// parameters' .grad; the model's train/eval mode is restored afterwards.
#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

#include "mura/models/classifier.h"
#include "mura/util/names.h"

namespace mura::explain {

enum class CamMethod { GradCam, GradCamPlusPlus };
/// The names --method accepts.
const NameTable<CamMethod>& cam_method_names();
CamMethod parse_cam_method(const std::string& name);  ///< "gradcam" | "gradcam++"
const char* cam_method_name(CamMethod m);

/// Where a CAM lies on the model's input image: cell (i, j) is centred on input pixel
/// (offset + stride * j, offset + stride * i) of the input_width x input_height image that
/// the model saw (models::FeatureGrid; pixel centres at integer coordinates).
struct CamGeometry {
  double stride = 32, offset = 0;
  int64_t input_width = 0, input_height = 0;
};

struct CamBatch {
  torch::Tensor cams;           ///< [B, h, w] float32 in [0, 1], on the CPU
  torch::Tensor probabilities;  ///< [B] float64, P(abnormal)
  CamGeometry geometry;         ///< how `cams` lie on the input (see render.h: cam_to_image)
};

/// CAMs of one model for a normalised batch [B,3,H,W] (on the model's device).
CamBatch compute_cam(models::ClassifierImpl& model, const torch::Tensor& images, CamMethod method);

/// Ensemble: the mean of the members' normalised CAMs and the mean probability. The members'
/// grids can differ (DenseNet's cells sit 14 px right of and below ResNet's, and sizes that
/// are not multiples of 32 give different grid sizes): each CAM is resampled, bilinearly at
/// the input pixels its cells look at, onto the grid of the member with the most cells.
CamBatch compute_cam(const std::vector<std::shared_ptr<models::ClassifierImpl>>& models,
                     const torch::Tensor& images, CamMethod method);

/// Bilinear samples of a CAM [h, w] (float32, CPU) at points given in its own grid's
/// coordinates (cell centres at integers; outside the grid, the border cells' values):
/// out[r][c] = cam(gy[r], gx[c]). Returns [gy.size(), gx.size()] float32.
torch::Tensor sample_cam(const torch::Tensor& cam, const std::vector<double>& gy,
                         const std::vector<double>& gx);

}  // namespace mura::explain
