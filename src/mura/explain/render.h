#pragma once
/// Turning a CAM into pictures people look at, and into files for analysis.
///
/// The model saw the image stretched to a square; the CAM is mapped back through that
/// resize to the original width and height, so overlays keep the original size and aspect
/// ratio. The mapping puts each CAM cell where the model's cell looks (CamGeometry: for
/// ResNet, cell j is centred on input pixel 32 j), not where a plain resize of the map would
/// put it (32 j + 15.5): that half-cell shift moved ResNet's CAM maxima off the lesions.
#include <torch/types.h>

#include <filesystem>
#include <opencv2/core/mat.hpp>
#include <string>

#include "mura/explain/gradcam.h"

namespace mura::explain {

struct RenderOptions {
  double alpha = 0.4;      ///< heatmap weight in the overlay
  int panel_height = 512;  ///< height of each panel of the three-panel figure
};

/// The CAM [h, w] (values in [0, 1]) of an image of width x height pixels, at that size
/// (CV_32F): original pixel x lies at input pixel u = (x + 0.5) * input_width / width - 0.5
/// (the loader's resize, pixel centres aligned), i.e. at grid coordinate
/// (u - offset) / stride, sampled bilinearly (border cells extended).
cv::Mat cam_to_image(const torch::Tensor& cam, const CamGeometry& geometry, int width, int height);
/// Jet colormap of a CV_32F map in [0, 1]: CV_8UC3 (BGR).
cv::Mat colorize(const cv::Mat& cam01);
/// The gray image with the jet heatmap blended on top, at the image's size (BGR).
cv::Mat overlay(const cv::Mat& gray, const cv::Mat& cam01, double alpha);
/// Original | heatmap | overlay side by side, each `panel_height` high, with the
/// probability written on the overlay.
cv::Mat three_panels(const cv::Mat& gray, const cv::Mat& cam01, double probability,
                     const RenderOptions& options = {});

/// Writes an image (PNG by extension) atomically; throws mura::Error naming the file.
void write_image(const std::filesystem::path& file, const cv::Mat& image);
/// The CAM at the original size as a 16-bit PNG (value * 65535).
void write_cam_png16(const std::filesystem::path& file, const cv::Mat& cam01);
/// A float32 2-D tensor as NumPy .npy (format 1.0, little endian), atomically.
void write_npy(const std::filesystem::path& file, const torch::Tensor& map);

}  // namespace mura::explain
