// Fault injection on every write path of `mura`: what a cluster's disks and schedulers do to
// a run. Each test names what it injects and what it asserts:
//   - a full disk (ENOSPC) in the middle of a write, injected with tests/fault/inject.cpp
//     (LD_PRELOAD) into checkpoints, the training log, metrics.json, prediction CSVs, the
//     report, Grad-CAM pictures, the image cache, a converted data set;
//   - a failed fsync (EIO) of a checkpoint;
//   - a real full file system (a small tmpfs in a private mount namespace);
//   - a read-only output folder, and an output folder deleted while training runs;
//   - SIGKILL at 20 moments drawn from a fixed seed, each followed by a resume.
// Always: the exit code is 1 (not a crash, not "internal error"), the message names the
// file and the system's reason, the previous file is byte-identical and loads, no temporary
// file is left, and a resume continues from the last checkpoint.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "../test_util.h"
#include "mura/report/inputs.h"
#include "mura/util/atomic_file.h"
#include "mura/weights/checkpoint.h"

namespace mura {
namespace {
namespace fs = std::filesystem;
using test::contains;
using test::run_command;
using test::run_mura;

std::string q(const fs::path& p) {
  return "'" + p.string() + "'";
}

/// `mura ARGS` with the injector preloaded: `op` on files whose path contains `path` fails
/// with `err` (after `after` bytes of each such file, past `skip` such files).
test::CommandResult mura_with_fault(const std::string& args, const std::string& path,
                                    const std::string& op = "write",
                                    const std::string& err = "ENOSPC", long after = 0,
                                    long skip = 0) {
  return run_command("MURA_FAULT_PATH='" + path + "' MURA_FAULT_OP=" + op +
                     " MURA_FAULT_ERRNO=" + err + " MURA_FAULT_AFTER=" + std::to_string(after) +
                     " MURA_FAULT_SKIP=" + std::to_string(skip) + " LD_PRELOAD='" + MURA_FAULT_LIB +
                     "' '" + MURA_BINARY + "' " + args);
}

/// Files in `dir` (recursively) whose name marks an unfinished write.
std::vector<std::string> temporaries(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string n = it->path().filename().string();
    if (n.find(".tmp.") != std::string::npos || n.find(".partial") != std::string::npos)
      out.push_back(it->path().string());
  }
  return out;
}

std::string sh_quote_all(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

/// Whether `file` holds exactly `bytes` (a failure says only the sizes: checkpoints are
/// 100+ MB, and gtest would print both).
::testing::AssertionResult unchanged(const fs::path& file, const std::string& bytes) {
  const std::string now = read_file(file);
  if (now == bytes) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << file << " changed (" << bytes.size() << " -> " << now.size() << " bytes)";
}

int64_t epoch_of(const fs::path& ckpt) {
  return weights::load_checkpoint(ckpt).state.epoch;
}

class Faults : public ::testing::Test {
 protected:
  // The data, a 2-epoch run and its evaluation are made once for all of this suite's
  // processes (test::shared_fixture) and only read; every test works on copies in dir_.
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    fixture_ = new fs::path(test::shared_fixture("faults", [](const fs::path& d) {
      auto r = run_mura("synth --output-dir " + q(d / "MURA-synth") +
                        " --patients 24 --seed 3 --min-size 48 --max-size 64");
      ASSERT_EQ(r.exit_code, 0) << r.out;
      r = run_mura(train_args(d / "base", 2, {}, "", d / "MURA-synth"));
      ASSERT_EQ(r.exit_code, 0) << r.out;
      r = run_mura("evaluate --data-dir " + q(d / "MURA-synth") + " --checkpoint " +
                   q(d / "base" / "best.ckpt") + " --split valid --bootstrap 0 --output-dir " +
                   q(d / "eval"));
      ASSERT_EQ(r.exit_code, 0) << r.out;
    }));
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete fixture_;
  }

  static fs::path data() { return *fixture_ / "MURA-synth"; }
  static fs::path base() { return *fixture_ / "base"; }
  static fs::path eval_dir() { return *fixture_ / "eval"; }
  /// A small training run (ResNet-18, 32 px, 4 per batch) into `out`; resumes when
  /// `resume` is given.
  static std::string train_args(const fs::path& out, int epochs, const fs::path& resume = {},
                                const std::string& extra = "", const fs::path& data_dir = {}) {
    return "train --data-dir " + q(data_dir.empty() ? data() : data_dir) +
           " --model resnet18 --img-size 32 --batch-size 8 --epochs " + std::to_string(epochs) +
           " --lr 1e-3 --scheduler none --val-source valid --workers 0 --threads 1 --no-progress "
           "--seed 5 --output-dir " +
           q(out) + (resume.empty() ? "" : " --load-checkpoint " + q(resume)) + " " + extra;
  }
  /// A copy of the 2-epoch base run, to damage.
  static fs::path copy_of_base(const std::string& name) {
    const fs::path to = dir_->path() / name;
    fs::remove_all(to);
    fs::copy(base(), to, fs::copy_options::recursive);
    return to;
  }
  static test::TempDir* dir_;
  static fs::path* fixture_;
};
test::TempDir* Faults::dir_ = nullptr;
fs::path* Faults::fixture_ = nullptr;

TEST_F(Faults, DiskFullInTheMiddleOfACheckpointKeepsThePreviousOneAndResumes) {
  // Injects: ENOSPC on last.ckpt's file after 1 MB of it was written (epoch 3 of a resume).
  const fs::path run = copy_of_base("enospc_ckpt");
  const std::string before = read_file(run / "last.ckpt");
  const auto r = mura_with_fault(train_args(run, 4, run / "last.ckpt"), "last.ckpt", "write",
                                 "ENOSPC", 1 << 20);
  // Asserts: exit 1 naming last.ckpt and the reason; the old last.ckpt is byte-identical and
  // loads (epoch 2); no temporary is left; a resume without the fault completes epochs 3-4.
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(contains(r.out, "fault-inject: write")) << "the fault was injected";
  EXPECT_TRUE(contains(r.out, "cannot write " + (run / "last.ckpt").string())) << r.out;
  EXPECT_TRUE(contains(r.out, "No space left on device")) << r.out;
  EXPECT_FALSE(contains(r.out, "internal error")) << r.out;
  EXPECT_TRUE(unchanged(run / "last.ckpt", before));
  EXPECT_EQ(epoch_of(run / "last.ckpt"), 2);
  EXPECT_EQ(temporaries(run), std::vector<std::string>{}) << sh_quote_all(temporaries(run));
  const auto again = run_mura(train_args(run, 4, run / "last.ckpt"));
  ASSERT_EQ(again.exit_code, 0) << again.out;
  EXPECT_EQ(epoch_of(run / "last.ckpt"), 4);
  const auto log = report::read_training_log(run / "metrics.csv");
  EXPECT_EQ(log.values.at("epoch"), (std::vector<double>{1, 2, 3, 4}));
}

TEST_F(Faults, AFailedFsyncOfACheckpointIsAnErrorAndThePreviousOneStays) {
  // Injects: EIO from fsync of last.ckpt's finished temporary file (data that may never
  // reach the disk must not replace the previous checkpoint).
  const fs::path run = copy_of_base("eio_fsync");
  const std::string before = read_file(run / "last.ckpt");
  const auto r =
      mura_with_fault(train_args(run, 3, run / "last.ckpt"), "last.ckpt", "fsync", "EIO");
  // Asserts: exit 1 naming the file, "fsync", the reason; previous file unchanged.
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(contains(r.out, "fault-inject: fsync")) << r.out;
  EXPECT_TRUE(contains(r.out, "cannot write " + (run / "last.ckpt").string() + ": fsync failed"))
      << r.out;
  EXPECT_TRUE(contains(r.out, "Input/output error")) << r.out;
  EXPECT_TRUE(unchanged(run / "last.ckpt", before));
  EXPECT_EQ(temporaries(run), std::vector<std::string>{});
}

struct WritePath {
  std::string what;     // for the failure message
  std::string command;  // mura arguments; {data} {ckpt} {out} {eval} are filled in
  std::string target;   // file written (relative to {out}) whose writes fail
  bool fatal = true;    // false: a cache (the run goes on without it)
};

TEST_F(Faults, EveryOtherWritePathUnderAFullDiskKeepsItsPreviousFile) {
  // Injects: ENOSPC after 10 bytes into each file below, one command at a time, after a
  // successful run of the same command wrote the previous version.
  const std::vector<WritePath> paths = {
      {"training log metrics.csv", "train_resume", "metrics.csv"},
      {"training log metrics.jsonl", "train_resume", "metrics.jsonl"},
      {"evaluate metrics.json",
       "evaluate --data-dir {data} --checkpoint {ckpt} --split valid --bootstrap 0 --output-dir "
       "{out}",
       "metrics.json"},
      {"evaluate predictions_images.csv",
       "evaluate --data-dir {data} --checkpoint {ckpt} --split valid --bootstrap 0 --output-dir "
       "{out}",
       "predictions_images.csv"},
      {"evaluate predictions_studies.csv",
       "evaluate --data-dir {data} --checkpoint {ckpt} --split valid --bootstrap 0 --output-dir "
       "{out}",
       "predictions_studies.csv"},
      {"predict --csv", "predict {data}/valid --checkpoint {ckpt} --csv {out}/pred.csv",
       "pred.csv"},
      {"report", "report --eval-dir {eval} --checkpoint {ckpt} --out {out}/report.html",
       "report.html"},
      {"Grad-CAM pictures", "explain {data}/valid --checkpoint {ckpt} --output-dir {out}/cam",
       "_overlay.png"},
      {"image cache", "train_cache", ".muracache", /*fatal=*/false},
  };
  for (const auto& p : paths) {
    SCOPED_TRACE(p.what);
    const fs::path out = dir_->path() / ("wp_" + std::to_string(&p - paths.data()));
    fs::remove_all(out);
    std::string cmd = p.command;
    if (cmd == "train_resume") {
      fs::copy(base(), out, fs::copy_options::recursive);
      cmd = train_args(out, 3, out / "last.ckpt");
    } else if (cmd == "train_cache") {
      fs::create_directories(out);
      cmd = train_args(out, 1, {}, "--cache disk");
    } else {
      auto fill = [&](const std::string& key, const std::string& value) {
        for (auto at = cmd.find(key); at != std::string::npos; at = cmd.find(key))
          cmd.replace(at, key.size(), value);
      };
      fill("{data}", data().string());
      fill("{ckpt}", (base() / "best.ckpt").string());
      fill("{eval}", eval_dir().string());
      fill("{out}", out.string());
      const auto first = run_mura(cmd);
      ASSERT_EQ(first.exit_code, 0) << first.out;
    }
    // the previous versions of every file below `out`
    std::map<std::string, std::string> before;
    for (const auto& e : fs::recursive_directory_iterator(out))
      if (e.is_regular_file()) before[e.path().string()] = read_file(e.path());
    const auto r = mura_with_fault(cmd, p.target, "write", "ENOSPC", 10);
    EXPECT_TRUE(contains(r.out, "fault-inject: write")) << "the fault was injected";
    EXPECT_TRUE(contains(r.out, "No space left on device")) << r.out;
    EXPECT_FALSE(contains(r.out, "internal error")) << r.out;
    if (p.fatal) {
      EXPECT_EQ(r.exit_code, 1) << r.out;
      EXPECT_TRUE(contains(r.out, "cannot write ")) << r.out;
      EXPECT_TRUE(contains(r.out, p.target)) << r.out;
    } else {
      EXPECT_EQ(r.exit_code, 0) << r.out;
      EXPECT_TRUE(contains(r.out, "image cache not saved")) << r.out;
    }
    for (const auto& [file, bytes] : before) {
      if (file.find(p.target) != std::string::npos) {
        EXPECT_TRUE(unchanged(file, bytes));
      }
    }
    EXPECT_EQ(temporaries(out), std::vector<std::string>{}) << sh_quote_all(temporaries(out));
  }
}

/// Runs `script` as root of a private mount namespace (unshare -rm), where it may mount a
/// tmpfs; "" when namespaces are not available here (the reason is returned in `why`).
test::CommandResult in_mount_namespace(const std::string& script, std::string& why) {
  const auto probe = run_command("unshare -rm true");
  if (probe.exit_code != 0) {
    why = "no private mount namespace here (unshare -rm: " + probe.out + ")";
    return {-1, ""};
  }
  return run_command("unshare -rm sh -c " + q(script));
}

TEST_F(Faults, ARealFullFileSystemStopsTrainingWithTheLastCheckpointIntact) {
  // Injects: a tmpfs just larger than the 2-epoch run: the next checkpoint cannot fit.
  std::uintmax_t used = 0;
  for (const auto& e : fs::recursive_directory_iterator(base()))
    if (e.is_regular_file()) used += e.file_size();
  const fs::path mnt = dir_->path() / "tmpfs", logs = dir_->path() / "tmpfs_logs";
  fs::create_directories(mnt);
  fs::create_directories(logs);
  const std::string size = std::to_string(used / 1024 + 2048) + "k";
  const std::string mura = std::string("'") + MURA_BINARY + "'";
  const std::string script = "mount -t tmpfs -o size=" + size + " tmpfs " + q(mnt) + " && cp -r " +
                             q(base()) + " " + q(mnt / "run") + " && " + mura + " " +
                             train_args(mnt / "run", 4, mnt / "run/last.ckpt") + " > " +
                             q(logs / "train.log") + " 2>&1; echo $? > " + q(logs / "rc") + "; " +
                             mura + " info " + q(mnt / "run/last.ckpt") + " > " +
                             q(logs / "info.log") + " 2>&1; ls -a " + q(mnt / "run") + " > " +
                             q(logs / "ls.txt") + "; df -k " + q(mnt) + " > " + q(logs / "df.txt");
  std::string why;
  const auto r = in_mount_namespace(script, why);
  if (!why.empty()) GTEST_SKIP() << why;
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const std::string log = read_file(logs / "train.log");
  // Asserts: exit 1 with "No space left on device" naming a file of the run; the last
  // checkpoint still loads (epoch 2); no temporary file is left on the full disk.
  EXPECT_EQ(read_file(logs / "rc"), "1\n") << log;
  EXPECT_TRUE(contains(log, "No space left on device")) << log;
  EXPECT_TRUE(contains(log, "cannot write " + (mnt / "run").string())) << log;
  EXPECT_FALSE(contains(log, "internal error")) << log;
  const std::string info = read_file(logs / "info.log");
  EXPECT_TRUE(contains(info, "epochs done:    2 ")) << info;
  EXPECT_FALSE(contains(read_file(logs / "ls.txt"), ".tmp.")) << read_file(logs / "ls.txt");
}

TEST_F(Faults, AReadOnlyOutputFolderIsRefusedBeforeAnyWork) {
  // Injects: a read-only file system (tmpfs mounted ro) as the output folder of train and
  // evaluate; as a non-root user without namespaces, a folder without write permission.
  const fs::path ro = dir_->path() / "ro";
  fs::create_directories(ro);
  const std::string mura = std::string("'") + MURA_BINARY + "'";
  const std::string train = mura + " " + train_args(ro / "run", 2);
  const std::string eval = mura + " evaluate --data-dir " + q(data()) + " --checkpoint " +
                           q(base() / "best.ckpt") + " --split valid --output-dir " +
                           q(ro / "eval");
  std::string why;
  auto r = in_mount_namespace("mount -t tmpfs -o ro tmpfs " + q(ro) + " && " + train +
                                  "; echo rc=$?; " + eval + "; echo rc=$?",
                              why);
  if (!why.empty()) {
    if (::geteuid() == 0) GTEST_SKIP() << why << "; and root ignores folder permissions";
    fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec);
    r = run_command(train + "; echo rc=$?; " + eval + "; echo rc=$?");
  }
  // Asserts: both exit 1 naming --output-dir, the folder and the reason, before training
  // (no epoch ran) or evaluating.
  EXPECT_TRUE(contains(r.out, "--output-dir " + (ro / "run").string())) << r.out;
  EXPECT_TRUE(contains(r.out, "--output-dir " + (ro / "eval").string())) << r.out;
  EXPECT_TRUE(contains(r.out, "Read-only file system") || contains(r.out, "Permission denied"))
      << r.out;
  EXPECT_FALSE(contains(r.out, "rc=0")) << r.out;
  EXPECT_FALSE(contains(r.out, "rc=3")) << r.out;
  EXPECT_FALSE(contains(r.out, "epoch 1")) << "refused before training: " << r.out;
}

