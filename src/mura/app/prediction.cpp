#include "mura/app/prediction.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "mura/app/common.h"
#include "mura/data/image.h"
#include "mura/data/loader.h"
#include "mura/explain/render.h"
#include "mura/models/inference.h"
#include "mura/util/atomic_file.h"
#include "mura/util/error.h"
#include "mura/util/precision.h"
#include "mura/util/strings.h"
#include "mura/util/torch_compat.h"

namespace mura::app {
namespace fs = std::filesystem;

namespace {

/// A file name for the pictures of `file` that stays unique within one run.
std::string stem_for(const fs::path& file, std::map<std::string, int>& used) {
  std::string stem = file.parent_path().filename().string() + "_" + file.stem().string();
  if (file.parent_path().filename().empty()) stem = file.stem().string();
  const int n = used[stem]++;
  return n == 0 ? stem : stem + "-" + std::to_string(n);
}

/// Bytes of `texts` joined by '\0' (none of them holds one), and back.
torch::Tensor pack_texts(const std::vector<std::string>& texts) {
  std::string all;
  for (const auto& t : texts) all += t + '\0';
  auto out = torch::empty({static_cast<std::int64_t>(all.size())}, torch::kUInt8);
  std::copy(all.begin(), all.end(), out.data_ptr<std::uint8_t>());
  return out;
}
std::vector<std::string> unpack_texts(const torch::Tensor& bytes) {
  std::vector<std::string> texts;
  std::string cur;
  const auto* p = bytes.data_ptr<std::uint8_t>();
  for (std::int64_t i = 0; i < bytes.numel(); ++i) {
    if (p[i] == 0) {
      texts.push_back(cur);
      cur.clear();
    } else {
      cur += static_cast<char>(p[i]);
    }
  }
  return texts;
}

/// Every rank scored inputs [from, to); afterwards every rank holds every image's result
/// (probability, label, error) and rank 0 the list of every picture written.
void gather_results(Collective& group, const std::vector<data::InputImage>& inputs,
                    std::size_t from, std::size_t to, PredictResult& result) {
  std::vector<double> probs;
  std::vector<std::string> errors;
  for (std::size_t i = from; i < to; ++i) {
    probs.push_back(result.images[i].probability);
    errors.push_back(result.images[i].error);
  }
  const auto p = torch::cat(group.all_gather_ragged(torch::tensor(probs, torch::kFloat64),
                                                    "gathering the probabilities"));
  std::vector<std::string> all_errors;
  for (const auto& part : group.all_gather_ragged(pack_texts(errors), "gathering the errors"))
    for (auto& e : unpack_texts(part)) all_errors.push_back(std::move(e));
  std::vector<std::string> written;
  for (const auto& part :
       group.all_gather_ragged(pack_texts(result.written), "gathering the pictures written"))
    for (auto& w : unpack_texts(part)) written.push_back(std::move(w));
  MURA_ASSERT(
      p.numel() == static_cast<std::int64_t>(inputs.size()) && all_errors.size() == inputs.size(),
      "gathered " + std::to_string(p.numel()) + " of " + std::to_string(inputs.size()) +
          " results");
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    ImageResult& r = result.images[i];
    r.path = inputs[i].file.string();
    r.study = inputs[i].study;
    r.body_part = inputs[i].body_part;
    r.error = all_errors[i];
    r.probability = p[static_cast<std::int64_t>(i)].item<double>();
    r.label = r.error.empty() && r.probability >= result.threshold ? 1 : 0;
  }
  result.written = std::move(written);
}

PredictResult predict_composed(const std::vector<data::InputImage>& inputs, const PredictOptions& o,
                               Sink& sink) {
  const Runtime rt = resolve_runtime(o.runtime);
  const torch::Device device = rt.device;
  const PrecisionChoice& precision = rt.precision;
  const auto ckpts = load_for_inference(o.checkpoints, rt);
  check_same_geometry(ckpts, o.checkpoints);
  const auto models = models_of(ckpts);
  PredictResult result;
  result.threshold = o.threshold >= 0 ? o.threshold : ckpts[0].spec.threshold;
  result.threshold_origin = o.threshold >= 0
                                ? std::string("--threshold")
                                : "the checkpoint's: " + weights::describe_threshold(ckpts[0].spec);
  result.precision = precision_name(precision.precision);
  models::InferenceOptions io;
  io.device = device;
  io.tta_flip = o.tta_flip;
  io.precision = precision.precision;

  std::vector<data::Sample> samples;
  for (const auto& in : inputs) samples.push_back({in.file, 0, in.study, "", in.body_part});
  data::LoaderOptions lo;
  lo.batch_size = o.batch_size;
  lo.workers = rt.threads.loader_workers;
  lo.channels_last = rt.channels_last;
  lo.pin_memory = device.is_cuda();
  lo.skip_unreadable = true;
  lo.decode.dicom_window = o.dicom_window;
  lo.transform = data::TransformOptions::evaluation(ckpts[0].spec.image_size);
  lo.transform.mean = ckpts[0].spec.mean;
  lo.transform.std = ckpts[0].spec.std;

  result.images.resize(inputs.size());
  std::map<std::string, int> stems;
  if (!o.gradcam_dir.empty()) ensure_writable_dir(o.gradcam_dir, "--output-dir");
  // On a CPU the model and the decoders compete for the same cores: decode a chunk of images
  // with every core, then run the model on it with every core, instead of interleaving the
  // two (LibTorch's threads wait for each other whenever a decoder takes one's core). On
  // CUDA the GPU computes while the workers decode.
  const std::size_t chunk =
      device.is_cuda() ? std::max<std::size_t>(1, samples.size())
                       : static_cast<std::size_t>(64) * static_cast<std::size_t>(o.batch_size);
  if (!device.is_cuda()) lo.cache = data::CacheMode::Memory;
  // Launched with several processes: each takes a contiguous block of whole batches.
  Collective& group = *rt.group;
  const auto bs = static_cast<std::size_t>(o.batch_size);
  const auto [first_batch, end_batch] =
      share_of((samples.size() + bs - 1) / bs, group.rank(), group.size());
  const std::size_t mine_from = std::min(samples.size(), first_batch * bs);
  const std::size_t mine_to = std::min(samples.size(), end_batch * bs);
  for (std::size_t begin = mine_from; begin < mine_to; begin += chunk) {
    const std::size_t end = std::min(mine_to, begin + chunk);
    data::Loader loader(
        std::vector<data::Sample>(samples.begin() + static_cast<std::ptrdiff_t>(begin),
                                  samples.begin() + static_cast<std::ptrdiff_t>(end)),
        lo);
    loader.fill_cache();
    loader.start_epoch(0);
    while (auto batch = loader.next()) {
      const auto x = batch->images.to(device, /*non_blocking=*/true);
      torch::Tensor probs;
      explain::CamBatch cams;
      if (o.gradcam_dir.empty()) {
        probs = models::ensemble_probabilities(models, x, io);
      } else {
        compat::AutocastGuard autocast(device, autocast_dtype(precision.precision),
                                       uses_autocast(precision.precision));
        cams = explain::compute_cam(models, x, o.method);
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
          sink.warn("skipped " + r.error);
          continue;
        }
        r.probability = probs[static_cast<int64_t>(j)].item<double>();
        r.label = r.probability >= result.threshold ? 1 : 0;
        if (!o.gradcam_dir.empty()) {
          const cv::Mat gray = data::load_gray(inputs[i].file, lo.decode);
          const cv::Mat cam = explain::cam_to_image(cams.cams[static_cast<int64_t>(j)],
                                                    cams.geometry, gray.cols, gray.rows);
          const fs::path base = fs::path(o.gradcam_dir) / stem_for(inputs[i].file, stems);
          const std::string b = base.string();
          explain::write_image(b + "_panels.png",
                               explain::three_panels(gray, cam, r.probability, {o.alpha, 512}));
          explain::write_image(b + "_overlay.png", explain::overlay(gray, cam, o.alpha));
          explain::write_cam_png16(b + "_cam16.png", cam);
          explain::write_npy(b + "_cam.npy", cams.cams[static_cast<int64_t>(j)]);
          for (const char* suffix : {"_panels.png", "_overlay.png", "_cam16.png", "_cam.npy"})
            result.written.push_back(b + suffix);
        }
      }
    }
  }

  if (group.size() > 1) gather_results(group, inputs, mine_from, mine_to, result);
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

}  // namespace

PredictResult run_prediction(const std::vector<data::InputImage>& inputs,
                             const PredictOptions& options, Sink& sink) {
  return at_boundary("predicting with " + (options.checkpoints.empty() ? std::string("a model")
                                                                       : options.checkpoints[0]),
                     [&] { return predict_composed(inputs, options, sink); });
}

PredictResult run_explanation(const std::vector<data::InputImage>& inputs,
                              const PredictOptions& options, Sink& sink) {
  MURA_CHECK(!options.gradcam_dir.empty(),
             "--output-dir: give the folder for the Grad-CAM pictures");
  return at_boundary("explaining with " + (options.checkpoints.empty() ? std::string("a model")
                                                                       : options.checkpoints[0]),
                     [&] { return predict_composed(inputs, options, sink); });
}

}  // namespace mura::app
