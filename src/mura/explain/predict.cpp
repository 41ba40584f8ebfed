#include "mura/explain/predict.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "mura/data/image.h"
#include "mura/data/loader.h"
#include "mura/eval/inference.h"
#include "mura/explain/render.h"
#include "mura/models/optimize.h"
#include "mura/util/device.h"
#include "mura/util/precision.h"
#include "mura/util/threads.h"
#include "mura/util/torch_compat.h"
#include "mura/util/error.h"
#include "mura/util/strings.h"
#include "mura/weights/checkpoint.h"

namespace mura::explain {
namespace fs = std::filesystem;

namespace {

bool is_image_name(const fs::path& p) {
  const std::string ext = to_lower(p.extension().string());
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

PredictInput describe(const fs::path& file) {
  PredictInput in;
  in.file = file;
  in.study = file.parent_path().string();
  for (const auto& part : file)
    if (starts_with(to_upper(part.string()), "XR_")) {
      in.body_part = to_upper(part.string());
      break;
    }
  return in;
}

/// A file name for the pictures of `file` that stays unique within one run.
std::string stem_for(const fs::path& file, std::map<std::string, int>& used) {
  std::string stem = file.parent_path().filename().string() + "_" + file.stem().string();
  if (file.parent_path().filename().empty()) stem = file.stem().string();
  const int n = used[stem]++;
  return n == 0 ? stem : stem + "-" + std::to_string(n);
}

}  // namespace

std::vector<PredictInput> collect_inputs(const std::vector<std::string>& paths,
                                         std::vector<std::string>& problems) {
  std::vector<PredictInput> out;
  for (const auto& p : paths) {
    std::error_code ec;
    const fs::path path(p);
    if (fs::is_directory(path, ec)) {
      std::vector<fs::path> files;
      for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, ec);
           it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        const std::string name = it->path().filename().string();
        if (!name.empty() && name[0] == '.') {
          if (it->is_directory()) it.disable_recursion_pending();
          continue;
        }
        if (it->is_regular_file() && is_image_name(it->path())) files.push_back(it->path());
      }
      std::sort(files.begin(), files.end());
      if (files.empty()) problems.push_back(p + ": no PNG or JPEG images in this folder");
      for (const auto& f : files) out.push_back(describe(f));
    } else if (fs::exists(path, ec)) {
      out.push_back(describe(path));
    } else {
      problems.push_back(p + ": no such file or folder");
    }
  }
  return out;
}

