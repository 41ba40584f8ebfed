// mura train: the seeds' pipeline and the MURA paper's recipe.
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "cli.h"
#include "mura/train/trainer.h"
#include "mura/util/error.h"

namespace mura::cli {

namespace {

// The first SIGINT asks training to stop after the current step (and write a resumable
// checkpoint); a second one at least a second later ends the process at once. A repeat within
// that second is the same interrupt delivered twice (`timeout`, or a job manager signalling
// both the process and its group), not a user's second Ctrl-C. Only async-signal-safe calls.
std::atomic<std::int64_t> g_first_sigint_ns{0};

std::int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void on_sigint(int) {
  const std::int64_t now = monotonic_ns();
  if (!train::stop_requested().exchange(true)) {
    g_first_sigint_ns = now;
    return;
  }
  if (now - g_first_sigint_ns.load() < 1000000000) return;
  static const char msg[] = "\nmura: second interrupt: stopped without writing a checkpoint\n";
  const ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
  (void)ignored;
  std::_Exit(130);
}

std::string normalize_monitor(const std::string& m) {
  if (m == "auc" || m == "val_auc" || m == "auroc" || m == "study_auc") return "auc";
  if (m == "accuracy" || m == "acc" || m == "val_acc" || m == "val_accuracy") return "accuracy";
  if (m == "loss" || m == "val_loss") return "loss";
  throw CLI::ValidationError("--monitor", "expected auc, accuracy or loss, got '" + m + "'");
}

}  // namespace

void add_train_command(CLI::App& app, Runner& run) {
  auto o = std::make_shared<train::TrainOptions>();
  auto no_hflip = std::make_shared<bool>(false);
  auto no_progress = std::make_shared<bool>(false);
  CLI::App* sub = app.add_subcommand("train", "train a classifier (transfer learning or from scratch)");
  sub->option_defaults()->always_capture_default();
  add_data_dir_flag(*sub, o->data_dir);
  add_tasks_flag(*sub, o->tasks);
  add_skip_bad_flag(*sub, o->skip_bad);
  sub->add_option("--model,--arch", o->model, "architecture: resnet18..152, densenet121..201");
  sub->add_option("--pretrained", o->pretrained,
                  "start from these weights: a torchvision .pth (ImageNet) or a mura checkpoint");
  sub->add_flag("--freeze", o->freeze, "train only the head (backbone and its BatchNorm statistics frozen)");
  sub->add_option("--load-checkpoint,--load_checkpoint,--resume", o->load_checkpoint,
                  "resume from a mura checkpoint (model, optimizer, scheduler, epoch, RNG)");
  sub->add_option("--epochs", o->epochs, "total epochs")->check(CLI::Range(1, 100000));
  sub->add_option("--batch-size,--batch_size", o->batch_size)->check(CLI::Range(1, 65536));
  CLI::Option* lr = sub->add_option("--lr,--learning-rate,--learning_rate", o->lr, "learning rate")
                        ->check(CLI::PositiveNumber);
  sub->add_option("--optimizer", o->optimizer)->check(CLI::IsMember({"adam", "adamw"}));
  sub->add_option("--weight-decay,--weight_decay", o->weight_decay)->check(CLI::NonNegativeNumber);
  sub->add_option("--loss", o->loss, "weighted-bce (the MURA paper), bce, or ce (2 outputs)")
      ->check(CLI::IsMember({"weighted-bce", "bce", "ce"}));
  sub->add_option("--scheduler", o->scheduler, "plateau (lr*factor on a plateau), cosine, none")
      ->check(CLI::IsMember({"plateau", "cosine", "none"}));
  sub->add_option("--monitor,--best-metric,--best_metric", o->monitor,
                  "what picks the best checkpoint and drives plateau/early stop: auc (validation "
                  "study AUROC), accuracy, or loss")
      ->transform([](std::string v) { return normalize_monitor(v); });
  sub->add_option("--factor", o->factor, "plateau: lr multiplier")->check(CLI::Range(1e-6, 0.999999));
  sub->add_option("--patience", o->patience, "plateau: epochs without improvement")->check(CLI::Range(0, 1000));
  sub->add_option("--early-stop,--early_stop", o->early_stop,
                  "stop after this many epochs without improvement (0: never)")
      ->check(CLI::Range(0, 100000));
  sub->add_option("--val-split,--val_split", o->val_split,
                  "share of the train split's patients held out for validation")
      ->check(CLI::Range(0.0, 0.95));
  sub->add_option("--val-source,--val_source", o->val_source,
                  "split: validate on the patient-level split of train; valid: on the official valid split")
      ->check(CLI::IsMember({"split", "valid"}));
  sub->add_option("--img-size,--img_size,--image-size", o->image_size, "input size (224; 320 in the MURA paper)")
      ->check(CLI::Range(16, 2048));
  sub->add_option("--rotate", o->rotate, "random rotation, degrees")->check(CLI::Range(0.0, 180.0));
  sub->add_flag("--no-hflip", *no_hflip, "no random horizontal flips");
  sub->add_option("--brightness", o->brightness, "brightness jitter")->check(CLI::Range(0.0, 1.0));
  sub->add_option("--contrast", o->contrast, "contrast jitter")->check(CLI::Range(0.0, 1.0));
  sub->add_option("--cache", o->cache, "keep decoded, resized images: none, memory, disk")
      ->check(CLI::IsMember({"none", "memory", "disk"}));
  sub->add_option("--output-dir,--output_dir", o->output_dir, "where checkpoints and metrics go");
  sub->add_option("--checkpoint,--checkpoint_path,--checkpoint-path", o->checkpoint,
                  "best-model path (default OUTPUT_DIR/best.ckpt)");
  sub->add_flag("--overwrite", o->overwrite, "replace an earlier run's checkpoints and metrics in --output-dir");
  sub->add_option("--device", o->device)->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  add_precision_flags(*sub, o->precision, o->channels_last);
  sub->add_flag("--deterministic", o->deterministic,
                "CUDA: deterministic algorithms instead of cudnn's autotuner");
  sub->add_option("--seed", o->seed);
  add_thread_flags(*sub, o->workers, o->threads);
  sub->add_option("--max-steps,--max_steps", o->max_steps, "stop after this many steps (0: no limit)")
      ->check(CLI::NonNegativeNumber);
  sub->add_flag("--no-progress", *no_progress, "no progress bar");
  sub->callback([=, &run] {
    run = [=] {
      o->hflip = !*no_hflip;
      o->progress = !*no_progress;
      o->lr_given = lr->count() > 0;
      train::stop_requested() = false;
      std::signal(SIGINT, on_sigint);
      const auto r = train::train(*o);
      std::signal(SIGINT, SIG_DFL);
      if (r.interrupted) return 130;
      std::cout << "best " << o->monitor << " " << r.best_metric << "; best checkpoint "
                << r.best_checkpoint << "; last " << r.last_checkpoint << "\n";
      return 0;
    };
  });
}

}  // namespace mura::cli
