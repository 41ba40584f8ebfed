// Data-parallel training launched by Debian's real torchrun (--no_python, Gloo on loopback):
// N processes train the model one process trains, evaluation agrees, and failures are loud.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "mura/util/atomic_file.h"
#include "mura/util/strings.h"
#include "mura/weights/checkpoint.h"

namespace mura {
namespace {
namespace fs = std::filesystem;
using test::contains;
using test::run_command;
using test::run_mura;

/// A TCP port nobody listens on now (the kernel's pick).
int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd);
    return 0;
  }
  close(fd);
  return ntohs(a.sin_port);
}

/// Debian 12's torchrun under Python 3.11 needs -r/-t given explicitly (pytorch issue 92319).
std::string torchrun(int nproc, const std::string& args, const std::string& extra = "") {
  return "timeout 600 torchrun --no_python --nproc_per_node " + std::to_string(nproc) +
         " -r 9:1 -t 9:1 --master_addr 127.0.0.1 --master_port " + std::to_string(free_port()) +
         " " + extra + " '" + MURA_BINARY + "' " + args + " 2>&1";
}

bool have_torchrun() {
  return run_command("command -v torchrun").exit_code == 0;
}

struct WeightDifference {
  double max = 0, mean = 0;  ///< over every parameter element; max also over the buffers
  std::string where;         ///< the tensor holding the max
};

/// |a - b| over every parameter and buffer of two checkpoints.
WeightDifference weight_difference(const std::string& a, const std::string& b) {
  const auto ca = weights::load_checkpoint(a), cb = weights::load_checkpoint(b);
  WeightDifference w;
  double sum = 0, n = 0;
  auto compare = [&](const torch::OrderedDict<std::string, torch::Tensor>& x,
                     const torch::OrderedDict<std::string, torch::Tensor>& y, bool parameters) {
    for (const auto& kv : x) {
      const auto* other = y.find(kv.key());
      EXPECT_NE(other, nullptr) << kv.key();
      if (other == nullptr) continue;
      const auto d = (kv.value().to(torch::kFloat64) - other->to(torch::kFloat64)).abs();
      if (d.max().item<double>() > w.max) {
        w.max = d.max().item<double>();
        w.where = kv.key();
      }
      if (parameters) {
        sum += d.sum().item<double>();
        n += static_cast<double>(d.numel());
      }
    }
  };
  compare(ca.model->named_parameters(), cb.model->named_parameters(), true);
  compare(ca.model->named_buffers(), cb.model->named_buffers(), false);
  w.mean = n > 0 ? sum / n : 0;
  return w;
}

/// Whether two metrics.json agree: the same keys and strings, numbers within `tolerance`
/// (what names the run rather than its numbers, the time and the file names, is left out).
::testing::AssertionResult same_metrics(const std::string& fa, const std::string& fb,
                                        double tolerance) {
  auto a = nlohmann::json::parse(read_file(fa)), b = nlohmann::json::parse(read_file(fb));
  for (auto* j : {&a, &b})
    for (const char* k : {"created", "checkpoints"}) j->erase(k);
  std::string first;
  std::function<void(const nlohmann::json&, const nlohmann::json&, const std::string&)> walk =
      [&](const nlohmann::json& x, const nlohmann::json& y, const std::string& at) {
        if (!first.empty()) return;
        if (x.is_number() && y.is_number()) {
          if (std::abs(x.get<double>() - y.get<double>()) > tolerance)
            first = at + ": " + x.dump() + " vs " + y.dump();
        } else if (x.is_object() && y.is_object() && x.size() == y.size()) {
          for (auto it = x.begin(); it != x.end(); ++it) {
            if (!y.contains(it.key())) {
              first = at + "/" + it.key() + " missing";
              return;
            }
            walk(it.value(), y.at(it.key()), at + "/" + it.key());
          }
        } else if (x.is_array() && y.is_array() && x.size() == y.size()) {
          for (std::size_t i = 0; i < x.size(); ++i) walk(x[i], y[i], at + "/" + std::to_string(i));
        } else if (x != y) {
          first = at + ": " + x.dump() + " vs " + y.dump();
        }
      };
  walk(a, b, "");
  if (first.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "metrics.json differ at " << first;
}

/// The training loss of the last epoch in a run's metrics.jsonl.
double last_train_loss(const std::string& run) {
  const std::string text = read_file(run + "/metrics.jsonl");
  const auto lines = split(text.substr(0, text.find_last_not_of('\n') + 1), '\n');
  return nlohmann::json::parse(lines.back()).at("train_loss").get<double>();
}

class DataParallel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    const auto r = run_mura("synth --output-dir '" + data() +
                            "' --patients 36 --seed 5 --min-size 40 --max-size 56");
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  static void TearDownTestSuite() { delete dir_; }
  void SetUp() override {
    if (!have_torchrun()) GTEST_SKIP() << "torchrun is not installed (python3-torch gives it)";
  }
  static std::string data() { return (dir_->path() / "MURA-synth").string(); }
  static std::string out(const std::string& name) { return (dir_->path() / name).string(); }
  /// The flags every run here shares: ResNet-18 at 32 px, global batch 16, a few steps.
  static std::string train_args(const std::string& out_dir, const std::string& extra) {
    return "train --data_dir '" + data() + "' --model resnet18 --img_size 32 --batch_size 16 " +
           "--epochs 1 --max-steps 4 --lr 1e-3 --val-split 0.25 --seed 3 --cache memory " +
           "--workers 1 --no-progress --output_dir '" + out_dir + "' " + extra;
  }
  /// Trains one process into `single` and `nproc` processes under torchrun into `dist`, with
  /// the same flags; returns torchrun's output (empty after a failed assertion).
  static std::string train_both(const std::string& single, int nproc, const std::string& dist,
                                const std::string& flags) {
    const auto one = run_mura(train_args(out(single), flags));
    EXPECT_EQ(one.exit_code, 0) << one.out;
    const auto many = run_command(torchrun(nproc, train_args(out(dist), flags)));
    EXPECT_EQ(many.exit_code, 0) << many.out;
    return one.exit_code == 0 && many.exit_code == 0 ? many.out : "";
  }
  static test::TempDir* dir_;
};
test::TempDir* DataParallel::dir_ = nullptr;

