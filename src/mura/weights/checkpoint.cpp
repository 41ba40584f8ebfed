#include "mura/weights/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <sstream>

#include "mura/models/registry.h"
#include "mura/util/atomic_file.h"
#include "mura/util/clock.h"
#include "mura/util/error.h"
#include "mura/weights/zip_reader.h"

namespace mura::weights {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

/// NaN as null (JSON has no NaN) and back.
json number(double v) {
  return std::isnan(v) ? json(nullptr) : json(v);
}
double number(const json& j, const char* key) {
  return !j.contains(key) || j.at(key).is_null() ? std::numeric_limits<double>::quiet_NaN()
                                                 : j.at(key).get<double>();
}

json calibration_json(const CalibrationRecord& c) {
  return {{"threshold_rule", c.threshold_rule},
          {"data", c.data},
          {"created", c.created},
          {"studies", c.studies},
          {"abnormal_studies", c.abnormal_studies},
          {"images", c.images},
          {"sensitivity", number(c.sensitivity)},
          {"sensitivity_lower", number(c.sensitivity_lower)},
          {"sensitivity_upper", number(c.sensitivity_upper)},
          {"specificity", number(c.specificity)},
          {"specificity_lower", number(c.specificity_lower)},
          {"specificity_upper", number(c.specificity_upper)},
          {"bootstrap", c.bootstrap},
          {"temperature_fitted", c.temperature_fitted},
          {"nll_before", number(c.nll_before)},
          {"nll_after", number(c.nll_after)},
          {"ece_before", number(c.ece_before)},
          {"ece_after", number(c.ece_after)}};
}

CalibrationRecord calibration_from(const json& j) {
  CalibrationRecord c;
  c.threshold_rule = j.at("threshold_rule").get<std::string>();
  c.data = j.at("data").get<std::string>();
  c.created = j.value("created", "");
  c.studies = j.at("studies").get<std::size_t>();
  c.abnormal_studies = j.at("abnormal_studies").get<std::size_t>();
  c.images = j.at("images").get<std::size_t>();
  c.sensitivity = number(j, "sensitivity");
  c.sensitivity_lower = number(j, "sensitivity_lower");
  c.sensitivity_upper = number(j, "sensitivity_upper");
  c.specificity = number(j, "specificity");
  c.specificity_lower = number(j, "specificity_lower");
  c.specificity_upper = number(j, "specificity_upper");
  c.bootstrap = j.at("bootstrap").get<std::size_t>();
  c.temperature_fitted = j.at("temperature_fitted").get<bool>();
  c.nll_before = number(j, "nll_before");
  c.nll_after = number(j, "nll_after");
  c.ece_before = number(j, "ece_before");
  c.ece_after = number(j, "ece_after");
  return c;
}

json spec_json(const ModelSpec& s) {
  json j = {{"arch", s.arch},
            {"num_outputs", s.num_outputs},
            {"image_size", s.image_size},
            {"mean", s.mean},
            {"std", s.std},
            {"threshold", s.threshold},
            {"temperature", s.temperature}};
  if (!s.calibration.empty()) j["calibration"] = calibration_json(s.calibration);
  return j;
}

ModelSpec spec_from(const json& j) {
  ModelSpec s;
  s.arch = j.at("arch").get<std::string>();
  s.num_outputs = j.at("num_outputs").get<int64_t>();
  s.image_size = j.at("image_size").get<int>();
  s.mean = j.at("mean").get<std::array<float, 3>>();
  s.std = j.at("std").get<std::array<float, 3>>();
  s.threshold = j.at("threshold").get<double>();
  s.temperature = j.value("temperature", 1.0);  // format version 1: none
  if (j.contains("calibration")) s.calibration = calibration_from(j.at("calibration"));
  if (s.image_size < 8 || s.image_size > 8192)
    throw Error("spec.image_size " + std::to_string(s.image_size) + " is not 8 to 8192");
  for (float v : s.std)
    if (!(v > 0) || !std::isfinite(v)) throw Error("spec.std holds a value that is not > 0");
  for (float v : s.mean)
    if (!std::isfinite(v)) throw Error("spec.mean holds a value that is not finite");
  if (!(s.threshold >= 0 && s.threshold <= 1)) throw Error("spec.threshold is not in [0, 1]");
  if (!(s.temperature > 0) || !std::isfinite(s.temperature))
    throw Error("spec.temperature is not a finite number > 0");
  return s;
}

/// The first line of a foreign message, printable characters only (it may quote the file).
std::string first_line(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\n' || out.size() >= 200) break;
    out += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
  }
  return out;
}

