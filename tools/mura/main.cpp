// mura: detect abnormalities in musculoskeletal radiographs (MURA).
// main() parses the command line, runs one subcommand, and turns errors into exit codes:
// 0 success, 1 a mura::Error (bad input, with a message naming it), 2 a bad command line,
// 3 a mura::InternalError or any other unexpected exception (a bug: "please report").
#include <exception>
#include <iostream>

#include "cli.h"
#include "mura/util/error.h"
#include "mura/util/threads.h"

int main(int argc, char** argv) {
  // LibTorch's default intra-op thread count can be 1 (it counts physical cores, and some
  // VMs report one): start from the CPU plan (every core, unless OMP_NUM_THREADS is set);
  // subcommands with --threads/--device re-plan.
  mura::apply_thread_plan(mura::plan_threads(0, -1, false), false);
  CLI::App app{"mura: abnormality detection in musculoskeletal radiographs (MURA)", "mura"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("mura ") + MURA_VERSION);
  mura::cli::Runner run;
  mura::cli::add_all_commands(app, run);
  if (argc > 1 && argv[1][0] != '-') {
    std::string known;
    bool found = false;
    for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
      known += (known.empty() ? "" : ", ") + sub->get_name();
      found |= sub->get_name() == argv[1];
    }
    if (!found) {
      std::cerr << "mura: unknown command '" << argv[1] << "' (commands: " << known
                << "); run 'mura --help'\n";
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
    return run ? run() : 0;
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  } catch (const mura::Error& e) {
    std::cerr << "mura: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr
        << "mura: internal error: " << e.what()
        << "\nmura: this is a bug in mura; please report it with the command line that caused it\n";
    return 3;
  } catch (...) {
    std::cerr
        << "mura: internal error: unknown exception\n"
        << "mura: this is a bug in mura; please report it with the command line that caused it\n";
    return 3;
  }
}