WeightDifference report(const std::string& what, const std::string& single,
                        const std::string& other) {
  const auto d = weight_difference(single + "/last.ckpt", other + "/last.ckpt");
  std::cout << "[ measured ] " << what << ": max |weight difference| " << d.max << " (at "
            << d.where << "), mean " << d.mean << "\n";
  return d;
}

// BatchNorm frozen (--freeze: eval-mode statistics, only the head trains): N processes give
// one process's weights to float rounding, and so the same metrics.
TEST_F(DataParallel, FrozenBatchNormTwoProcessesEqualOneProcess) {
  const std::string flags = "--precision fp32 --threads 1 --freeze";
  const std::string dist_out = train_both("single-frozen", 2, "frozen2", flags);
  ASSERT_FALSE(dist_out.empty());
  auto r = test::CommandResult{0, dist_out};
  EXPECT_TRUE(contains(r.out, "gloo, torchrun, rank 0 of 2")) << r.out;
  EXPECT_TRUE(contains(r.out, "MB all-reduced per step")) << r.out;
  EXPECT_FALSE(contains(r.out, "rank 1 of 2")) << "only rank 0 reports\n" << r.out;
  EXPECT_LE(report("2 processes, BatchNorm frozen", out("single-frozen"), out("frozen2")).max,
            1e-5);
  for (const std::string run : {"single-frozen", "frozen2"}) {
    r = run_mura("evaluate --data-dir '" + data() + "' --checkpoint '" + out(run) +
                 "/last.ckpt' --split heldout --bootstrap 0 --precision fp32 --threads 1 "
                 "--output-dir '" +
                 out(run + "-eval") + "'");
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  EXPECT_TRUE(same_metrics(out("single-frozen-eval") + "/metrics.json",
                           out("frozen2-eval") + "/metrics.json", 1e-6));
}

// A global batch of 16 over 3 processes is shared 5, 5, 6; each share's loss is weighted by
// its size, so the gradient is still the whole batch's mean.
TEST_F(DataParallel, ThreeProcessesShareABatchOf16As5And5And6) {
  const std::string flags = "--precision fp32 --threads 1 --freeze";
  if (!fs::exists(out("single-frozen") + "/last.ckpt")) {
    const auto r = run_mura(train_args(out("single-frozen"), flags));
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  const auto r = run_command(torchrun(3, train_args(out("frozen3"), flags)));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_LE(
      report("3 processes (5/5/6), BatchNorm frozen", out("single-frozen"), out("frozen3")).max,
      1e-5);
}

// BatchNorm in train mode with --sync-bn. The per-step gradient equals one process's (to
// float64's answer within 1e-5 of its scale: tests/train/data_parallel_test.cpp). Over
// steps, Adam turns float rounding into visible differences: its first steps move each
// weight by about lr in the direction of the sign of its gradient, so a gradient that is
// zero to within rounding flips a weight by 2 lr. One process against itself with 2 threads
// instead of 1 shows the same effect; so the test asks the data-parallel run to be as close
// to one process as that, and far closer than the same run without --sync-bn.
TEST_F(DataParallel, SyncBnTrainsLikeOneProcessNotLikeSeparateShares) {
  const std::string flags = "--precision fp32";
  auto r = run_mura(train_args(out("single"), flags + " --threads 1"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = run_mura(train_args(out("single-2threads"), flags + " --threads 2"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = run_command(torchrun(2, train_args(out("sync2"), flags + " --threads 1 --sync-bn")));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = run_command(torchrun(2, train_args(out("nosync2"), flags + " --threads 1")));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto control = report("one process, 2 threads vs 1", out("single"), out("single-2threads"));
  const auto sync = report("2 processes --sync-bn", out("single"), out("sync2"));
  const auto nosync = report("2 processes without --sync-bn", out("single"), out("nosync2"));
  EXPECT_LE(sync.mean, 4 * control.mean + 1e-7);
  EXPECT_GE(nosync.mean, 5 * sync.mean);
  EXPECT_NEAR(last_train_loss(out("sync2")), last_train_loss(out("single")), 1e-3);
}

TEST_F(DataParallel, ThreeProcessesWithSyncBn) {
  const std::string flags = "--precision fp32";
  if (!fs::exists(out("single") + "/last.ckpt")) {
    const auto r = run_mura(train_args(out("single"), flags + " --threads 1"));
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  const auto r =
      run_command(torchrun(3, train_args(out("sync3"), flags + " --threads 1 --sync-bn")));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  report("3 processes (5/5/6) --sync-bn", out("single"), out("sync3"));
  EXPECT_NEAR(last_train_loss(out("sync3")), last_train_loss(out("single")), 1e-3);
}

// bf16 autocast: a share's convolutions run in other blocks than the whole batch's, and bf16
// keeps 8 bits of mantissa. Stated tolerance with BatchNorm frozen: the mean weight
// difference under 1e-6, and no weight further than 2 lr + 1e-5 (Adam moves a weight by
// about lr per step whatever its gradient's size, so a gradient that rounds to the other sign
// moves it the other way: measured 1.0e-3 at one fc weight, mean 3.8e-10).
TEST_F(DataParallel, Bf16AgreesWithinItsPrecision) {
  const std::string flags = "--precision bf16 --threads 1 --freeze";
  ASSERT_FALSE(train_both("single-bf16", 2, "bf16x2", flags).empty());
  const auto d = report("2 processes, bf16, BatchNorm frozen", out("single-bf16"), out("bf16x2"));
  EXPECT_LE(d.mean, 1e-6);
  EXPECT_LE(d.max, 2 * 1e-3 + 1e-5);
}

// Scoring over processes: each scores a block of whole batches, rank 0 writes; the files are
// byte for byte one process's, also when the batches do not divide among the processes.
TEST_F(DataParallel, EvaluateOverProcessesEqualsOneProcessExactly) {
  const std::string flags = "--precision fp32 --threads 1";
  if (!fs::exists(out("single") + "/last.ckpt")) {
    const auto r = run_mura(train_args(out("single"), flags));
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  const std::string eval = "evaluate --data-dir '" + data() + "' --checkpoint '" + out("single") +
                           "/last.ckpt' --split heldout --bootstrap 50 --batch-size 4 " + flags;
  auto r = run_mura(eval + " --output-dir '" + out("eval1") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const std::string csv = read_file(out("eval1") + "/predictions_images.csv");
  const auto n = static_cast<std::size_t>(std::count(csv.begin(), csv.end(), '\n')) - 1;
  std::cout << "[ measured ] " << n << " validation images, " << (n + 3) / 4 << " batches of 4\n";
  for (int procs : {2, 4}) {
    EXPECT_NE(n % static_cast<std::size_t>(procs), 0u) << "the set should not divide evenly";
    const std::string dir = out("eval" + std::to_string(procs));
    r = run_command(torchrun(procs, eval + " --output-dir '" + dir + "'"));
    ASSERT_EQ(r.exit_code, 0) << r.out;
    EXPECT_TRUE(contains(r.out, "study level")) << r.out;
    EXPECT_TRUE(same_metrics(out("eval1") + "/metrics.json", dir + "/metrics.json", 0.0))
        << procs << " processes";
    for (const char* f : {"predictions_images.csv", "predictions_studies.csv"})
      EXPECT_EQ(read_file(out("eval1") + "/" + f), read_file(dir + "/" + f))
          << procs << " processes: " << f;
  }
}

// predict over processes: the same CSV and table as one process, a bad file among the good
// ones reported once (by rank 0, which holds every result).
TEST_F(DataParallel, PredictOverProcessesEqualsOneProcess) {
  const std::string flags = "--precision fp32 --threads 1";
  if (!fs::exists(out("single") + "/last.ckpt")) {
    const auto r = run_mura(train_args(out("single"), flags));
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  test::TempDir dir;
  write_file_atomic(dir.path() / "broken.png", "not a png");
  const std::string predict = "predict '" + data() + "/valid' '" +
                              (dir.path() / "broken.png").string() + "' --checkpoint '" +
                              out("single") + "/last.ckpt' --batch-size 4 " + flags;
  auto one = run_mura(predict + " --csv '" + (dir.path() / "one.csv").string() + "'");
  ASSERT_EQ(one.exit_code, 0) << one.out;
  auto two =
      run_command(torchrun(2, predict + " --csv '" + (dir.path() / "two.csv").string() + "'"));
  ASSERT_EQ(two.exit_code, 0) << two.out;
  EXPECT_EQ(read_file(dir.path() / "one.csv"), read_file(dir.path() / "two.csv"));
  EXPECT_TRUE(contains(two.out, "broken.png")) << two.out;
}

// ---- failures: loud, named, bounded by --dist-timeout-s; never a hang

/// Runs `script` (bash) in `dir` and returns its output.
test::CommandResult bash_in(const fs::path& dir, const std::string& script) {
  const fs::path file = dir / "script.sh";
  write_file_atomic(file, "set -u\ncd '" + dir.string() + "'\n" + script);
  return run_command("timeout 300 bash '" + file.string() + "' 2>&1");
}

/// The lines of `out` that hold `part`, for the test's record.
void print_lines_with(const std::string& out, const std::string& part) {
  for (const auto& line : split(out, '\n'))
    if (line.find(part) != std::string::npos) std::cout << "[ measured ] " << line << "\n";
}

class DistFailures : public DataParallel {
 public:
  /// Environment of rank `rank` of `world` on loopback, as a launcher would set it.
  static std::string env(int rank, int world, int port) {
    return "RANK=" + std::to_string(rank) + " WORLD_SIZE=" + std::to_string(world) +
           " LOCAL_RANK=" + std::to_string(rank) + " LOCAL_WORLD_SIZE=" + std::to_string(world) +
           " MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) + " ";
  }
  static std::string long_run(const std::string& out_dir, int timeout_s = 8) {
    return "'" + std::string(MURA_BINARY) + "' train --data_dir '" + data() +
           "' --model resnet18 --img_size 48 --batch_size 8 --epochs 40 --val-split 0.25 " +
           "--cache memory --workers 1 --threads 1 --no-progress --dist-timeout-s " +
           std::to_string(timeout_s) + " --output_dir '" + out_dir + "'";
  }
};

/// Two ranks of a long training; once rank 0 has finished epoch 1, `act` is done to rank 1
/// ($p1) and rank 0's exit code, the seconds it took to exit and its log are printed.
test::CommandResult two_ranks_then(const std::string& tag, const std::string& act,
                                   const std::string& cleanup = "") {
  test::TempDir dir;
  const int port = free_port();
  return bash_in(dir.path(), DistFailures::env(0, 2, port) + DistFailures::long_run(tag + "0") +
                                 " > r0.log 2>&1 &\np0=$!\n" + DistFailures::env(1, 2, port) +
                                 DistFailures::long_run(tag + "1") +
                                 " > r1.log 2>&1 &\np1=$!\n"
                                 "until grep -q 'epoch 1/40' r0.log; do sleep 0.2; "
                                 "kill -0 $p0 || break; done\n" +
                                 act + "; t0=$(date +%s)\nwait $p0; rc=$?; t1=$(date +%s)\n" +
                                 cleanup + "\necho \"rank0 rc=$rc after $((t1 - t0)) s\"\n" +
                                 "cat r0.log\n");
}

TEST_F(DistFailures, ARankThatDiesStopsTheOtherWithTheRankAndWhatItWasDoing) {
  const auto r = two_ranks_then(out("die"), "kill -9 $p1");
  EXPECT_TRUE(contains(r.out, "rank0 rc=1 ")) << r.out;
  EXPECT_TRUE(contains(r.out, "rank 0 of 2, ")) << r.out;
  EXPECT_TRUE(contains(r.out, "another rank died")) << r.out;
  print_lines_with(r.out, "rank0 rc=");
  print_lines_with(r.out, "mura: error");
}

TEST_F(DistFailures, AHungRankEndsTheOthersWithinTheTimeout) {
  const auto r = two_ranks_then(out("hang"), "kill -STOP $p1", "kill -9 $p1");
  EXPECT_TRUE(contains(r.out, "rank0 rc=1 ")) << r.out;
  EXPECT_TRUE(contains(r.out, "rank 0 of 2, ")) << r.out;
  EXPECT_TRUE(contains(r.out, "--dist-timeout-s")) << r.out;
  print_lines_with(r.out, "rank0 rc=");
  print_lines_with(r.out, "mura: error");
  // the timeout is 8 s; allow for the step in flight and the process's exit
  const auto at = r.out.find("rank0 rc=1 after ");
  ASSERT_NE(at, std::string::npos);
  const int seconds = std::stoi(r.out.substr(at + 17));
  EXPECT_LE(seconds, 30) << r.out;
}

TEST_F(DistFailures, PortInUseUnreachableMasterAndWorldSizeMismatchAreClearErrors) {
  test::TempDir dir;
  // a port someone else listens on: rank 0 cannot serve the rendezvous there
  const auto busy = bash_in(dir.path(),
                            "python3 -c 'import socket,time; s=socket.socket(); "
                            "s.bind((\"127.0.0.1\",0)); s.listen(); print(s.getsockname()[1], "
                            "flush=True); time.sleep(60)' > port.txt &\nsp=$!\n"
                            "until [ -s port.txt ]; do sleep 0.1; done\n" +
                                std::string("RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 "
                                            "MASTER_PORT=$(cat port.txt) ") +
                                long_run(out("busy")) + "; echo rc=$?\nkill $sp\n");
  EXPECT_TRUE(contains(busy.out, "rc=1")) << busy.out;
  EXPECT_TRUE(contains(busy.out, "could not serve the rendezvous on 127.0.0.1:")) << busy.out;
  EXPECT_TRUE(contains(busy.out, "is MASTER_PORT in use?")) << busy.out;

  // nobody serves the rendezvous: rank 1 gives up after --dist-timeout-s
  const auto alone =
      bash_in(dir.path(), env(1, 2, free_port()) + long_run(out("alone"), 3) + "; echo rc=$?\n");
  EXPECT_TRUE(contains(alone.out, "rc=1")) << alone.out;
  EXPECT_TRUE(contains(alone.out, "rank 1 of 2: could not reach the rendezvous at 127.0.0.1:"))
      << alone.out;

  // the ranks disagree on the world size
  const int port = free_port();
  const auto mismatch =
      bash_in(dir.path(), env(0, 2, port) + long_run(out("mm0"), 5) + " > r0.log 2>&1 &\n" +
                              "p0=$!\n" + env(1, 3, port) + long_run(out("mm1"), 5) +
                              "; echo rc1=$?\nwait $p0; echo rc0=$?\ncat r0.log\n");
  EXPECT_TRUE(contains(mismatch.out, "rc1=1")) << mismatch.out;
  EXPECT_TRUE(contains(mismatch.out, "rc0=1")) << mismatch.out;
  EXPECT_TRUE(contains(mismatch.out, "the world size is 3 here but 2 on rank 0")) << mismatch.out;
}

TEST_F(DistFailures, TorchrunRestartsAKilledRankAndTheRunResumesFromLastCheckpoint) {
  test::TempDir dir;
  const std::string run_dir = out("restart");
  const std::string args = "train --data_dir '" + data() +
                           "' --model resnet18 --img_size 48 --batch_size 8 --epochs 6 "
                           "--val-split 0.25 --cache memory --workers 1 --threads 1 --no-progress "
                           "--dist-timeout-s 20 --output_dir '" +
                           run_dir + "'";
  const auto r = bash_in(dir.path(), torchrun(2, args, "--max_restarts 1") +
                                         " > tr.log &\ntp=$!\n" + "until [ -s '" + run_dir +
                                         "/last.ckpt' ]; do sleep 0.2; kill -0 $tp || break; done\n"
                                         "sleep 0.5\n"
                                         "victim=$(pgrep -f -- \"--output_dir $(printf %s '" +
                                         run_dir +
                                         "')\" | sort -n | tail -1)\n"
                                         "kill -9 $victim; echo killed=$victim\n"
                                         "wait $tp; echo rc=$?\ncat tr.log\n");
  EXPECT_TRUE(contains(r.out, "killed=")) << r.out;
  EXPECT_TRUE(contains(r.out, "rc=0")) << r.out;
  EXPECT_TRUE(contains(r.out, "restarted: resuming from " + run_dir + "/last.ckpt")) << r.out;
  // the run finished every epoch once: one metrics row per epoch, 6 epochs done
  const std::string jsonl = read_file(run_dir + "/metrics.jsonl");
  EXPECT_EQ(std::count(jsonl.begin(), jsonl.end(), '\n'), 6) << jsonl;
  const auto ck = weights::load_checkpoint(run_dir + "/last.ckpt");
  EXPECT_EQ(ck.state.epoch, 6);
}

// Two "machines": network namespaces joined by a veth pair; each runs torchrun for one node,
// MASTER_ADDR is the first namespace's address and GLOO_SOCKET_IFNAME names each side's end.
TEST_F(DataParallel, TwoHostsInNetworkNamespacesTrainTheSameModel) {
  test::TempDir dir;
  const std::string tag = std::to_string(getpid() % 100000);
  const std::string a = "mura_a" + tag, b = "mura_b" + tag, va = "mva" + tag, vb = "mvb" + tag;
  const auto made = run_command("ip netns add " + a + " 2>&1 && ip netns add " + b + " 2>&1");
  if (made.exit_code != 0) {
    run_command("ip netns del " + a + " 2>/dev/null; ip netns del " + b + " 2>/dev/null");
    GTEST_SKIP() << "cannot create network namespaces here (needs root or CAP_SYS_ADMIN and "
                    "iproute2): "
                 << made.out;
  }
  const std::string flags = "--precision fp32 --threads 1";
  if (!fs::exists(out("single") + "/last.ckpt")) {
    const auto r = run_mura(train_args(out("single"), flags));
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  const std::string node =
      "timeout 300 torchrun --no_python --nnodes 2 --nproc_per_node 1 -r 9:1 "
      "-t 9:1 --master_addr 10.77.0.1 --master_port 29561 --node_rank ";
  const std::string args =
      " '" + std::string(MURA_BINARY) + "' " + train_args(out("netns"), flags + " --sync-bn");
  const std::string script = "ip link add " + va + " type veth peer name " + vb + "\n" +  //
                             "ip link set " + va + " netns " + a + "\n" +                 //
                             "ip link set " + vb + " netns " + b + "\n" +                 //
                             "ip -n " + a + " addr add 10.77.0.1/24 dev " + va + "\n" +   //
                             "ip -n " + a + " link set " + va + " up\n" +                 //
                             "ip -n " + a + " link set lo up\n" +                         //
                             "ip -n " + b + " addr add 10.77.0.2/24 dev " + vb + "\n" +   //
                             "ip -n " + b + " link set " + vb + " up\n" +                 //
                             "ip -n " + b + " link set lo up\n" +                         //
                             "ip netns exec " + a + " env GLOO_SOCKET_IFNAME=" + va + " " + node +
                             "0" + args + " > a.log 2>&1 &\npa=$!\n" +  //
                             "ip netns exec " + b + " env GLOO_SOCKET_IFNAME=" + vb + " " + node +
                             "1" + args + " > b.log 2>&1; echo rcb=$?\n" +  //
                             "wait $pa; echo rca=$?\ncat a.log b.log\n" +   //
                             "ip netns del " + a + "\nip netns del " + b + "\n";
  const auto r = bash_in(dir.path(), script);
  EXPECT_TRUE(contains(r.out, "rca=0")) << r.out;
  EXPECT_TRUE(contains(r.out, "rcb=0")) << r.out;
  EXPECT_TRUE(contains(r.out, "master 10.77.0.1:29561")) << r.out;
  if (fs::exists(out("netns") + "/last.ckpt")) {
    EXPECT_NEAR(last_train_loss(out("netns")), last_train_loss(out("single")), 1e-3);
  }
}

}  // namespace
}  // namespace mura
