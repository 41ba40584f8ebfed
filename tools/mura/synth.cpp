// mura synth: write a synthetic MURA-layout data set with localisable lesions.
#include "mura/data/synth.h"

#include <iostream>
#include <memory>

#include "cli.h"
#include "flags.h"

namespace mura::cli {

void add_synth_command(CLI::App& app, Runner& run) {
  auto o = std::make_shared<data::SynthOptions>();
  auto out = std::make_shared<std::string>();
  CLI::App* sub =
      app.add_subcommand("synth",
                         "write a synthetic data set in the MURA-v1.1 layout (with lesion boxes) "
                         "into --output-dir (its name becomes the CSVs' root name)");
  add_output_dir_flag(*sub, *out, /*required=*/true);
  sub->add_option("--patients", o->patients, "number of patients over both splits")
      ->capture_default_str()
      ->check(CLI::Range(2, 1000000));
  add_seed_flag(*sub, o->seed);
  sub->get_option("--seed")->capture_default_str();
  add_valid_fraction_flag(*sub, o->valid_fraction)
      ->capture_default_str()
      ->check(CLI::Range(0.01, 0.99));
  sub->add_option("--abnormal-rate", o->abnormal_rate, "share of abnormal studies")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--lesion-rate", o->lesion_rate,
                  "share of an abnormal study's images that show the lesion")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--min-size", o->min_side, "smallest image side in pixels")
      ->capture_default_str();
  sub->add_option("--max-size", o->max_side, "largest image side in pixels")->capture_default_str();
  add_overwrite_flag(*sub, o->overwrite);
  auto console = std::make_shared<ConsoleOptions>();
  add_console_flags(*sub, *console);
  sub->callback([o, out, &run] {
    run = [o, out] {
      o->out = *out;
      const auto s = data::write_synthetic_dataset(*o);
      std::cout << "wrote " << *out << ": " << s.patients << " patients, " << s.studies
                << " studies (" << s.abnormal_studies << " abnormal), " << s.images << " images, "
                << s.lesions << " lesion boxes in synth_lesions.csv\n";
      return 0;
    };
  });
}

}  // namespace mura::cli
