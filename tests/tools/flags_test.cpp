// The flag table: every subcommand walked; one flag name has one meaning (one help text)
// wherever it appears, the seeds' spellings still parse, and train/evaluate --help show each
// flag once with its default.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "../test_util.h"
#include "cli.h"

namespace mura::cli {
namespace {

struct FlagUse {
  std::string command, help;
};

std::vector<CLI::App*> subcommands(CLI::App& app) {
  return app.get_subcommands([](CLI::App*) { return true; });
}

// Every long and short name of every option of every subcommand, with the help it has there.
std::map<std::string, std::vector<FlagUse>> all_flags(CLI::App& app) {
  std::map<std::string, std::vector<FlagUse>> out;
  for (CLI::App* sub : subcommands(app))
    for (const CLI::Option* opt : sub->get_options()) {
      std::vector<std::string> names = opt->get_lnames();
      for (const auto& s : opt->get_snames()) names.push_back(s);
      for (const auto& n : names) out[n].push_back({sub->get_name(), opt->get_description()});
    }
  return out;
}

TEST(FlagTable, EveryFlagNameHasOneMeaningInEveryCommand) {
  CLI::App app;
  Runner run;
  add_all_commands(app, run);
  ASSERT_EQ(subcommands(app).size(), 14u);
  const auto flags = all_flags(app);
  ASSERT_GT(flags.size(), 50u) << "the walk found the flags";
  for (const auto& [name, uses] : flags) {
    if (name == "help") continue;
    std::set<std::string> helps;
    for (const auto& u : uses) helps.insert(u.help);
    std::string where;
    for (const auto& u : uses) where += "\n  " + u.command + ": " + u.help;
    EXPECT_EQ(helps.size(), 1u) << "--" << name << " has " << helps.size() << " meanings:" << where;
  }
}

TEST(FlagTable, ANameNeverBelongsToTwoDifferentOptionsOfOneCommand) {
  CLI::App app;
  Runner run;
  add_all_commands(app, run);
  for (CLI::App* sub : subcommands(app)) {
    std::set<std::string> seen;
    for (const CLI::Option* opt : sub->get_options())
      for (const auto& n : opt->get_lnames())
        EXPECT_TRUE(seen.insert(n).second) << sub->get_name() << " --" << n;
  }
}

TEST(FlagTable, SharedFlagsReachEveryCommandThatNeedsThem) {
  CLI::App app;
  Runner run;
  add_all_commands(app, run);
  const auto flags = all_flags(app);
  auto commands_of = [&](const std::string& flag) {
    std::set<std::string> out;
    for (const auto& u : flags.at(flag)) out.insert(u.command);
    return out;
  };
  for (const char* c : {"stats", "synth", "convert-weights", "export", "info", "train", "evaluate",
                        "predict", "explain", "report", "convert-dicom", "render", "serve"}) {
    EXPECT_TRUE(commands_of("quiet").count(c)) << c << " lacks --quiet";
    EXPECT_TRUE(commands_of("no-progress").count(c)) << c << " lacks --no-progress";
  }
  for (const char* c : {"train", "evaluate", "predict", "explain", "report", "serve"})
    for (const char* f : {"device", "precision", "threads", "workers", "channels-last"})
      EXPECT_TRUE(commands_of(f).count(c)) << c << " lacks --" << f;
  // Everywhere an image is read, a DICOM file's window can be chosen; everywhere a data set is
  // indexed, a DICOM tree can be labelled, mapped and pseudonymised.
  for (const char* c :
       {"train", "evaluate", "predict", "explain", "report", "render", "convert-dicom", "serve"})
    EXPECT_TRUE(commands_of("dicom-window").count(c)) << c << " lacks --dicom-window";
  for (const char* c : {"stats", "train", "evaluate", "convert-dicom"})
    for (const char* f : {"labels", "body-part-map", "pseudonymize", "pseudonym-key"})
      EXPECT_TRUE(commands_of(f).count(c)) << c << " lacks --" << f;
  EXPECT_EQ(commands_of("load-checkpoint"), std::set<std::string>{"train"})
      << "--load-checkpoint resumes training only";
}

TEST(FlagTable, TheSeedsSpellingsStillParse) {
  struct Case {
    std::vector<std::string> args;
  };
  const std::vector<Case> cases = {
      {{"mura", "train", "--data_dir", "D", "--batch_size", "8", "--load_checkpoint", "C",
        "--output_dir", "O", "--checkpoint_path", "B", "--val-split", "0.1", "--tasks", "ELBOW",
        "--num_workers", "1"}},
      {{"mura", "train", "--data-dir", "D", "--checkpoint", "B", "--loss", "weighted_bce"}},
      {{"mura", "evaluate", "--data_dir", "D", "--checkpoint_path", "C", "--batch_size", "4"}},
      {{"mura", "predict", "--checkpoint", "C", "--predict", "x.png"}},
      {{"mura", "explain", "x.png", "--checkpoint", "C", "--output-dir", "O", "--method",
        "grad-cam"}},
      {{"mura", "synth", "--output-dir", "D", "--force"}},
  };
  for (const auto& c : cases) {
    CLI::App app;
    Runner run;
    add_all_commands(app, run);
    std::vector<const char*> argv;
    for (const auto& a : c.args) argv.push_back(a.c_str());
    std::string line;
    for (const auto& a : c.args) line += a + " ";
    EXPECT_NO_THROW(app.parse(static_cast<int>(argv.size()), argv.data())) << line;
    EXPECT_TRUE(static_cast<bool>(run)) << line;
  }
}

TEST(FlagTable, EnumFlagsTakeTheLibrarysNames) {
  const std::vector<std::vector<std::string>> bad = {
      {"mura", "train", "--data-dir", "D", "--loss", "hinge"},
      {"mura", "train", "--data-dir", "D", "--scheduler", "step"},
      {"mura", "train", "--data-dir", "D", "--cache", "gpu"},
      {"mura", "train", "--data-dir", "D", "--device", "tpu"},
      {"mura", "evaluate", "--data-dir", "D", "--checkpoint", "C", "--split", "test"},
      {"mura", "predict", "--checkpoint", "C", "--method", "lime", "x.png"},
  };
  for (const auto& c : bad) {
    CLI::App app;
    Runner run;
    add_all_commands(app, run);
    std::vector<const char*> argv;
    for (const auto& a : c) argv.push_back(a.c_str());
    EXPECT_THROW(app.parse(static_cast<int>(argv.size()), argv.data()), CLI::ParseError)
        << c[c.size() - 2];
  }
}

// `mura train --help` / `mura evaluate --help`: each flag once, each option with its default.
TEST(FlagTable, TrainAndEvaluateHelpShowEachFlagOnceWithItsDefault) {
  for (const std::string command : {"train", "evaluate"}) {
    const auto r = test::run_mura(command + " --help");
    ASSERT_EQ(r.exit_code, 0) << r.out;
    CLI::App app;
    Runner run;
    add_all_commands(app, run);
    CLI::App* sub = app.get_subcommand(command);
    for (const CLI::Option* opt : sub->get_options()) {
      for (const auto& n : opt->get_lnames()) {
        const std::string flag = "--" + n;
        std::size_t count = 0;
        for (std::size_t pos = r.out.find(flag); pos != std::string::npos;
             pos = r.out.find(flag, pos + 1)) {
          const char next = pos + flag.size() < r.out.size() ? r.out[pos + flag.size()] : ' ';
          const char prev = pos > 0 ? r.out[pos - 1] : ' ';
          if ((std::isalnum(static_cast<unsigned char>(next)) || next == '-' || next == '_') ||
              !(prev == ' ' || prev == ',' || prev == '\n' || prev == '!'))
            continue;  // a longer flag, or the name inside another flag's help
          ++count;
        }
        EXPECT_EQ(count, 1u) << command << " --help shows " << flag << " " << count << " times";
      }
      // Every option that takes a value and is not required says its default, on its own line.
      if (opt->get_lnames().empty() || opt->get_type_name().empty() || opt->get_required())
        continue;
      const std::string flag = "--" + opt->get_lnames()[0];
      const std::string d = opt->get_default_str();
      EXPECT_FALSE(d.empty()) << command << " " << flag << " shows no default";
      const std::size_t at = r.out.find(flag);
      const std::string line =
          at == std::string::npos ? "" : r.out.substr(at, r.out.find('\n', at) - at);
      if (!d.empty()) {
        EXPECT_NE(line.find(d), std::string::npos)
            << command << " --help: " << line << " lacks " << d;
      }
    }
  }
}

}  // namespace
}  // namespace mura::cli
