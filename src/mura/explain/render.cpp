#include "mura/explain/render.h"

#include <torch/torch.h>

#include <cstdio>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "mura/util/atomic_file.h"
#include "mura/util/error.h"

namespace mura::explain {

cv::Mat cam_to_image(const torch::Tensor& cam, const CamGeometry& g, int width, int height) {
  if (cam.dim() != 2) throw Error("a CAM must be 2-D");
  if (width < 1 || height < 1) throw Error("cannot map a CAM onto an empty image");
  if (g.input_width < 1 || g.input_height < 1 || !(g.stride > 0))
    throw Error("a CAM needs the input size and grid stride it was computed with");
  auto coords = [&](int n, int64_t input) {
    std::vector<double> q(static_cast<std::size_t>(n));
    const double scale = static_cast<double>(input) / n;
    for (int x = 0; x < n; ++x)
      q[static_cast<std::size_t>(x)] = ((x + 0.5) * scale - 0.5 - g.offset) / g.stride;
    return q;
  };
  const auto m = sample_cam(cam, coords(height, g.input_height), coords(width, g.input_width));
  return cv::Mat(height, width, CV_32F, const_cast<float*>(m.data_ptr<float>())).clone();
}

cv::Mat colorize(const cv::Mat& cam01) {
  cv::Mat u8, color;
  cam01.convertTo(u8, CV_8U, 255.0);
  cv::applyColorMap(u8, color, cv::COLORMAP_JET);
  return color;
}

cv::Mat overlay(const cv::Mat& gray, const cv::Mat& cam01, double alpha) {
  cv::Mat bgr, out;
  cv::cvtColor(gray, bgr, cv::COLOR_GRAY2BGR);
  cv::addWeighted(colorize(cam01), alpha, bgr, 1.0 - alpha, 0.0, out);
  return out;
}

cv::Mat three_panels(const cv::Mat& gray, const cv::Mat& cam01, double probability,
                     const RenderOptions& o) {
  const int h = o.panel_height;
  const int w =
      std::max(1, static_cast<int>(std::lround(static_cast<double>(gray.cols) * h / gray.rows)));
  cv::Mat g, c, orig, heat, over;
  cv::resize(gray, g, cv::Size(w, h), 0, 0, cv::INTER_AREA);
  cv::resize(cam01, c, cv::Size(w, h), 0, 0, cv::INTER_LINEAR);
  cv::cvtColor(g, orig, cv::COLOR_GRAY2BGR);
  heat = colorize(c);
  over = overlay(g, c, o.alpha);
  char text[64];
  std::snprintf(text, sizeof text, "P(abnormal) = %.3f", probability);
  const double scale = h / 512.0 * 0.9;
  const int thick = std::max(1, h / 256);
  cv::putText(over, text, cv::Point(8, static_cast<int>(28 * h / 512.0)), cv::FONT_HERSHEY_SIMPLEX,
              scale, cv::Scalar(0, 0, 0), thick + 2, cv::LINE_AA);
  cv::putText(over, text, cv::Point(8, static_cast<int>(28 * h / 512.0)), cv::FONT_HERSHEY_SIMPLEX,
              scale, cv::Scalar(255, 255, 255), thick, cv::LINE_AA);
  cv::Mat out;
  cv::hconcat(std::vector<cv::Mat>{orig, heat, over}, out);
  return out;
}

void write_image(const std::filesystem::path& file, const cv::Mat& image) {
  std::vector<unsigned char> buf;
  if (!cv::imencode(file.extension().string().empty() ? ".png" : file.extension().string(), image,
                    buf))
    throw Error("cannot encode " + file.string());
  write_file_atomic(file, std::string_view(reinterpret_cast<const char*>(buf.data()), buf.size()));
}

void write_cam_png16(const std::filesystem::path& file, const cv::Mat& cam01) {
  cv::Mat u16;
  cam01.convertTo(u16, CV_16U, 65535.0);
  write_image(file, u16);
}

void write_npy(const std::filesystem::path& file, const torch::Tensor& map) {
  const auto t = map.to(torch::kCPU, torch::kFloat32).contiguous();
  std::string shape = "(";
  for (int64_t d = 0; d < t.dim(); ++d)
    shape += std::to_string(t.size(d)) + (t.dim() == 1 || d + 1 < t.dim() ? ", " : "");
  shape += ")";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  const std::size_t total = 10 + header.size() + 1;
  header += std::string((64 - total % 64) % 64, ' ') + "\n";
  std::string data = std::string("\x93NUMPY\x01\x00", 8);
  const auto len = static_cast<std::uint16_t>(header.size());
  data += static_cast<char>(len & 0xFF);
  data += static_cast<char>(len >> 8);
  data += header;
  data.append(reinterpret_cast<const char*>(t.data_ptr<float>()),
              static_cast<std::size_t>(t.numel()) * 4);
  write_file_atomic(file, data);
}

}  // namespace mura::explain