PredictResult predict(const std::vector<PredictInput>& inputs, const PredictOptions& o) {
  if (o.checkpoints.empty()) throw Error("--checkpoint: give at least one checkpoint");
  const torch::Device device = resolve_device(o.device);
  const PrecisionChoice precision = resolve_precision(o.precision, device);
  const ThreadPlan threads = plan_threads(o.threads, o.workers, device.is_cuda());
  apply_thread_plan(threads, o.threads > 0);
  compat::configure_cuda(device, /*deterministic=*/false);
  std::vector<weights::Checkpoint> ckpts;
  std::vector<std::shared_ptr<models::ClassifierImpl>> models;
  for (const auto& c : o.checkpoints) {
    ckpts.push_back(weights::load_checkpoint(c, device));
    models.push_back(ckpts.back().model);
    models::prepare_for_inference(*models.back(), {o.fold_batchnorm, o.channels_last});
    if (ckpts.back().spec.image_size != ckpts[0].spec.image_size || ckpts.back().spec.mean != ckpts[0].spec.mean ||
        ckpts.back().spec.std != ckpts[0].spec.std)
      throw Error("--checkpoint: the ensemble's members need the same input size and normalisation (" + c +
                  " differs from " + o.checkpoints[0] + ")");
  }
  PredictResult result;
  result.threshold = o.threshold >= 0 ? o.threshold : ckpts[0].spec.threshold;
  result.precision = precision_name(precision.precision);
  eval::InferenceOptions io;
  io.device = device;
  io.tta_flip = o.tta_flip;
  io.precision = precision.precision;

  std::vector<data::Sample> samples;
  for (const auto& in : inputs) samples.push_back({in.file, 0, in.study, "", in.body_part});
  data::LoaderOptions lo;
  lo.batch_size = o.batch_size;
  lo.workers = threads.loader_workers;
  lo.channels_last = o.channels_last;
  lo.pin_memory = device.is_cuda();
  lo.skip_unreadable = true;
  lo.transform = data::TransformOptions::evaluation(ckpts[0].spec.image_size);
  lo.transform.mean = ckpts[0].spec.mean;
  lo.transform.std = ckpts[0].spec.std;

  result.images.resize(inputs.size());
  std::map<std::string, int> stems;
  if (!o.gradcam_dir.empty()) fs::create_directories(o.gradcam_dir);
  // On a CPU the model and the decoders compete for the same cores: decode a chunk of images
  // with every core, then run the model on it with every core, instead of interleaving the
  // two (LibTorch's threads wait for each other whenever a decoder takes one's core). On
  // CUDA the GPU computes while the workers decode.
  const std::size_t chunk = device.is_cuda() ? std::max<std::size_t>(1, samples.size())
                                             : static_cast<std::size_t>(64) * static_cast<std::size_t>(o.batch_size);
  if (!device.is_cuda()) lo.cache = data::CacheMode::Memory;
  for (std::size_t begin = 0; begin < samples.size(); begin += chunk) {
    const std::size_t end = std::min(samples.size(), begin + chunk);
    data::Loader loader(std::vector<data::Sample>(samples.begin() + static_cast<std::ptrdiff_t>(begin),
                                                  samples.begin() + static_cast<std::ptrdiff_t>(end)),
                        lo);
    loader.fill_cache();
    loader.start_epoch(0);
    while (auto batch = loader.next()) {
      const auto x = batch->images.to(device, /*non_blocking=*/true);
      torch::Tensor probs;
      CamBatch cams;
      if (o.gradcam_dir.empty()) {
        probs = eval::ensemble_probabilities(models, x, io);
      } else {
        compat::AutocastGuard autocast(device, autocast_dtype(precision.precision), uses_autocast(precision.precision));
        cams = compute_cam(models, x, o.method);
        probs = cams.probabilities;
      }
      for (std::size_t j = 0; j < batch->size(); ++j) {
        const std::size_t i = begin + batch->indices[j];
        ImageResult& r = result.images[i];
        r.path = inputs[i].file.string();
        r.study = inputs[i].study;
        r.body_part = inputs[i].body_part;
        r.error = batch->errors[j];
        if (!r.error.empty()) {
          r.probability = std::nan("");
          continue;
        }
        r.probability = probs[static_cast<int64_t>(j)].item<double>();
        r.label = r.probability >= result.threshold ? 1 : 0;
        if (!o.gradcam_dir.empty()) {
          const cv::Mat gray = data::load_gray(inputs[i].file);
          const cv::Mat cam =
              cam_to_image(cams.cams[static_cast<int64_t>(j)], cams.geometry, gray.cols, gray.rows);
          const fs::path base = fs::path(o.gradcam_dir) / stem_for(inputs[i].file, stems);
          const std::string b = base.string();
          write_image(b + "_panels.png", three_panels(gray, cam, r.probability, {o.alpha, 512}));
          write_image(b + "_overlay.png", overlay(gray, cam, o.alpha));
          write_cam_png16(b + "_cam16.png", cam);
          write_npy(b + "_cam.npy", cams.cams[static_cast<int64_t>(j)]);
          for (const char* suffix : {"_panels.png", "_overlay.png", "_cam16.png", "_cam.npy"})
            result.written.push_back(b + suffix);
        }
      }
    }
  }

  std::map<std::string, std::size_t> index;
  for (const auto& r : result.images) {
    if (!r.error.empty()) continue;
    auto [it, fresh] = index.emplace(r.study, result.studies.size());
    if (fresh) result.studies.push_back({r.study, r.body_part, 0.0, 0, 0});
    StudyResult& s = result.studies[it->second];
    s.probability += r.probability;
    ++s.n_images;
  }
  for (auto& s : result.studies) {
    s.probability /= static_cast<double>(s.n_images);
    s.label = s.probability >= result.threshold ? 1 : 0;
  }
  return result;
}

}  // namespace mura::explain
