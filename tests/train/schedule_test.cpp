// ReduceLROnPlateau and cosine against PyTorch's own schedulers (Debian's python3-torch).
#include "mura/train/schedule.h"

#include <gtest/gtest.h>

#include <sstream>

#include "../test_util.h"
#include "mura/util/error.h"

namespace mura::train {
namespace {

std::vector<double> python_lrs(const std::string& scheduler_ctor,
                               const std::vector<double>& metrics) {
  std::ostringstream py;
  py << "import torch\n"
     << "p = torch.nn.Parameter(torch.zeros(1))\n"
     << "opt = torch.optim.Adam([p], lr=1e-3)\n"
     << "s = " << scheduler_ctor << "\n"
     << "for m in [";
  for (double m : metrics) py << m << ",";
  py << "]:\n"
     << "    opt.step()\n"
     << "    s.step(m) if isinstance(s, torch.optim.lr_scheduler.ReduceLROnPlateau) else s.step()\n"
     << "    print(repr(opt.param_groups[0]['lr']))\n";
  const auto r =
      test::run_command(std::string(MURA_PYTHON) + " -c \"" + py.str() + "\" 2>/dev/null");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  std::vector<double> out;
  std::istringstream in(r.out);
  double v;
  while (in >> v) out.push_back(v);
  return out;
}

TEST(Schedule, PlateauMatchesPyTorchMaximising) {
  const std::vector<double> auc = {0.70, 0.75, 0.75, 0.7501, 0.74, 0.80,
                                   0.79, 0.79, 0.79, 0.81,   0.80, 0.80};
  const auto expect = python_lrs(
      "torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode='max', factor=0.1, patience=1)", auc);
  SchedulerOptions o;
  o.maximize = true;
  o.factor = 0.1;
  o.patience = 1;
  Scheduler s(o, 1e-3);
  ASSERT_EQ(expect.size(), auc.size());
  for (std::size_t i = 0; i < auc.size(); ++i)
    EXPECT_DOUBLE_EQ(s.step(static_cast<int>(i + 1), auc[i]), expect[i]) << "epoch " << i + 1;
  EXPECT_GT(s.reductions(), 0);
}

TEST(Schedule, PlateauMatchesPyTorchMinimisingWithCooldownAndMinLr) {
  const std::vector<double> loss = {1.0,  0.9,  0.95, 0.97, 0.99, 0.89,
                                    0.91, 0.92, 0.93, 0.94, 0.95, 0.96};
  const auto expect = python_lrs(
      "torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode='min', factor=0.5, patience=2, "
      "cooldown=1, min_lr=3e-4)",
      loss);
  SchedulerOptions o;
  o.maximize = false;
  o.factor = 0.5;
  o.patience = 2;
  o.cooldown = 1;
  o.min_lr = 3e-4;
  Scheduler s(o, 1e-3);
  for (std::size_t i = 0; i < loss.size(); ++i)
    EXPECT_DOUBLE_EQ(s.step(static_cast<int>(i + 1), loss[i]), expect[i]) << "epoch " << i + 1;
}

TEST(Schedule, CosineMatchesPyTorch) {
  const std::vector<double> dummy(8, 0.0);
  const auto expect = python_lrs("torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=8)", dummy);
  SchedulerOptions o;
  o.kind = SchedulerKind::Cosine;
  o.total_epochs = 8;
  Scheduler s(o, 1e-3);
  for (std::size_t i = 0; i < dummy.size(); ++i)
    EXPECT_NEAR(s.step(static_cast<int>(i + 1), 0.0), expect[i], 1e-15) << "epoch " << i + 1;
}

TEST(Schedule, StateRoundTripsAndBadStateIsAnError) {
  SchedulerOptions o;
  Scheduler a(o, 1e-3);
  a.step(1, 0.7);
  a.step(2, 0.6);
  a.step(3, 0.6);
  Scheduler b(o, 1e-3);
  b.load_state_json(a.state_json());
  for (int e = 4; e < 9; ++e) EXPECT_DOUBLE_EQ(a.step(e, 0.65), b.step(e, 0.65));
  EXPECT_THROW(b.load_state_json("{\"lr\": \"x\"}"), Error);
  EXPECT_THROW(parse_scheduler("step"), Error);
}

}  // namespace
}  // namespace mura::train
