// mura convert-dicom: a DICOM tree -> a MURA-v1.1-layout PNG data set (+ a separate key).
#include "mura/app/convert_dicom.h"

#include <iostream>
#include <memory>

#include "cli.h"
#include "flags.h"

namespace mura::cli {

void add_convert_dicom_command(CLI::App& app, Runner& run) {
  auto o = std::make_shared<app::ConvertDicomOptions>();
  auto console = std::make_shared<ConsoleOptions>();
  CLI::App* sub = app.add_subcommand(
      "convert-dicom",
      "write a DICOM tree as a MURA-v1.1-layout PNG data set (pseudonymous folders, the four "
      "CSVs; the key to the StudyInstanceUIDs in a separate file)");
  sub->option_defaults()->always_capture_default();
  add_input_flag(*sub, o->input);
  add_out_file_flag(*sub, o->out, /*required=*/true);
  sub->add_option(
         "--key-out", o->key_out,
         "where the pseudonym key (study folder -> StudyInstanceUID) goes; never inside the "
         "data set")
      ->default_str("OUT.key.csv");
  add_dicom_tree_flags(*sub, o->dicom);
  add_dicom_window_flag(*sub, o->dicom_window);
  add_tasks_flag(*sub, o->tasks);
  add_skip_bad_flag(*sub, o->skip_bad);
  add_valid_fraction_flag(*sub, o->valid_fraction)->check(CLI::Range(0.0, 0.99));
  add_seed_flag(*sub, o->seed);
  add_overwrite_flag(*sub, o->overwrite);
  add_workers_flag(*sub, o->workers);
  add_console_flags(*sub, *console);
  sub->callback([o, console, &run] {
    run = [o, console] {
      ConsoleSink sink(*console);
      const auto r = app::run_convert_dicom(*o, sink);
      std::cout << "wrote " << r.images << " image(s) of " << r.studies << " stud"
                << (r.studies == 1 ? "y" : "ies") << " and " << r.patients << " patient(s) to "
                << r.root
                << (r.failed_images
                        ? " (" + std::to_string(r.failed_images) + " could not be rendered)"
                        : "")
                << "\npseudonym key (keep it apart from the data set): " << r.key_file << "\n";
      return 0;
    };
  });
}

}  // namespace mura::cli