TEST_F(Faults, AnOutputFolderDeletedWhileTrainingEndsCleanlyEitherWay) {
  // Injects: `rm -rf` of the output folder once the first last.ckpt is there.
  const fs::path run = dir_->path() / "vanish", log = dir_->path() / "vanish.log";
  fs::remove_all(run);
  const auto r =
      run_command(std::string("'") + MURA_BINARY + "' " + train_args(run, 6) + " > " + q(log) +
                  " 2>&1 & pid=$!; while [ ! -f " + q(run / "last.ckpt") +
                  " ]; do sleep 0.05; done; rm -rf " + q(run) + "; wait $pid; echo rc=$?");
  const std::string out = read_file(log);
  // Asserts, for the two moments the folder can vanish at: between two writes, the next
  // write makes the folder again and training finishes (exit 0) with last.ckpt at epoch 6
  // and all 6 epochs in metrics.csv (the log is rewritten whole each epoch); during a write
  // (its temporary file gone before the rename), exit 1 naming that file and the reason.
  EXPECT_FALSE(contains(out, "internal error")) << out;
  if (contains(r.out, "rc=0")) {
    ASSERT_TRUE(fs::exists(run / "last.ckpt")) << out;
    EXPECT_EQ(epoch_of(run / "last.ckpt"), 6);
    EXPECT_EQ(report::read_training_log(run / "metrics.csv").rows, 6u);
  } else {
    EXPECT_TRUE(contains(r.out, "rc=1")) << r.out << out;
    EXPECT_TRUE(contains(out, "cannot write " + run.string())) << out;
    EXPECT_TRUE(contains(out, "No such file or directory")) << out;
  }
}

