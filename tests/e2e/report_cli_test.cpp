// `mura evaluate --report` and `mura report` end to end on a `mura synth` run, and the page
// opened in headless Chromium: it loads with no console errors, every chart and picture
// renders, and the numbers in the rendered page are those of metrics.json.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <set>

#include "../report/page_check.h"
#include "../test_util.h"
#include "mura/util/atomic_file.h"
#include "mura/util/strings.h"

namespace mura {
namespace {
namespace fs = std::filesystem;
using test::count_of;
using test::run_command;
using test::run_mura;

using test::contains;

/// Chromium's executable: $MURA_CHROMIUM, else chromium / chromium-browser / google-chrome
/// on PATH; "" when none is runnable.
std::string find_chromium() {
  const auto runnable = [](const std::string& path) { return ::access(path.c_str(), X_OK) == 0; };
  if (const char* e = std::getenv("MURA_CHROMIUM"); e && *e) return runnable(e) ? e : "";
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
    const auto r = run_command(std::string("command -v ") + name);
    if (r.exit_code == 0 && runnable(std::string(trim(r.out)))) return std::string(trim(r.out));
  }
  return "";
}

struct BrowserRun {
  int exit_code = -1;
  std::string dom;  ///< stdout: the DOM after the page's scripts ran (--dump-dom)
  std::string log;  ///< stderr: Chromium's log, console messages included
};

/// Why a test that opens the report in Chromium must skip: "" when Chromium is there.
std::string chromium_absent() {
  if (!find_chromium().empty()) return "";
  const char* e = std::getenv("MURA_CHROMIUM");
  return (e && *e ? "MURA_CHROMIUM='" + std::string(e) + "' is not an executable"
                  : std::string("no chromium, chromium-browser or google-chrome on PATH")) +
         ", so the report cannot be checked in a browser: run scripts/install-deps.sh (it "
         "installs Debian's chromium), or set MURA_CHROMIUM";
}

/// Opens a local file in headless Chromium (no network, a fresh profile) with `args`. The
/// caller skips first where chromium_absent() says why.
BrowserRun open_in_chromium(const fs::path& html, const std::string& args) {
  const std::string chromium = find_chromium();
  if (chromium.empty()) {
    ADD_FAILURE() << chromium_absent();
    return {};
  }
  test::TempDir profile;
  const fs::path out = profile / "stdout.txt", err = profile / "stderr.txt";
  // Root in a container needs --no-sandbox; the proxy flags keep it off the network.
  const std::string cmd =
      "{ timeout 180 '" + chromium + "' --headless --no-sandbox --disable-gpu --no-first-run " +
      "--disable-extensions --disable-dev-shm-usage --proxy-server='127.0.0.1:9' " +
      "--proxy-bypass-list='<-loopback>' --user-data-dir='" + (profile / "profile").string() +
      "' --enable-logging=stderr --v=0 " + args + " 'file://" + fs::absolute(html).string() +
      "' >'" + out.string() + "' 2>'" + err.string() + "'; }";
  BrowserRun r;
  r.exit_code = run_command(cmd).exit_code;
  r.dom = fs::exists(out) ? read_file(out) : "";
  r.log = fs::exists(err) ? read_file(err) : "";
  return r;
}

/// Chromium's log lines that come from the page: console messages and uncaught errors.
std::vector<std::string> page_messages(const std::string& log) {
  std::vector<std::string> lines;
  for (const auto& line : split(log, '\n'))
    if (contains(line, "CONSOLE") || contains(line, "Uncaught") ||
        contains(line, "Failed to load resource"))
      lines.push_back(line);
  return lines;
}

class ReportCli : public ::testing::Test {
 protected:
  // The data, the trained model and the evaluation are made once for all of this suite's
  // processes (test::shared_fixture); what the tests write goes to scratch_.
  static void SetUpTestSuite() {
    scratch_ = new test::TempDir();
    fixture_ = new fs::path(test::shared_fixture("report_cli", [](const fs::path& d) {
      auto r = run_mura("synth --output-dir '" + (d / "MURA-synth").string() +
                        "' --patients 24 --seed 5 --min-size 64 --max-size 96");
      ASSERT_EQ(r.exit_code, 0) << r.out;
      r = run_mura("train --data-dir '" + (d / "MURA-synth").string() +
                   "' --model resnet18 --img-size 32 --batch-size 8 --epochs 2 " +
                   "--lr 1e-3 --val-source valid --no-progress --seed 2 --output-dir '" +
                   (d / "run").string() + "'");
      ASSERT_EQ(r.exit_code, 0) << r.out;
      r = run_mura("evaluate --data-dir '" + (d / "MURA-synth").string() + "' --checkpoint '" +
                   (d / "run").string() + "/best.ckpt' --bootstrap 200 --output-dir '" +
                   (d / "eval").string() + "' --report '" + (d / "eval/report.html").string() +
                   "'");
      test::write_text(d / "evaluate.out", r.out);
      test::write_text(d / "evaluate.rc", std::to_string(r.exit_code));
    }));
    evaluate_ = fs::exists(*fixture_ / "evaluate.rc")
                    ? new test::CommandResult{std::stoi(read_file(*fixture_ / "evaluate.rc")),
                                              read_file(*fixture_ / "evaluate.out")}
                    : new test::CommandResult{-1, "the shared fixture was not made"};
  }
  static void TearDownTestSuite() {
    delete scratch_;
    delete fixture_;
    delete evaluate_;
  }
  static std::string data() { return (*fixture_ / "MURA-synth").string(); }
  static std::string run() { return (*fixture_ / "run").string(); }
  static std::string eval() { return (*fixture_ / "eval").string(); }
  static std::string html() { return (*fixture_ / "eval/report.html").string(); }
  static nlohmann::json metrics() {
    return nlohmann::json::parse(read_file(eval() + "/metrics.json"));
  }
  static test::TempDir* scratch_;
  static fs::path* fixture_;
  static test::CommandResult* evaluate_;
};
test::TempDir* ReportCli::scratch_ = nullptr;
fs::path* ReportCli::fixture_ = nullptr;
test::CommandResult* ReportCli::evaluate_ = nullptr;

TEST_F(ReportCli, EvaluateWritesASmallSelfContainedReport) {
  ASSERT_EQ(evaluate_->exit_code, 0) << evaluate_->out;
  EXPECT_TRUE(contains(evaluate_->out, "report: " + html())) << evaluate_->out;
  ASSERT_TRUE(fs::exists(html()));
  const std::string page = read_file(html());
  std::printf("[ size     ] report of %zu images: %.1f KB\n",
              metrics()["image"]["n"].get<std::size_t>(),
              static_cast<double>(page.size()) / 1024.0);
  EXPECT_LT(page.size(), 10u * 1024 * 1024);
  // Self-contained: no external scripts, styles, pictures or fonts.
  for (const char* ref : {"src=\"http", "href=\"http", "url(http", "src=\"//", "<link "})
    EXPECT_FALSE(contains(page, ref)) << ref;
  EXPECT_GE(count_of(page, "<svg class=\"chart\""), 9u)
      << "6 evaluation charts + 3 training charts";
  EXPECT_GT(count_of(page, "<img src=\"data:image/jpeg;base64,"), 0u);
  // metrics.json now carries what the headline needs: all four intervals and the ECE.
  const auto m = metrics();
  for (const char* k : {"study_auroc", "study_kappa", "study_sensitivity", "study_specificity"})
    EXPECT_TRUE(m["bootstrap"][k].contains("lower")) << k;
  EXPECT_TRUE(m["calibration"]["study"]["ece"].is_number());
  EXPECT_EQ(m["calibration"]["image"]["n"], m["image"]["n"]);
}

TEST_F(ReportCli, ChromiumRendersEveryChartAndPictureWithNoConsoleErrors) {
  if (const auto why = chromium_absent(); !why.empty()) GTEST_SKIP() << why;
  ASSERT_EQ(evaluate_->exit_code, 0) << evaluate_->out;
  const auto b = open_in_chromium(html(), "--dump-dom");
  ASSERT_EQ(b.exit_code, 0) << b.log;
  ASSERT_TRUE(contains(b.dom, "id=\"render-check\"")) << b.dom.substr(0, 2000);
  const std::string page = read_file(html());
  const auto check = test::element_attributes(b.dom, "render-check");
  EXPECT_EQ(check.count("data-status") ? check.at("data-status") : "", "ok")
      << b.dom.substr(b.dom.find("id=\"render-check\""), 1500);
  EXPECT_EQ(check.count("data-charts") ? check.at("data-charts") : "",
            std::to_string(count_of(page, "<svg class=\"chart\"")))
      << "the page's script saw every chart";
  EXPECT_EQ(check.count("data-images") ? check.at("data-images") : "",
            std::to_string(count_of(page, "<img ")))
      << "and every picture";
  EXPECT_NE(check.count("data-images") ? check.at("data-images") : "0", "0");
  const auto messages = page_messages(b.log);
  EXPECT_TRUE(messages.empty()) << messages.size() << " console message(s), first: "
                                << (messages.empty() ? "" : messages[0]);
}

TEST_F(ReportCli, NumbersInTheRenderedPageAreThoseOfMetricsJson) {
  if (const auto why = chromium_absent(); !why.empty()) GTEST_SKIP() << why;
  ASSERT_EQ(evaluate_->exit_code, 0) << evaluate_->out;
  const auto b = open_in_chromium(html(), "--dump-dom");
  ASSERT_EQ(b.exit_code, 0) << b.log;
  const auto m = metrics();
  const auto numbers = test::page_numbers(b.dom);
  EXPECT_GT(numbers.size(), 100u);
  const auto bad = test::check_page_numbers(b.dom, m);
  EXPECT_TRUE(bad.empty()) << bad.size() << " mismatch(es), first: " << (bad.empty() ? "" : bad[0]);
  std::set<std::string> shown;
  for (const auto& n : numbers) shown.insert(n.pointer);
  for (const char* p : {"/study/auroc/value",
                        "/study/kappa/value",
                        "/study/sensitivity/value",
                        "/study/specificity/value",
                        "/bootstrap/study_auroc/lower",
                        "/bootstrap/study_auroc/upper",
                        "/bootstrap/study_kappa/lower",
                        "/bootstrap/study_kappa/upper",
                        "/bootstrap/study_sensitivity/lower",
                        "/bootstrap/study_sensitivity/upper",
                        "/bootstrap/study_specificity/lower",
                        "/bootstrap/study_specificity/upper",
                        "/study/confusion_matrix/0/0",
                        "/study/confusion_matrix/1/1",
                        "/image/confusion_matrix/0/1",
                        "/study/classification_report/abnormal/recall",
                        "/image/classification_report/weighted avg/f1-score",
                        "/calibration/study/ece",
                        "/calibration/image/ece",
                        "/image/auroc/value",
                        "/threshold"})
    EXPECT_TRUE(shown.count(p)) << p << " is not in the page";
  for (const auto& [part, _] : m["per_body_part"]["study"].items())
    EXPECT_TRUE(shown.count("/per_body_part/study/" + part + "/auroc/value")) << part;
}

TEST_F(ReportCli, AScreenshotShowsThePage) {
  if (const auto why = chromium_absent(); !why.empty()) GTEST_SKIP() << why;
  ASSERT_EQ(evaluate_->exit_code, 0) << evaluate_->out;
  const fs::path png = scratch_->path() / "report.png";
  const auto b = open_in_chromium(
      html(), "--hide-scrollbars --window-size=1280,2400 --screenshot='" + png.string() + "'");
  ASSERT_EQ(b.exit_code, 0) << b.log;
  const cv::Mat shot = cv::imread(png.string(), cv::IMREAD_COLOR);
  ASSERT_FALSE(shot.empty()) << b.log;
  EXPECT_EQ(shot.cols, 1280);
  EXPECT_EQ(shot.rows, 2400);
  cv::Scalar mean, stddev;
  cv::meanStdDev(shot, mean, stddev);
  EXPECT_GT(stddev[0], 10.0) << "not a blank page";
  if (const char* keep = std::getenv("MURA_REPORT_SCREENSHOT"); keep && *keep)
    fs::copy_file(png, keep, fs::copy_options::overwrite_existing);
}

TEST_F(ReportCli, ReportCommandTakesItsOwnGallerySizeAndFindsTheTrainingLog) {
  ASSERT_EQ(evaluate_->exit_code, 0) << evaluate_->out;
  const std::string out = (scratch_->path() / "small.html").string();
  const auto r = run_mura("report --eval-dir '" + eval() + "' --out '" + out +
                          "' --gallery 1 --thumb-size 96");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "report: " + out)) << r.out;
  EXPECT_TRUE(contains(r.out, "training curves")) << r.out;
  const std::string page = read_file(out);
  EXPECT_LE(count_of(page, "<img "), 3u) << "at most 1 FP, 1 FN, 1 TP";
  EXPECT_GT(count_of(page, "<img "), 0u);
  for (auto at = page.find("<img "); at != std::string::npos; at = page.find("<img ", at + 1)) {
    const std::string tag = page.substr(at, page.find('>', at) - at);
    const auto attr = [&](const std::string& name) {
      const auto p = tag.find(" " + name + "=\"") + name.size() + 3;
      return std::stoi(tag.substr(p, tag.find('"', p) - p));
    };
    EXPECT_EQ(std::max(attr("width"), attr("height")), 96) << "the longest side is --thumb-size";
  }
  for (const char* id : {"train-loss", "train-auroc", "train-lr"})
    EXPECT_TRUE(contains(page, std::string("id=\"") + id + "\"")) << id;
  EXPECT_TRUE(contains(page, "resnet18, 32 px, epoch ")) << "the checkpoint's identity";
  EXPECT_TRUE(test::check_page_numbers(page, metrics()).empty());
}

