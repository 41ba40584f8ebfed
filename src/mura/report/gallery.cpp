#include "mura/report/gallery.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "mura/data/image.h"
#include "mura/data/loader.h"
#include "mura/explain/render.h"
#include "mura/util/error.h"

namespace mura::report {
namespace fs = std::filesystem;

void set_gallery_size(GalleryOptions& o, std::size_t n) {
  o.false_positives = n;
  o.false_negatives = n;
  o.true_positives = (n + 1) / 2;
}

const char* case_kind_name(CaseKind kind) {
  switch (kind) {
    case CaseKind::FalsePositive:
      return "false positive";
    case CaseKind::FalseNegative:
      return "false negative";
    case CaseKind::TruePositive:
      return "true positive";
  }
  return "?";
}

std::vector<GalleryCase> select_cases(const std::vector<ImageRow>& rows, double threshold,
                                      const GalleryOptions& o) {
  std::vector<const ImageRow*> fp, fn, tp;
  for (const auto& r : rows) {
    const bool called = r.probability >= threshold;
    if (r.label == 0 && called) fp.push_back(&r);
    if (r.label == 1 && !called) fn.push_back(&r);
    if (r.label == 1 && called) tp.push_back(&r);
  }
  const auto higher = [](const ImageRow* a, const ImageRow* b) {
    return a->probability != b->probability ? a->probability > b->probability : a->path < b->path;
  };
  const auto lower = [](const ImageRow* a, const ImageRow* b) {
    return a->probability != b->probability ? a->probability < b->probability : a->path < b->path;
  };
  std::sort(fp.begin(), fp.end(), higher);
  std::sort(fn.begin(), fn.end(), lower);
  std::sort(tp.begin(), tp.end(), higher);
  std::vector<GalleryCase> cases;
  const auto take = [&](const std::vector<const ImageRow*>& list, std::size_t n, CaseKind kind) {
    for (std::size_t i = 0; i < list.size() && i < n; ++i) {
      GalleryCase c;
      c.kind = kind;
      c.row = *list[i];
      cases.push_back(std::move(c));
    }
  };
  take(fp, o.false_positives, CaseKind::FalsePositive);
  take(fn, o.false_negatives, CaseKind::FalseNegative);
  take(tp, o.true_positives, CaseKind::TruePositive);
  return cases;
}

std::string encode_thumbnail(const cv::Mat& bgr, int size, int jpeg_quality, int& width,
                             int& height) {
  if (bgr.empty()) throw Error("thumbnail: empty image");
  if (size < 16) throw Error("thumbnail: size must be at least 16 px, got " + std::to_string(size));
  const double scale = static_cast<double>(size) / std::max(bgr.cols, bgr.rows);
  cv::Mat small;
  const cv::Size target(std::max(1, static_cast<int>(std::lround(bgr.cols * scale))),
                        std::max(1, static_cast<int>(std::lround(bgr.rows * scale))));
  cv::resize(bgr, small, target, 0, 0, scale < 1.0 ? cv::INTER_AREA : cv::INTER_LINEAR);
  std::vector<unsigned char> buf;
  if (!cv::imencode(".jpg", small, buf,
                    {cv::IMWRITE_JPEG_QUALITY, std::clamp(jpeg_quality, 1, 100)}))
    throw Error("thumbnail: JPEG encoding failed");
  width = small.cols;
  height = small.rows;
  return std::string(reinterpret_cast<const char*>(buf.data()), buf.size());
}

}  // namespace mura::report
