#include "cli.h"

namespace mura::cli {

void add_all_commands(CLI::App& app, Runner& run) {
  add_stats_command(app, run);
  add_synth_command(app, run);
  add_convert_weights_command(app, run);
  add_export_command(app, run);
  add_info_command(app, run);
  add_train_command(app, run);
  add_evaluate_command(app, run);
  add_calibrate_command(app, run);
  add_predict_command(app, run);
  add_explain_command(app, run);
  add_report_command(app, run);
  add_convert_dicom_command(app, run);
  add_render_command(app, run);
  add_serve_command(app, run);
}

}  // namespace mura::cli