/// Inside a catch: mura's errors and out-of-memory as they are; a foreign exception of
/// LibTorch's archive reader (c10::Error, TorchScript's ErrorReport) as "damaged checkpoint".
[[noreturn]] void rethrow_as_damaged(const std::string& name) {
  try {
    throw;
  } catch (const Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(name + ": damaged checkpoint (" + first_line(e.what()) + ")");
  }
}

torch::Tensor bytes_tensor(const std::string& s) {
  auto t = torch::empty({static_cast<int64_t>(s.size())}, torch::kUInt8);
  if (!s.empty()) std::memcpy(t.data_ptr<uint8_t>(), s.data(), s.size());
  return t;
}

std::string tensor_bytes(const torch::Tensor& t) {
  const auto c = t.contiguous().to(torch::kCPU);
  return std::string(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()),
                     static_cast<std::size_t>(c.numel()));
}

}  // namespace

std::string describe_threshold(const ModelSpec& spec) {
  const auto fmt = [](double v, int digits) {
    if (std::isnan(v)) return std::string("n/a");
    char b[32];
    std::snprintf(b, sizeof b, "%.*f", digits, v);
    return std::string(b);
  };
  const CalibrationRecord& c = spec.calibration;
  std::string out = fmt(spec.threshold, 4);
  if (c.threshold_rule.empty()) {
    out += " (not chosen on data)";
  } else {
    out += " (" + c.threshold_rule + " on " + c.data + ", " + std::to_string(c.studies) +
           " studies: sensitivity " + fmt(c.sensitivity, 3);
    if (c.bootstrap > 0)
      out += " [" + fmt(c.sensitivity_lower, 3) + ", " + fmt(c.sensitivity_upper, 3) + "]";
    out += ", specificity " + fmt(c.specificity, 3);
    if (c.bootstrap > 0)
      out += " [" + fmt(c.specificity_lower, 3) + ", " + fmt(c.specificity_upper, 3) + "]";
    out += ")";
  }
  if (spec.temperature != 1.0) out += ", temperature " + fmt(spec.temperature, 4);
  return out;
}

std::string spec_to_json(const ModelSpec& spec) {
  return spec_json(spec).dump();
}

namespace {
/// The one writer of checkpoints: meta, the model's tensors, the optimizer's archive bytes
/// (none when empty) and the generator state (none when undefined), atomically.
void write_checkpoint(const fs::path& path, const ModelSpec& spec, models::ClassifierImpl& model,
                      const TrainingState& state, const std::string& optimizer_bytes,
                      const torch::Tensor& rng) {
  if (spec.arch != model.arch())
    throw Error("save_checkpoint: spec says " + spec.arch + " but the model is " + model.arch());
  json meta;
  meta["mura_version"] = MURA_VERSION;
  meta["created"] = utc_timestamp();
  meta["spec"] = spec_json(spec);
  meta["state"] = {
      {"epoch", state.epoch},
      {"global_step", state.global_step},
      {"batches_done_in_epoch", state.batches_done_in_epoch},
      {"best_metric_name", state.best_metric_name},
      {"best_metric", std::isnan(state.best_metric) ? json(nullptr) : json(state.best_metric)},
      {"options", json::parse(state.options_json)},
      {"scheduler", json::parse(state.scheduler_json)},
      {"precision", state.precision},
      {"channels_last", state.channels_last},
      {"grad_scaler", json::parse(state.grad_scaler_json)},
      {"split",
       {{"val_source", state.split.val_source},
        {"val_fraction", state.split.val_fraction},
        {"seed", state.split.seed},
        {"tasks", state.split.tasks},
        {"strata", state.split.strata}}}};

  torch::serialize::OutputArchive archive;
  archive.write("mura_format_version", c10::IValue(kCheckpointFormatVersion));
  archive.write("meta", c10::IValue(meta.dump()));
  torch::serialize::OutputArchive weights;
  for (const auto& p : model.named_parameters())
    weights.write(p.key(), p.value().detach().to(torch::kCPU));
  for (const auto& b : model.named_buffers())
    weights.write(b.key(), b.value().to(torch::kCPU), true);
  archive.write("model", weights);
  if (!optimizer_bytes.empty()) archive.write("optimizer", bytes_tensor(optimizer_bytes));
  if (rng.defined()) archive.write("rng", rng);
  write_file_atomic(path, [&](std::ostream& out) {
    // Through a writer that always reports every byte taken: LibTorch's zip writer checks
    // its position after each record and, on a short write (a full disk), throws from its
    // destructor, which ends the process (std::terminate; found by fault injection). The
    // stream's own state, with the errno of its first failure, tells write_file_atomic.
    int first_errno = 0;
    archive.save_to([&](const void* data, std::size_t n) -> std::size_t {
      if (out && !out.write(static_cast<const char*>(data), static_cast<std::streamsize>(n)))
        first_errno = errno;
      return n;
    });
    if (first_errno != 0) errno = first_errno;
  });
}
}  // namespace

