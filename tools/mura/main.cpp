// mura: detect abnormalities in musculoskeletal radiographs (MURA).
// main() parses the command line, runs one subcommand, and turns errors into exit codes:
// 0 success, 1 a mura::Error (bad input, with a message naming it), 2 a bad command line,
// 3 an unexpected internal error.
#include <exception>
#include <iostream>

#include "cli.h"
#include "mura/util/error.h"

int main(int argc, char** argv) {
  CLI::App app{"mura: abnormality detection in musculoskeletal radiographs (MURA)", "mura"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("mura ") + MURA_VERSION);
  mura::cli::Runner run;
  mura::cli::add_stats_command(app, run);
  mura::cli::add_synth_command(app, run);
  try {
    app.parse(argc, argv);
    return run ? run() : 0;
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  } catch (const mura::Error& e) {
    std::cerr << "mura: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "mura: internal error: " << e.what() << "\n";
    return 3;
  }
}