TEST_F(Faults, KilledAtTwentyRandomMomentsTrainingResumesAndLosesAtMostOneEpoch) {
  // Injects: SIGKILL at 20 moments drawn from a fixed seed (20261207), each followed by a
  // resume from last.ckpt (or a fresh start when there is none). Odd moments are times: a
  // delay uniform in [0.5 s, 6 s] after the start (a start takes ~2 s, an epoch with its two
  // 134 MB checkpoints ~3 s). Even moments are inside a write, so that they do not depend on
  // the machine's speed: after a random number of bytes of last.ckpt, best.ckpt, metrics.csv
  // or metrics.jsonl of a random epoch of that run (the injector's "kill"). Each run asks for
  // 3 more epochs than its checkpoint holds, so one that is not killed ends.
  const fs::path run = dir_->path() / "killed";
  fs::remove_all(run);
  std::mt19937 rng(20261207);
  const char* const files[] = {"last.ckpt", "best.ckpt", "metrics.csv", "metrics.jsonl"};
  const long sizes[] = {134000000, 134000000, 300, 600};
  std::set<std::string> moments;
  int64_t last_epoch = 0;
  int kills = 0;
  for (int i = 0; i < 20; ++i) {
    const bool resume = fs::exists(run / "last.ckpt");
    // (a start after a kill in epoch 1 may find that epoch's log or best.ckpt: --overwrite)
    const std::string args =
        train_args(run, static_cast<int>(last_epoch) + 3, resume ? run / "last.ckpt" : fs::path{},
                   resume ? "" : "--overwrite");
    std::string env, moment;
    int delay_ms = 120000;  // the time limit of a run that the write moment does not reach
    if (i % 2 == 0) {
      const int f = static_cast<int>(rng() % 4);
      const long after = static_cast<long>(rng() % static_cast<unsigned long>(sizes[f]));
      const int skip = static_cast<int>(rng() % 2);
      env = "MURA_FAULT_OP=kill MURA_FAULT_PATH=" + std::string(files[f]) +
            " MURA_FAULT_AFTER=" + std::to_string(after) +
            " MURA_FAULT_SKIP=" + std::to_string(skip) + " LD_PRELOAD='" + MURA_FAULT_LIB + "' ";
      moment = std::string(files[f]) + " write " + std::to_string(skip + 1) + ", byte " +
               std::to_string(after);
    } else {
      delay_ms = 500 + static_cast<int>(rng() % 5500);
      moment = "after " + std::to_string(delay_ms) + " ms";
    }
    moments.insert(moment);
    const std::string cmd =
        "exec env " + env + "'" + std::string(MURA_BINARY) + "' " + args + " > /dev/null 2>&1";
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    int status = 0;
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(delay_ms);
    while (::waitpid(pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() >= until) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ++kills;
    SCOPED_TRACE("moment " + std::to_string(i + 1) + ": " + moment);
    // Asserts after each kill: every checkpoint there loads; last.ckpt never goes back; the
    // training log (when there is one) parses.
    for (const char* name : {"last.ckpt", "best.ckpt"}) {
      if (fs::exists(run / name)) {
        EXPECT_NO_THROW(weights::load_checkpoint(run / name)) << name;
      }
    }
    if (fs::exists(run / "last.ckpt")) {
      const int64_t e = epoch_of(run / "last.ckpt");
      EXPECT_GE(e, last_epoch);
      last_epoch = e;
    }
    if (fs::exists(run / "metrics.csv")) {
      EXPECT_NO_THROW(report::read_training_log(run / "metrics.csv"));
    }
  }
  EXPECT_EQ(moments.size(), 20u) << "20 different moments";
  std::printf("kill test: %zu moments, %d kills, last.ckpt at epoch %lld before the final run\n",
              moments.size(), kills, static_cast<long long>(last_epoch));
  EXPECT_GE(kills, 15) << "most moments were reached (a write moment past the run's end is not)";
  // Asserts at the end: one more epoch completes from the last checkpoint; the log holds
  // each epoch exactly once, 1..N (work since the last checkpoint is redone, nothing else);
  // no temporary file is left.
  const auto r = run_mura(train_args(run, static_cast<int>(last_epoch) + 1,
                                     last_epoch > 0 ? run / "last.ckpt" : fs::path{},
                                     last_epoch > 0 ? "" : "--overwrite"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(epoch_of(run / "last.ckpt"), last_epoch + 1);
  const auto log = report::read_training_log(run / "metrics.csv");
  std::vector<double> want;
  for (int64_t e = 1; e <= last_epoch + 1; ++e) want.push_back(static_cast<double>(e));
  EXPECT_EQ(log.values.at("epoch"), want);
  EXPECT_EQ(temporaries(run), std::vector<std::string>{}) << sh_quote_all(temporaries(run));
}

}  // namespace
}  // namespace mura
