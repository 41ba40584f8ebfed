#include "mura/data/synth.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "mura/data/dataset.h"
#include "mura/util/error.h"
#include "mura/util/rng.h"

namespace mura::data {
namespace fs = std::filesystem;

namespace {

struct Box {
  int x0, y0, x1, y1;
};

struct Bone {
  cv::Point2d a, b;
  double width;
};

int irange(Rng& r, int lo, int hi) {
  return lo + static_cast<int>(r.below(hi - lo + 1));
}

/// Draws one radiograph-like image; when `lesion`, adds a lesion and returns its box.
cv::Mat draw_image(Rng& rng, int w, int h, bool lesion, Box& box) {
  cv::Mat img(h, w, CV_32F);
  const double g0 = rng.uniform(15, 45), gx = rng.uniform(-20, 20), gy = rng.uniform(-20, 20);
  for (int y = 0; y < h; ++y) {
    float* row = img.ptr<float>(y);
    for (int x = 0; x < w; ++x) row[x] = static_cast<float>(g0 + gx * x / w + gy * y / h);
  }
  const double side = std::min(w, h);
  // soft tissue
  cv::ellipse(img,
              cv::Point(w / 2 + irange(rng, -w / 8, w / 8), h / 2 + irange(rng, -h / 8, h / 8)),
              cv::Size(static_cast<int>(w * rng.uniform(0.25, 0.45)),
                       static_cast<int>(h * rng.uniform(0.3, 0.5))),
              rng.uniform(0, 180), 0, 360, cv::Scalar(rng.uniform(25, 45)), cv::FILLED);
  // bones: thick bright segments with a darker canal
  std::vector<Bone> bones;
  const int n_bones = irange(rng, 1, 2);
  for (int i = 0; i < n_bones; ++i) {
    const double ang = rng.uniform(-0.6, 0.6) + (w > h ? 1.5708 : 0.0);
    // anywhere in the middle half, so that neither lesions nor bones sit at a predictable
    // place (a pointer that always picks the centre should score poorly)
    const double cx = w * rng.uniform(0.25, 0.75), cy = h * rng.uniform(0.25, 0.75);
    const double len = side * rng.uniform(0.45, 0.8);
    const cv::Point2d d(std::sin(ang) * len / 2, std::cos(ang) * len / 2);
    Bone b{{cx - d.x, cy - d.y}, {cx + d.x, cy + d.y}, side * rng.uniform(0.09, 0.14)};
    const double v = rng.uniform(120, 170);
    cv::line(img, b.a, b.b, cv::Scalar(v), static_cast<int>(b.width), cv::LINE_AA);
    cv::circle(img, b.a, static_cast<int>(b.width * 0.7), cv::Scalar(v), cv::FILLED, cv::LINE_AA);
    cv::circle(img, b.b, static_cast<int>(b.width * 0.7), cv::Scalar(v), cv::FILLED, cv::LINE_AA);
    cv::line(img, b.a, b.b, cv::Scalar(v * 0.7), std::max(1, static_cast<int>(b.width * 0.35)),
             cv::LINE_AA);
    bones.push_back(b);
  }
  // distractors, in both classes: small bright blobs and a side marker
  const int n_blobs = irange(rng, 0, 2);
  for (int i = 0; i < n_blobs; ++i)
    cv::circle(img, cv::Point(irange(rng, 0, w - 1), irange(rng, 0, h - 1)),
               static_cast<int>(side * rng.uniform(0.015, 0.035)),
               cv::Scalar(rng.uniform(150, 210)), cv::FILLED, cv::LINE_AA);
  if (rng.bernoulli(0.6)) {
    const bool right = rng.bernoulli(0.5);
    cv::putText(img, right ? "R" : "L", cv::Point(irange(rng, 4, w / 4), irange(rng, h / 8, h / 4)),
                cv::FONT_HERSHEY_SIMPLEX, side / 300.0, cv::Scalar(230), 2, cv::LINE_AA);
  }
  cv::GaussianBlur(img, img, cv::Size(0, 0), side / 180.0);
  if (lesion) {
    const Bone& b = bones[rng.below(bones.size())];
    const double t = rng.uniform(0.2, 0.8);
    const cv::Point2d c = b.a + (b.b - b.a) * t;
    // Sized on the geometric mean of the sides, as the loader stretches every image to a
    // square: the box must stay about two cells of a 7x7 CAM (32 px of 224) wide along both
    // axes, because where a trained network's CAM peaks near an object varies from model to
    // model by up to a cell; with lesions about one cell wide, the CAM maximum of a network
    // that plainly responds to the lesion could still miss the box for most images.
    const double r = std::sqrt(static_cast<double>(w) * h) * rng.uniform(0.13, 0.17);
    const int thick = std::max(2, static_cast<int>(r * 0.45));
    cv::circle(img, c, static_cast<int>(r), cv::Scalar(rng.uniform(235, 255)), thick, cv::LINE_AA);
    cv::circle(img, c, std::max(1, static_cast<int>(r * 0.35)), cv::Scalar(10), cv::FILLED,
               cv::LINE_AA);
    const int ext = static_cast<int>(std::ceil(r + thick / 2.0 + 1));
    box = {std::max(0, static_cast<int>(c.x) - ext), std::max(0, static_cast<int>(c.y) - ext),
           std::min(w, static_cast<int>(c.x) + ext + 1),
           std::min(h, static_cast<int>(c.y) + ext + 1)};
  }
  // sensor noise
  cv::Mat noise(h, w, CV_32F);
  const double sigma = rng.uniform(3, 8);
  for (int y = 0; y < h; ++y) {
    float* row = noise.ptr<float>(y);
    for (int x = 0; x < w; ++x) row[x] = static_cast<float>(rng.normal() * sigma);
  }
  img += noise;
  cv::Mat out;
  img.convertTo(out, CV_8U);
  return out;
}

void write_png(const fs::path& file, const cv::Mat& gray, Rng& rng, const SynthOptions& o) {
  cv::Mat img = gray;
  const double u = rng.uniform();
  if (u < o.rgb_rate) {
    std::vector<cv::Mat> ch{gray.clone(), gray.clone(), gray.clone()};
    ch[0] = gray * rng.uniform(0.9, 1.0);  // a faint tint, as scanned films have
    cv::merge(ch, img);
  } else if (u < o.rgb_rate + o.sixteen_bit_rate) {
    gray.convertTo(img, CV_16U, 257.0);
  }
  if (!cv::imwrite(file.string(), img, {cv::IMWRITE_PNG_COMPRESSION, 3}))
    throw Error("cannot write " + file.string());
}

}  // namespace

SynthSummary write_synthetic_dataset(const SynthOptions& o) {
  if (o.out.empty()) throw Error("synth: no output folder given");
  if (o.patients < 2)
    throw Error("synth: need at least 2 patients, got " + std::to_string(o.patients));
  if (o.min_side < 32 || o.max_side < o.min_side || o.max_side > 4096)
    throw Error("synth: image sides must satisfy 32 <= min <= max <= 4096");
  if (!(o.valid_fraction > 0 && o.valid_fraction < 1))
    throw Error("synth: valid fraction must be in (0, 1)");
  if (!(o.abnormal_rate >= 0 && o.abnormal_rate <= 1) ||
      !(o.lesion_rate >= 0 && o.lesion_rate <= 1))
    throw Error("synth: rates must be in [0, 1]");
  if (o.body_parts.empty()) throw Error("synth: no body parts given");
  std::vector<std::string> parts;
  for (const auto& p : o.body_parts) parts.push_back(normalize_body_part(p));

  fs::path out = fs::absolute(o.out).lexically_normal();
  if (out.filename().empty()) out = out.parent_path();
  std::error_code ec;
  if (fs::exists(out, ec) && !fs::is_empty(out, ec) && !o.overwrite)
    throw Error("synth: '" + o.out.string() +
                "' exists and is not empty (use --overwrite to replace it)");
  const std::string root_name = out.filename().string();
  const fs::path tmp = out.parent_path() / ("." + root_name + ".synth-tmp");
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp);

