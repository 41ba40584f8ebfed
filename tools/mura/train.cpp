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
#include "flags.h"
#include "mura/app/distributed.h"
#include "mura/app/training.h"

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

}  // namespace

void add_train_command(CLI::App& app, Runner& run) {
  auto o = std::make_shared<train::TrainOptions>();
  auto no_hflip = std::make_shared<bool>(false);
  auto console = std::make_shared<ConsoleOptions>();
  CLI::App* sub =
      app.add_subcommand("train", "train a classifier (transfer learning or from scratch)");
  sub->option_defaults()->always_capture_default();
  add_labelled_data_flags(*sub, o->data_dir, o->tasks, o->skip_bad, o->dicom, o->dicom_window);
  add_model_flag(*sub, o->model);
  sub->add_option("--pretrained", o->pretrained,
                  "start from these weights: a torchvision .pth (ImageNet) or a mura checkpoint")
      ->default_str("none: random initialisation");
  sub->add_flag("--freeze", o->freeze,
                "train only the head (backbone and its BatchNorm statistics frozen)");
  sub->add_flag("--sync-bn", o->sync_bn,
                "launched with several processes: BatchNorm statistics over the global batch "
                "(else each process normalises its share, as DDP does)");
  auto dist_timeout = std::make_shared<int>(300);
  add_dist_timeout_flag(*sub, *dist_timeout);
  sub->add_option(
         "--load-checkpoint,--load_checkpoint,--resume", o->load_checkpoint,
         "resume training from this mura checkpoint (model, optimizer, scheduler, epoch, RNG)")
      ->default_str("none: a new run");
  sub->add_option("--epochs", o->epochs, "total epochs")->check(CLI::Range(1, 100000));
  add_batch_size_flag(*sub, o->batch_size);
  CLI::Option* lr = sub->add_option("--lr,--learning-rate,--learning_rate", o->lr, "learning rate")
                        ->check(CLI::PositiveNumber);
  sub->add_option("--optimizer", o->optimizer,
                  "optimizer: " + join_choices(train::optimizer_names().choices()))
      ->transform(name_choice(train::optimizer_names()));
  sub->add_option("--weight-decay,--weight_decay", o->weight_decay, "weight decay")
      ->check(CLI::NonNegativeNumber);
  sub->add_option_function<std::string>(
         "--loss", [o](const std::string& v) { o->loss = train::loss_names().canonical(v); },
         "loss: weighted-bce (the MURA paper), bce, or ce (2 outputs)")
      ->check(enum_choice(train::loss_names()))
      ->default_str(o->loss);
  sub->add_option_function<std::string>(
         "--scheduler",
         [o](const std::string& v) { o->scheduler = train::scheduler_names().canonical(v); },
         "learning-rate schedule: plateau (lr*factor on a plateau), cosine, none")
      ->check(enum_choice(train::scheduler_names()))
      ->default_str(o->scheduler);
  sub->add_option("--monitor,--best-metric,--best_metric", o->monitor,
                  "what picks the best checkpoint and drives plateau/early stop: auc (validation "
                  "study AUROC), "
                  "accuracy, or loss")
      ->transform(name_choice(train::monitor_names()));
  sub->add_option("--factor", o->factor, "plateau: lr multiplier")
      ->check(CLI::Range(1e-6, 0.999999));
  sub->add_option("--patience", o->patience, "plateau: epochs without improvement")
      ->check(CLI::Range(0, 1000));
  sub->add_option("--early-stop,--early_stop", o->early_stop,
                  "stop after this many epochs without improvement (0: never)")
      ->check(CLI::Range(0, 100000));
  sub->add_option("--val-split,--val_split", o->val_split,
                  "share of the train split's patients held out for validation")
      ->check(CLI::Range(0.0, 0.95));
  sub->add_option(
         "--val-source,--val_source", o->val_source,
         "split: validate on the patient-level split of train; valid: on the official valid split")
      ->transform(name_choice(train::val_source_names()));
  sub->add_flag("--calibrate", o->calibrate,
                "at the end, fit temperature scaling on the validation set and store it in the "
                "best checkpoint (as mura calibrate)");
  add_threshold_flag(*sub, o->threshold);
  sub->get_option("--threshold")->default_str("0.5");
  add_image_size_flag(*sub, o->image_size);
  sub->add_option("--rotate", o->rotate, "random rotation, degrees")->check(CLI::Range(0.0, 180.0));
  sub->add_flag("--no-hflip", *no_hflip, "no random horizontal flips");
  sub->add_option("--brightness", o->brightness, "brightness jitter")->check(CLI::Range(0.0, 1.0));
  sub->add_option("--contrast", o->contrast, "contrast jitter")->check(CLI::Range(0.0, 1.0));
  sub->add_option("--random-resized-crop", o->crop_scale,
                  "RandomResizedCrop: smallest share of the image's area a crop keeps "
                  "(torchvision: 0.08; 1: off)")
      ->check(CLI::Range(0.01, 1.0));
  sub->add_option("--random-erasing", o->erasing,
                  "RandomErasing's probability (2-33% of the area, set to the mean; 0: off)")
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option_function<std::string>(
         "--cache",
         [o](const std::string& v) {
           o->cache = data::cache_mode_names().name(data::parse_cache_mode(v));
         },
         "keep decoded, resized images: none, memory, disk")
      ->check(enum_choice(data::cache_mode_names()))
      ->default_str(o->cache);
  add_output_dir_flag(*sub, o->output_dir);
  add_checkpoint_out_flag(*sub, o->checkpoint);
  add_overwrite_flag(*sub, o->overwrite);
  add_seed_flag(*sub, o->seed);
  add_runtime_flags(*sub, o->runtime, {/*fold_batchnorm=*/false, /*deterministic=*/true});
  sub->add_option("--max-steps,--max_steps", o->max_steps,
                  "stop after this many steps (0: no limit)")
      ->check(CLI::NonNegativeNumber);
  add_console_flags(*sub, *console);
  sub->callback([=, &run] {
    run = [=] {
      o->hflip = !*no_hflip;
      o->lr_given = lr->count() > 0;
      ConsoleSink console_sink(*console);
      const app::Launched launched = app::join_launched_group(*dist_timeout, o->runtime.device);
      o->runtime.group = launched.group;
      o->resume_last = launched.launch.restart_count > 0;
      RankZeroSink sink(console_sink, launched.group->rank());
      train::stop_requested() = false;
      std::signal(SIGINT, on_sigint);
      const auto r = app::run_training(*o, sink);
      std::signal(SIGINT, SIG_DFL);
      if (r.interrupted) return 130;
      if (launched.group->rank() != 0) return 0;
      std::cout << "best " << o->monitor << " " << r.best_metric << "; best checkpoint "
                << r.best_checkpoint << "; last " << r.last_checkpoint << "\n";
      return 0;
    };
  });
}

}  // namespace mura::cli
