#pragma once
/// Learning-rate schedules, stepped once per epoch. LibTorch 1.13 has no ReduceLROnPlateau,
/// so it is written here with PyTorch's exact semantics (mode, factor, patience, relative
/// threshold 1e-4, cooldown, min_lr, eps 1e-8).
#include <string>

#include "mura/util/names.h"

namespace torch::optim {
class Optimizer;
}

namespace mura::train {

enum class SchedulerKind { Plateau, Cosine, None };
/// The names --scheduler accepts.
const NameTable<SchedulerKind>& scheduler_names();
SchedulerKind parse_scheduler(const std::string& name);  ///< "plateau" | "cosine" | "none"
const char* scheduler_name(SchedulerKind k);

struct SchedulerOptions {
  SchedulerKind kind = SchedulerKind::Plateau;
  bool maximize = true;     ///< plateau: the monitored metric should rise (AUROC) or fall (loss)
  double factor = 0.1;      ///< plateau: lr *= factor on a plateau (the MURA paper: /10)
  int patience = 1;         ///< plateau: epochs without improvement before reducing
  double threshold = 1e-4;  ///< plateau: relative improvement that counts
  int cooldown = 0;
  double min_lr = 0.0;
  int total_epochs = 10;  ///< cosine: T_max
};

class Scheduler {
 public:
  Scheduler(SchedulerOptions options, double base_lr);
  /// Called after epoch `epochs_done` (1-based) with the monitored value; returns the
  /// learning rate for the next epoch.
  double step(int epochs_done, double metric);
  double lr() const { return lr_; }
  /// Number of reductions so far (plateau).
  int reductions() const { return reductions_; }
  std::string state_json() const;
  /// Restores a state written by state_json(); throws mura::Error when it does not parse.
  void load_state_json(const std::string& json);

 private:
  SchedulerOptions o_;
  double base_lr_, lr_;
  double best_;
  bool has_best_ = false;
  int bad_epochs_ = 0, cooldown_left_ = 0, reductions_ = 0;
};

/// Sets every parameter group's learning rate.
void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);

}  // namespace mura::train