void save_checkpoint(const fs::path& path, const ModelSpec& spec, models::ClassifierImpl& model,
                     const TrainingState& state, torch::optim::Optimizer* optimizer,
                     bool save_rng) {
  std::string optimizer_bytes;
  if (optimizer) {
    torch::serialize::OutputArchive opt;
    optimizer->save(opt);
    std::ostringstream bytes;
    opt.save_to(bytes);
    optimizer_bytes = bytes.str();
  }
  write_checkpoint(path, spec, model, state, optimizer_bytes,
                   save_rng ? at::detail::getDefaultCPUGenerator().get_state() : torch::Tensor());
}

void save_checkpoint_with_spec(const fs::path& path, const Checkpoint& ckpt,
                               const ModelSpec& spec) {
  MURA_ASSERT(ckpt.model && !ckpt.model->inference_only(),
              "save_checkpoint_with_spec: the model was prepared for inference (folded)");
  write_checkpoint(path, spec, *ckpt.model, ckpt.state, ckpt.optimizer_state, ckpt.rng_state);
}

Checkpoint load_checkpoint(const fs::path& path, torch::Device device) {
  const std::string name = path.string();
  const std::string bytes = read_file(path);
  if (bytes.size() < 4 || bytes.compare(0, 4, "PK\x03\x04") != 0)
    throw Error(
        name + ": not a mura checkpoint (not a zip archive" +
        std::string(bytes.size() >= 2 && bytes.compare(0, 2, "\x80\x02") == 0
                        ? "; it looks like a legacy torch.save file: use mura convert-weights"
                        : "") +
        ")");
  {
    // The zip container first, with every stored record's CRC-32 (the deflated code/
    // records are left to LibTorch), in mura's own bounds-checked reader (the .pth one): a
    // damaged file is refused here, naming it, before LibTorch's archive reader (which
    // compiles the archive's TorchScript) sees it.
    const detail::Source src{name};
    std::vector<std::string> order;
    try {
      const auto records = detail::read_zip(src, bytes, order, /*allow_compressed=*/true);
      for (const auto& record : order) detail::checked(src, record, records.at(record));
    } catch (const detail::ParseError& e) {
      std::string what = e.what();
      if (what.rfind(name + ": ", 0) == 0) what.erase(0, name.size() + 2);
      throw Error(name + ": truncated or damaged checkpoint (" + what + ")");
    }
  }
  torch::serialize::InputArchive archive;
  try {
    std::istringstream in(bytes);
    archive.load_from(in, torch::kCPU);
  } catch (const c10::Error& e) {
    throw Error(name + ": truncated or damaged checkpoint (" +
                first_line(e.what_without_backtrace()) + ")");
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    // e.g. TorchScript's ErrorReport for a damaged code/ record (found by fuzzing)
    throw Error(name + ": truncated or damaged checkpoint (" + first_line(e.what()) + ")");
  }
  c10::IValue version;
  if (!archive.try_read("mura_format_version", version) || !version.isInt())
    throw Error(name +
                ": not a mura checkpoint (a PyTorch archive without mura_format_version; for a "
                "torchvision .pth state dict use mura convert-weights)");
  Checkpoint ck;
  ck.format_version = version.toInt();
  if (ck.format_version > kCheckpointFormatVersion)
    throw Error(name + ": checkpoint format_version " + std::to_string(ck.format_version) +
                " is newer than this mura supports (" + std::to_string(kCheckpointFormatVersion) +
                "): upgrade mura");
  if (ck.format_version < 1)
    throw Error(name + ": invalid checkpoint format_version " + std::to_string(ck.format_version));
  try {
    c10::IValue meta_v;
    if (!archive.try_read("meta", meta_v) || !meta_v.isString()) throw Error("no 'meta' record");
    const json meta = json::parse(meta_v.toStringRef());
    ck.mura_version = meta.value("mura_version", "");
    ck.created = meta.value("created", "");
    ck.spec = spec_from(meta.at("spec"));
    const json& st = meta.at("state");
    ck.state.epoch = st.at("epoch").get<int64_t>();
    ck.state.global_step = st.at("global_step").get<int64_t>();
    ck.state.batches_done_in_epoch = st.value("batches_done_in_epoch", int64_t{0});
    ck.state.best_metric_name = st.at("best_metric_name").get<std::string>();
    ck.state.best_metric = st.at("best_metric").is_null() ? std::numeric_limits<double>::quiet_NaN()
                                                          : st.at("best_metric").get<double>();
    ck.state.options_json = st.at("options").dump();
    ck.state.scheduler_json = st.at("scheduler").dump();
    ck.state.precision = st.at("precision").get<std::string>();
    ck.state.channels_last = st.value("channels_last", false);
    if (st.contains("grad_scaler")) ck.state.grad_scaler_json = st.at("grad_scaler").dump();
    if (st.contains("split")) {
      const json& sp = st.at("split");
      ck.state.split.recorded = true;
      ck.state.split.val_source = sp.at("val_source").get<std::string>();
      ck.state.split.val_fraction = sp.at("val_fraction").get<double>();
      ck.state.split.seed = sp.at("seed").get<std::uint64_t>();
      ck.state.split.tasks = sp.at("tasks").get<std::vector<std::string>>();
      ck.state.split.strata = sp.value("strata", ck.state.split.strata);
    }
  } catch (const json::exception& e) {
    throw Error(name + ": damaged checkpoint metadata (" + e.what() + ")");
  } catch (const Error& e) {
    throw Error(name + ": damaged checkpoint (" + e.what() + ")");
  }
  // Every tensor is read and checked (present, shape, dtype) against what the architecture
  // holds before the model is built: a damaged file is refused without allocating a model.
  const std::vector<models::TensorSpec>* specs = nullptr;
  try {
    specs = &models::tensor_specs(ck.spec.arch, ck.spec.num_outputs);
  } catch (const Error& e) {
    throw Error(name + ": " + e.what());
  }
  std::vector<torch::Tensor> values;
  try {
    torch::serialize::InputArchive weights;
    if (!archive.try_read("model", weights))
      throw Error(name + ": damaged checkpoint (no model weights)");
    for (const auto& s : *specs) {
      torch::Tensor t;
      if (!weights.try_read(s.name, t, s.buffer))
        throw Error(name + ": damaged checkpoint (tensor '" + s.name + "' missing)");
      if (t.sizes() != c10::IntArrayRef(s.shape))
        throw Error(name + ": damaged checkpoint (tensor '" + s.name + "' has the wrong shape)");
      if (t.scalar_type() != s.dtype)
        throw Error(name + ": damaged checkpoint (tensor '" + s.name + "' has the wrong dtype)");
      values.push_back(std::move(t));
    }
  } catch (...) {
    rethrow_as_damaged(name);
  }
  ck.model = models::create_model(ck.spec.arch, ck.spec.num_outputs);
  {
    torch::NoGradGuard no_grad;
    std::size_t i = 0;
    for (auto& p : ck.model->named_parameters()) p.value().copy_(values[i++]);
    for (auto& b : ck.model->named_buffers()) b.value().copy_(values[i++]);
  }
  ck.model->to(device);
  ck.model->set_temperature(ck.spec.temperature);
  torch::Tensor opt;
  try {
    if (archive.try_read("optimizer", opt)) {
      if (opt.scalar_type() != torch::kUInt8 || opt.dim() != 1)
        throw Error(name + ": damaged checkpoint (optimizer record is not bytes)");
      ck.optimizer_state = tensor_bytes(opt);
    }
    if (archive.try_read("rng", ck.rng_state) &&
        (ck.rng_state.scalar_type() != torch::kUInt8 || ck.rng_state.dim() != 1))
      throw Error(name + ": damaged checkpoint (rng record is not bytes)");
  } catch (...) {
    rethrow_as_damaged(name);
  }
  return ck;
}

void restore_optimizer(const Checkpoint& ckpt, torch::optim::Optimizer& optimizer) {
  if (ckpt.optimizer_state.empty()) throw Error("the checkpoint holds no optimizer state");
  torch::serialize::InputArchive archive;
  std::istringstream in(ckpt.optimizer_state);
  try {
    archive.load_from(in);
    optimizer.load(archive);
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    throw Error("the checkpoint's optimizer state is damaged (" + first_line(e.what()) + ")");
  }
}

}  // namespace mura::weights
