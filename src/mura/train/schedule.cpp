#include "mura/train/schedule.h"

#include <torch/torch.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "mura/util/error.h"

namespace mura::train {

const NameTable<SchedulerKind>& scheduler_names() {
  static const NameTable<SchedulerKind> table(
      "--scheduler", {{SchedulerKind::Plateau, "plateau", {"reduce-on-plateau"}},
                      {SchedulerKind::Cosine, "cosine", {}},
                      {SchedulerKind::None, "none", {"constant"}}});
  return table;
}

SchedulerKind parse_scheduler(const std::string& name) {
  return scheduler_names().parse(name);
}

const char* scheduler_name(SchedulerKind k) {
  return scheduler_names().name(k).c_str();
}

Scheduler::Scheduler(SchedulerOptions options, double base_lr)
    : o_(options), base_lr_(base_lr), lr_(base_lr), best_(0.0) {}

double Scheduler::step(int epochs_done, double metric) {
  switch (o_.kind) {
    case SchedulerKind::None:
      break;
    case SchedulerKind::Cosine: {
      const double t = std::min(epochs_done, o_.total_epochs);
      lr_ = o_.min_lr + (base_lr_ - o_.min_lr) * (1 + std::cos(M_PI * t / o_.total_epochs)) / 2;
      break;
    }
    case SchedulerKind::Plateau: {
      if (std::isnan(metric)) {
        ++bad_epochs_;  // an undefined metric never counts as an improvement
      } else {
        const bool better = !has_best_ || (o_.maximize ? metric > best_ * (1 + o_.threshold)
                                                       : metric < best_ * (1 - o_.threshold));
        if (better) {
          best_ = metric;
          has_best_ = true;
          bad_epochs_ = 0;
        } else {
          ++bad_epochs_;
        }
      }
      if (cooldown_left_ > 0) {
        --cooldown_left_;
        bad_epochs_ = 0;
      }
      if (bad_epochs_ > o_.patience) {
        const double next = std::max(lr_ * o_.factor, o_.min_lr);
        if (lr_ - next > 1e-8) {
          lr_ = next;
          ++reductions_;
        }
        cooldown_left_ = o_.cooldown;
        bad_epochs_ = 0;
      }
      break;
    }
  }
  return lr_;
}

std::string Scheduler::state_json() const {
  nlohmann::json j = {{"kind", scheduler_name(o_.kind)},
                      {"lr", lr_},
                      {"base_lr", base_lr_},
                      {"best", has_best_ ? nlohmann::json(best_) : nlohmann::json(nullptr)},
                      {"bad_epochs", bad_epochs_},
                      {"cooldown_left", cooldown_left_},
                      {"reductions", reductions_}};
  return j.dump();
}

void Scheduler::load_state_json(const std::string& text) {
  try {
    const auto j = nlohmann::json::parse(text);
    if (j.empty()) return;  // a checkpoint written without a scheduler
    lr_ = j.at("lr").get<double>();
    base_lr_ = j.at("base_lr").get<double>();
    has_best_ = !j.at("best").is_null();
    if (has_best_) best_ = j.at("best").get<double>();
    bad_epochs_ = j.at("bad_epochs").get<int>();
    cooldown_left_ = j.at("cooldown_left").get<int>();
    reductions_ = j.at("reductions").get<int>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("cannot restore the scheduler state: ") + e.what());
  }
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

}  // namespace mura::train