TEST_F(ReportCli, MissingImagesArePlaceholdersNotFailures) {
  ASSERT_EQ(evaluate_->exit_code, 0) << evaluate_->out;
  const fs::path empty = scratch_->path() / "empty-data";
  fs::create_directories(empty);
  const std::string out = (scratch_->path() / "missing.html").string();
  const auto r = run_mura("report --eval-dir '" + eval() + "' --data-dir '" + empty.string() +
                          "' --out '" + out + "' --gallery 2");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "missing")) << r.out;
  EXPECT_TRUE(contains(r.out, "could not be made")) << r.out;
  const std::string page = read_file(out);
  EXPECT_EQ(count_of(page, "<img "), 0u);
  EXPECT_GT(count_of(page, "no picture: image not found on disk: " + empty.string()), 0u);
  EXPECT_TRUE(contains(page, "class=\"note\"")) << "the page says so at the top";
}

TEST_F(ReportCli, BadInputsAreErrorsThatNameTheProblem) {
  ASSERT_EQ(evaluate_->exit_code, 0) << evaluate_->out;
  const fs::path bad = scratch_->path() / "bad-eval";
  fs::create_directories(bad);
  auto r = run_mura("report --eval-dir '" + bad.string() + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.out, (bad / "metrics.json").string() + ": no such file")) << r.out;
  auto m = metrics();
  m["format_version"] = 2;
  test::write_text(bad / "metrics.json", m.dump());
  r = run_mura("report --eval-dir '" + bad.string() + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.out, "format_version 2 is not supported")) << r.out;
  r = run_mura("report");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.out, "--eval-dir")) << r.out;
  r = run_mura("report --eval-dir '" + eval() + "' --checkpoint /no/such.ckpt --out '" +
               bad.string() + "/x.html'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.out, "/no/such.ckpt")) << r.out;
  EXPECT_TRUE(contains(r.out, "--gallery 0 skips it")) << r.out;
  EXPECT_FALSE(fs::exists(bad / "x.html"));
  r = run_mura("report --eval-dir '" + eval() + "' --checkpoint /no/such.ckpt --gallery 0 --out '" +
               bad.string() + "/x.html'");
  EXPECT_EQ(r.exit_code, 0) << "no gallery, no checkpoint needed: " << r.out;
}

}  // namespace
}  // namespace mura