  Rng rng(mix_seed({o.seed, 0x53594E5448ULL /* "SYNTH" */}));
  SynthSummary sum;
  std::ostringstream csv_images[2], csv_studies[2], lesions;
  lesions << "image_path,x0,y0,x1,y1\n";
  const int n_valid = std::max(1, static_cast<int>(std::lround(o.patients * o.valid_fraction)));
  try {
    for (int p = 0; p < o.patients; ++p) {
      const bool valid = p >= o.patients - n_valid;
      const char* split = valid ? "valid" : "train";
      char pid[32];
      std::snprintf(pid, sizeof pid, "patient%05d", p + 1);
      std::vector<std::string> my_parts{parts[rng.below(parts.size())]};
      if (rng.bernoulli(0.1)) {
        const std::string second = parts[rng.below(parts.size())];
        if (second != my_parts[0]) my_parts.push_back(second);
      }
      for (const auto& part : my_parts) {
        const int n_studies = rng.bernoulli(0.25) ? 2 : 1;
        for (int s = 1; s <= n_studies; ++s) {
          const bool abnormal = rng.bernoulli(o.abnormal_rate);
          const std::string study =
              "study" + std::to_string(s) + (abnormal ? "_positive" : "_negative");
          const std::string rel_study =
              std::string(split) + "/" + part + "/" + pid + "/" + study + "/";
          fs::create_directories(tmp / rel_study);
          const int n_images = irange(rng, 1, 3);
          int forced = abnormal ? static_cast<int>(rng.below(n_images)) : -1;
          for (int i = 1; i <= n_images; ++i) {
            const bool lesion = abnormal && (i - 1 == forced || rng.bernoulli(o.lesion_rate));
            const int w = irange(rng, o.min_side, o.max_side),
                      h = irange(rng, o.min_side, o.max_side);
            Box box{};
            const cv::Mat img = draw_image(rng, w, h, lesion, box);
            const std::string rel_image = rel_study + "image" + std::to_string(i) + ".png";
            write_png(tmp / rel_image, img, rng, o);
            csv_images[valid] << root_name << "/" << rel_image << "\n";
            if (lesion) {
              lesions << root_name << "/" << rel_image << "," << box.x0 << "," << box.y0 << ","
                      << box.x1 << "," << box.y1 << "\n";
              ++sum.lesions;
            }
            ++sum.images;
          }
          csv_studies[valid] << root_name << "/" << rel_study << "," << (abnormal ? 1 : 0) << "\n";
          ++sum.studies;
          sum.abnormal_studies += abnormal;
        }
      }
      ++sum.patients;
    }
    auto write_text = [&](const std::string& name, const std::string& text) {
      std::ofstream f(tmp / name, std::ios::binary);
      f << text;
      if (!f) throw Error("cannot write " + (tmp / name).string());
    };
    write_text("train_image_paths.csv", csv_images[0].str());
    write_text("valid_image_paths.csv", csv_images[1].str());
    write_text("train_labeled_studies.csv", csv_studies[0].str());
    write_text("valid_labeled_studies.csv", csv_studies[1].str());
    write_text("synth_lesions.csv", lesions.str());
    write_text("README.md",
               "Synthetic data set in the MURA-v1.1 layout, written by `mura synth` (seed " +
                   std::to_string(o.seed) +
                   "). Abnormal studies carry ring-shaped lesions; their boxes are in "
                   "synth_lesions.csv. Not real radiographs.\n");
    if (fs::exists(out)) fs::remove_all(out);
    fs::rename(tmp, out);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  return sum;
}

}  // namespace mura::data
