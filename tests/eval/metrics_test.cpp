// Metrics against scikit-learn: tests/reference/sklearn_metrics.py (Debian's python3 with
// sklearn 1.2) writes cases and sklearn's answers at test time; every number must agree
// within 1e-9, and the cases sklearn refuses must give NaN with a reason, never a crash.
#include "mura/eval/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "../test_util.h"
#include "mura/eval/bootstrap.h"
#include "mura/eval/summary.h"
#include "mura/util/error.h"
#include "mura/util/rng.h"

namespace mura::eval {
namespace {
using nlohmann::json;

constexpr double kTol = 1e-9;

using test::contains;

double num(const json& j) {
  return j.is_null() ? std::numeric_limits<double>::quiet_NaN() : j.get<double>();
}

std::vector<double> nums(const json& j) {
  std::vector<double> v;
  for (const auto& x : j) v.push_back(num(x));
  return v;
}

/// Equal within kTol, or both NaN.
::testing::AssertionResult near(double ours, double theirs, const std::string& what) {
  if (std::isnan(ours) && std::isnan(theirs)) return ::testing::AssertionSuccess();
  if (std::fabs(ours - theirs) <= kTol) return ::testing::AssertionSuccess();
  std::ostringstream os;
  os.precision(17);
  os << what << ": ours " << ours << ", sklearn " << theirs;
  return ::testing::AssertionFailure() << os.str();
}

::testing::AssertionResult near(const std::vector<double>& ours, const std::vector<double>& theirs,
                                const std::string& what) {
  if (ours.size() != theirs.size())
    return ::testing::AssertionFailure()
           << what << ": ours has " << ours.size() << " points, sklearn " << theirs.size();
  for (std::size_t i = 0; i < ours.size(); ++i) {
    auto r = near(ours[i], theirs[i], what + "[" + std::to_string(i) + "]");
    if (!r) return r;
  }
  return ::testing::AssertionSuccess();
}

class MetricsSklearn : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    const auto r =
        test::run_command(std::string("'") + MURA_PYTHON + "' '" + MURA_SOURCE_DIR +
                          "/tests/reference/sklearn_metrics.py' '" + dir_->path().string() + "'");
    ASSERT_EQ(r.exit_code, 0) << r.out;
    std::ifstream f(dir_->path() / "sklearn_metrics.json");
    ASSERT_TRUE(f) << "the oracle wrote no sklearn_metrics.json: " << r.out;
    doc_ = new json(json::parse(f));
  }
  static void TearDownTestSuite() {
    delete doc_;
    delete dir_;
    doc_ = nullptr;
    dir_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(doc_, nullptr) << "sklearn oracle did not run";
    ASSERT_GE(cases().size(), 20u);
  }
  static const json& cases() { return (*doc_)["cases"]; }
  static std::vector<int> labels(const json& c) { return c["labels"].get<std::vector<int>>(); }
  static std::vector<int> preds(const json& c) { return c["preds"].get<std::vector<int>>(); }
  static std::vector<double> scores(const json& c) { return nums(c["scores"]); }
  static std::size_t n_pos(const json& c) {
    std::size_t p = 0;
    for (int l : labels(c)) p += l == 1;
    return p;
  }

  // The checks, grouped into a few tests below: under CTest every test is its own process,
  // and each process runs the oracle once (about 1.5 s), so fewer tests run faster.
  static void PredictionsAreScoreAtLeastThresholdAsNumpy();
  static void RocAucMatchesOrIsUndefinedWithAReason();
  static void AveragePrecisionMatchesExceptNoPositivesIsNaN();
  static void RocCurveMatchesWithAndWithoutDropIntermediate();
  static void PrecisionRecallCurveMatches();
  static void ConfusionMatrixMatches();
  static void CohenKappaMatchesOrIsUndefinedWithAReason();
  static void ClassificationReportNumbersMatchIncludingZeroDivision();
  static void ClassificationReportTextMatchesSklearnsLayout();
  static void AccuracySensitivitySpecificityMatch();
  static void ComputeBinaryMetricsFillsEveryFieldAsSklearn();
  static void YoudenThresholdMatchesTheReferenceOrThrowsForOneClass();
  static void OperatingPointsAreTheOnesSklearnsRocCurveImplies();
  static void QuantileLinearMatchesNumpy();

  static test::TempDir* dir_;
  static json* doc_;
};
test::TempDir* MetricsSklearn::dir_ = nullptr;
json* MetricsSklearn::doc_ = nullptr;

void MetricsSklearn::PredictionsAreScoreAtLeastThresholdAsNumpy() {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c["name"].get<std::string>());
    EXPECT_EQ(predict(scores(c), c["threshold"].get<double>()), preds(c));
  }
}

void MetricsSklearn::RocAucMatchesOrIsUndefinedWithAReason() {
  std::size_t undefined = 0;
  for (const auto& c : cases()) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const Score s = roc_auc(labels(c), scores(c));
    if (c["roc_auc"].is_null()) {
      ++undefined;
      EXPECT_TRUE(contains(c["roc_auc_error"].get<std::string>(), "Only one class present"));
      EXPECT_FALSE(s.defined());
      EXPECT_TRUE(std::isnan(s.value));
      EXPECT_EQ(s.reason, "only one class present");
      EXPECT_TRUE(contains(s.detail, "AUROC undefined: ")) << s.detail;
      EXPECT_EQ(s.format(), "n/a (only one class present)");
    } else {
      ASSERT_TRUE(s.defined()) << s.detail;
      EXPECT_TRUE(near(s.value, num(c["roc_auc"]), "roc_auc"));
      EXPECT_TRUE(s.reason.empty());
    }
  }
  EXPECT_GE(undefined, 5u);
}

void MetricsSklearn::AveragePrecisionMatchesExceptNoPositivesIsNaN() {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const Score s = average_precision(labels(c), scores(c));
    if (n_pos(c) == 0) {
      // sklearn 1.2 returns -0.0 with "No positive class found in y_true"; we say n/a.
      EXPECT_EQ(num(c["average_precision"]), 0.0);
      EXPECT_FALSE(s.defined());
      EXPECT_EQ(s.reason, "no positive labels");
      EXPECT_EQ(s.format(), "n/a (no positive labels)");
    } else {
      ASSERT_TRUE(s.defined());
      EXPECT_TRUE(near(s.value, num(c["average_precision"]), "average_precision"));
    }
  }
}

void MetricsSklearn::RocCurveMatchesWithAndWithoutDropIntermediate() {
  bool some_dropped = false;
  for (const auto& c : cases()) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const RocCurve r = roc_curve(labels(c), scores(c));
    EXPECT_TRUE(near(r.fpr, nums(c["roc_curve"]["fpr"]), "fpr"));
    EXPECT_TRUE(near(r.tpr, nums(c["roc_curve"]["tpr"]), "tpr"));
    EXPECT_TRUE(near(r.thresholds, nums(c["roc_curve"]["thresholds"]), "thresholds"));
    const RocCurve full = roc_curve(labels(c), scores(c), false);
    EXPECT_TRUE(near(full.fpr, nums(c["roc_curve_full"]["fpr"]), "full fpr"));
    EXPECT_TRUE(near(full.tpr, nums(c["roc_curve_full"]["tpr"]), "full tpr"));
    EXPECT_TRUE(near(full.thresholds, nums(c["roc_curve_full"]["thresholds"]), "full thresholds"));
    some_dropped |= full.fpr.size() > r.fpr.size();
  }
  EXPECT_TRUE(some_dropped);
}

void MetricsSklearn::PrecisionRecallCurveMatches() {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const PrCurve r = precision_recall_curve(labels(c), scores(c));
    EXPECT_TRUE(near(r.precision, nums(c["pr_curve"]["precision"]), "precision"));
    EXPECT_TRUE(near(r.recall, nums(c["pr_curve"]["recall"]), "recall"));
    EXPECT_TRUE(near(r.thresholds, nums(c["pr_curve"]["thresholds"]), "thresholds"));
  }
}

void MetricsSklearn::ConfusionMatrixMatches() {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const ConfusionMatrix m = confusion_matrix(labels(c), preds(c));
    const auto t = m.table();
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 2; ++j)
        EXPECT_EQ(t[i][j], c["confusion_matrix"][i][j].get<std::int64_t>());
  }
}

void MetricsSklearn::CohenKappaMatchesOrIsUndefinedWithAReason() {
  std::size_t undefined = 0;
  for (const auto& c : cases()) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const Score k = cohen_kappa(labels(c), preds(c));
    if (c["kappa"].is_null()) {
      ++undefined;
      EXPECT_FALSE(k.defined());
      EXPECT_EQ(k.reason, "labels and predictions are all one class");
      EXPECT_TRUE(contains(k.detail, "Cohen's kappa undefined: all 20 labels and predictions are"))
          << k.detail;
    } else {
      ASSERT_TRUE(k.defined()) << k.detail;
      EXPECT_TRUE(near(k.value, num(c["kappa"]), "kappa"));
    }
  }
  EXPECT_EQ(undefined, 2u);
}

void expect_class(const ClassScores& s, const json& j, const std::string& what) {
  EXPECT_TRUE(near(s.precision, num(j["precision"]), what + " precision"));
  EXPECT_TRUE(near(s.recall, num(j["recall"]), what + " recall"));
  EXPECT_TRUE(near(s.f1, num(j["f1-score"]), what + " f1-score"));
  EXPECT_EQ(s.support, j["support"].get<std::int64_t>()) << what;
}

void MetricsSklearn::ClassificationReportNumbersMatchIncludingZeroDivision() {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const ClassificationReport r = classification_report(labels(c), preds(c));
    const json& j = c["report"];
    expect_class(r.classes[0], j["0"], "class 0");
    expect_class(r.classes[1], j["1"], "class 1");
    expect_class(r.macro_avg, j["macro avg"], "macro avg");
    expect_class(r.weighted_avg, j["weighted avg"], "weighted avg");
    EXPECT_TRUE(near(r.accuracy, num(j["accuracy"]), "accuracy"));
  }
}

/// sklearn 1.2 prints supports as floats ("      26.0") when no prediction is correct: its
/// multilabel_confusion_matrix then starts from np.zeros (float). We print integers; this
/// turns a trailing " 26.0" back into "   26" (same width).
std::string integer_supports(const std::string& text) {
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line)) {
    const std::size_t dot = line.rfind(".0");
    const std::size_t space = line.rfind(' ');
    if (dot != std::string::npos && dot + 2 == line.size() && space != std::string::npos &&
        line.find('.', space) == dot)
      line = line.substr(0, space + 1) + "  " + line.substr(space + 1, dot - space - 1);
    out += line + "\n";
  }
  return out;
}

void MetricsSklearn::ClassificationReportTextMatchesSklearnsLayout() {
  std::size_t compared = 0;
  for (const auto& c : cases()) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const std::string ours =
        format_classification_report(classification_report(labels(c), preds(c)));
    std::string theirs = c["report_text"].get<std::string>();
    if (num(c["accuracy"]) == 0.0) theirs = integer_supports(theirs);
    if (c["report"]["has_accuracy_row"].get<bool>()) {
      EXPECT_EQ(ours, theirs);
      ++compared;
    } else {
      // sklearn prints "micro avg" (equal to the accuracy) here; we print "accuracy". The
      // header and class rows are identical.
      const std::string head = theirs.substr(0, theirs.find("\n\n", theirs.find("abnormal")));
      EXPECT_EQ(ours.substr(0, head.size()), head);
      EXPECT_TRUE(contains(theirs, "   micro avg "));
      EXPECT_TRUE(contains(ours, "    accuracy                         "));
    }
  }
  EXPECT_GE(compared, 15u);
}

void MetricsSklearn::AccuracySensitivitySpecificityMatch() {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const auto y = labels(c);
    const auto p = preds(c);
    EXPECT_TRUE(near(accuracy(y, p), num(c["accuracy"]), "accuracy"));
    const Score sens = sensitivity(y, p), spec = specificity(y, p);
    const std::size_t pos = n_pos(c), neg = y.size() - pos;
    if (pos > 0) {
      EXPECT_TRUE(near(sens.value, num(c["recall_1"]), "sensitivity"));
    } else {
      EXPECT_EQ(sens.format(), "n/a (no abnormal labels)");
    }
    if (neg > 0) {
      EXPECT_TRUE(near(spec.value, num(c["recall_0"]), "specificity"));
    } else {
      EXPECT_EQ(spec.format(), "n/a (no normal labels)");
    }
  }
}

void MetricsSklearn::ComputeBinaryMetricsFillsEveryFieldAsSklearn() {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const auto y = labels(c);
    const double thr = c["threshold"].get<double>();
    const BinaryMetrics m = compute_binary_metrics(y, scores(c), thr);
    EXPECT_EQ(m.n, y.size());
    EXPECT_EQ(m.n_pos, n_pos(c));
    EXPECT_EQ(m.n_neg, y.size() - n_pos(c));
    EXPECT_EQ(m.threshold, thr);
    EXPECT_TRUE(near(m.accuracy, num(c["accuracy"]), "accuracy"));
    EXPECT_TRUE(near(m.auroc.value, num(c["roc_auc"]), "auroc"));
    if (m.n_pos > 0) {
      EXPECT_TRUE(near(m.average_precision.value, num(c["average_precision"]), "ap"));
    }
    EXPECT_TRUE(near(m.kappa.value, num(c["kappa"]), "kappa"));
    if (m.n_pos > 0) {
      EXPECT_TRUE(near(m.sensitivity.value, num(c["recall_1"]), "sensitivity"));
    }
    if (m.n_neg > 0) {
      EXPECT_TRUE(near(m.specificity.value, num(c["recall_0"]), "specificity"));
    }
    const auto t = m.confusion.table();
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 2; ++j)
        EXPECT_EQ(t[i][j], c["confusion_matrix"][i][j].get<std::int64_t>());
    expect_class(m.report.classes[0], c["report"]["0"], "class 0");
    expect_class(m.report.classes[1], c["report"]["1"], "class 1");
    expect_class(m.report.macro_avg, c["report"]["macro avg"], "macro avg");
    expect_class(m.report.weighted_avg, c["report"]["weighted avg"], "weighted avg");
  }
}

void MetricsSklearn::OperatingPointsAreTheOnesSklearnsRocCurveImplies() {
  std::size_t checked = 0;
  for (const auto& c : cases()) {
    SCOPED_TRACE(c["name"].get<std::string>());
    if (c["operating_points"].is_null()) {
      EXPECT_ERROR_CONTAINS(point_for_sensitivity(labels(c), scores(c), 0.9),
                            "only one class present");
      continue;
    }
    for (const auto& [rule, expected] : c["operating_points"].items()) {
      SCOPED_TRACE(rule);
      const eval::ThresholdRule r = eval::parse_threshold_rule(rule);
      const bool sens = r.kind == eval::ThresholdRule::Kind::Sensitivity;
      if (expected.is_null()) {
        EXPECT_FALSE(sens);
        EXPECT_ERROR_CONTAINS(point_for_specificity(labels(c), scores(c), r.target),
                              "is kept only by calling nothing abnormal");
        continue;
      }
      const OperatingPoint p = sens ? point_for_sensitivity(labels(c), scores(c), r.target)
                                    : point_for_specificity(labels(c), scores(c), r.target);
      EXPECT_EQ(p.threshold, num(expected["threshold"]));
      EXPECT_EQ(p.tpr, num(expected["tpr"]));
      EXPECT_EQ(p.fpr, num(expected["fpr"]));
      EXPECT_EQ(r.choose(labels(c), scores(c)), p.threshold);
      ++checked;
    }
  }
  EXPECT_GT(checked, 20u);
}

void MetricsSklearn::YoudenThresholdMatchesTheReferenceOrThrowsForOneClass() {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c["name"].get<std::string>());
    if (c["youden"].is_null()) {
      EXPECT_ERROR_CONTAINS(youden_threshold(labels(c), scores(c)),
                            "Youden threshold undefined: ", "only one class present");
      continue;
    }
    const YoudenPoint y = youden(labels(c), scores(c));
    EXPECT_EQ(y.threshold, num(c["youden"]["threshold"]));
    EXPECT_TRUE(near(y.tpr, num(c["youden"]["tpr"]), "tpr"));
    EXPECT_TRUE(near(y.fpr, num(c["youden"]["fpr"]), "fpr"));
    EXPECT_TRUE(near(y.j, y.tpr - y.fpr, "j"));
  }
}

void MetricsSklearn::QuantileLinearMatchesNumpy() {
  const json& qs = (*doc_)["quantiles"];
  ASSERT_GE(qs.size(), 5u);
  for (const auto& q : qs) {
    const auto values = nums(q["values"]);
    const auto probs = nums(q["q"]);
    const auto expected = nums(q["result"]);
    for (std::size_t i = 0; i < probs.size(); ++i)
      EXPECT_EQ(quantile_linear(values, probs[i]), expected[i])
          << "m=" << values.size() << " q=" << probs[i];
  }
}

TEST_F(MetricsSklearn, RankingMetricsMatch) {
  {
    SCOPED_TRACE("RocAucMatchesOrIsUndefinedWithAReason");
    RocAucMatchesOrIsUndefinedWithAReason();
  }
  {
    SCOPED_TRACE("AveragePrecisionMatchesExceptNoPositivesIsNaN");
    AveragePrecisionMatchesExceptNoPositivesIsNaN();
  }
  {
    SCOPED_TRACE("RocCurveMatchesWithAndWithoutDropIntermediate");
    RocCurveMatchesWithAndWithoutDropIntermediate();
  }
  {
    SCOPED_TRACE("PrecisionRecallCurveMatches");
    PrecisionRecallCurveMatches();
  }
  {
    SCOPED_TRACE("YoudenThresholdMatchesTheReferenceOrThrowsForOneClass");
    YoudenThresholdMatchesTheReferenceOrThrowsForOneClass();
  }
  {
    SCOPED_TRACE("OperatingPointsAreTheOnesSklearnsRocCurveImplies");
    OperatingPointsAreTheOnesSklearnsRocCurveImplies();
  }
}

TEST_F(MetricsSklearn, ThresholdedMetricsMatch) {
  {
    SCOPED_TRACE("PredictionsAreScoreAtLeastThresholdAsNumpy");
    PredictionsAreScoreAtLeastThresholdAsNumpy();
  }
  {
    SCOPED_TRACE("ConfusionMatrixMatches");
    ConfusionMatrixMatches();
  }
  {
    SCOPED_TRACE("CohenKappaMatchesOrIsUndefinedWithAReason");
    CohenKappaMatchesOrIsUndefinedWithAReason();
  }
  {
    SCOPED_TRACE("ClassificationReportNumbersMatchIncludingZeroDivision");
    ClassificationReportNumbersMatchIncludingZeroDivision();
  }
  {
    SCOPED_TRACE("AccuracySensitivitySpecificityMatch");
    AccuracySensitivitySpecificityMatch();
  }
}

TEST_F(MetricsSklearn, ComputeBinaryMetricsFillsEveryFieldAsSklearn) {
  ComputeBinaryMetricsFillsEveryFieldAsSklearn();
}

TEST_F(MetricsSklearn, ClassificationReportTextMatchesSklearnsLayout) {
  ClassificationReportTextMatchesSklearnsLayout();
}

TEST_F(MetricsSklearn, QuantileLinearMatchesNumpy) {
  QuantileLinearMatchesNumpy();
}

// ---------------------------------------------------------------- without the oracle

TEST(Metrics, SklearnDocstringExample) {
  // sklearn's roc_curve / precision_recall_curve docstrings.
  const std::vector<int> y = {0, 0, 1, 1};
  const std::vector<double> s = {0.1, 0.4, 0.35, 0.8};
  const RocCurve r = roc_curve(y, s);
  EXPECT_EQ(r.fpr, (std::vector<double>{0, 0, 0.5, 0.5, 1}));
  EXPECT_EQ(r.tpr, (std::vector<double>{0, 0.5, 0.5, 1, 1}));
  EXPECT_EQ(r.thresholds, (std::vector<double>{1.8, 0.8, 0.4, 0.35, 0.1}));
  const PrCurve p = precision_recall_curve(y, s);
  EXPECT_EQ(p.precision, (std::vector<double>{0.5, 2.0 / 3.0, 0.5, 1, 1}));
  EXPECT_EQ(p.recall, (std::vector<double>{1, 1, 0.5, 0.5, 0}));
  EXPECT_EQ(p.thresholds, (std::vector<double>{0.1, 0.35, 0.4, 0.8}));
  EXPECT_EQ(roc_auc(y, s).value, 0.75);
  EXPECT_NEAR(average_precision(y, s).value, 0.8333333333333333, 1e-15);
}

TEST(Metrics, RocAucEqualsMannWhitneyWithTiesCountedHalf) {
  Rng rng(3);
  for (int trial = 0; trial < 20; ++trial) {
    const std::size_t n = 5 + rng.below(60);
    std::vector<int> y(n);
    std::vector<double> s(n);
    for (std::size_t i = 0; i < n; ++i) {
      y[i] = rng.bernoulli(0.4) ? 1 : 0;
      s[i] = static_cast<double>(rng.below(6)) / 5.0;  // heavy ties
    }
    y[0] = 0;
    y[1] = 1;
    double wins = 0;
    std::size_t pos = 0, neg = 0;
    for (std::size_t i = 0; i < n; ++i) (y[i] ? pos : neg) += 1;
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j)
        if (y[i] == 1 && y[j] == 0) wins += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
    EXPECT_NEAR(roc_auc(y, s).value, wins / static_cast<double>(pos * neg), 1e-15);
  }
}

TEST(Metrics, UndefinedScoresSayWhyInReports) {
  const Score auc = roc_auc({1, 1, 1}, {0.1, 0.5, 0.9});
  EXPECT_TRUE(std::isnan(auc.value));
  EXPECT_EQ(auc.detail, "AUROC undefined: all 3 labels are 1 (only one class present)");
  EXPECT_EQ(auc.format(), "n/a (only one class present)");
  EXPECT_EQ(roc_auc({0}, {0.3}).detail,
            "AUROC undefined: the only label is 0 (only one class present)");
  const Score k = cohen_kappa({0, 0}, {0, 0});
  EXPECT_EQ(k.detail,
            "Cohen's kappa undefined: all 2 labels and predictions are 0 (chance agreement is 1, "
            "kappa is 0/0)");
  EXPECT_EQ(k.format(), "n/a (labels and predictions are all one class)");
  // Only one class in the labels, but both predicted: kappa is defined (0), as sklearn.
  EXPECT_EQ(cohen_kappa({0, 0}, {1, 0}).value, 0.0);
  Score s;
  s.value = 0.123456;
  EXPECT_EQ(s.format(), "0.1235");
  EXPECT_EQ(s.format(2), "0.12");
}

TEST(Metrics, YoudenTiesGoToTheHighestThreshold) {
  // Thresholds 0.9 (tpr .5, fpr 0) and 0.4 (tpr 1, fpr .5) both give J = 0.5.
  const std::vector<int> y = {1, 0, 1, 0};
  const std::vector<double> s = {0.9, 0.6, 0.4, 0.1};
  const YoudenPoint p = youden(y, s);
  EXPECT_EQ(p.threshold, 0.9);
  EXPECT_EQ(p.tpr, 0.5);
  EXPECT_EQ(p.fpr, 0.0);
  EXPECT_EQ(p.j, 0.5);
  // An inverted classifier: J < 0 everywhere but at the lowest score (all called abnormal,
  // J = 0); the artificial (0, 0) point above the highest score is not a candidate.
  EXPECT_EQ(youden_threshold({0, 1}, {0.8, 0.2}), 0.2);
  // J = 0 at 0.7 (tpr 1/2, fpr 1/2) and at 0.2 (tpr 1, fpr 1): the highest threshold wins.
  EXPECT_EQ(youden_threshold({1, 0, 0, 1}, {0.7, 0.7, 0.5, 0.2}), 0.7);
}

TEST(Metrics, ConfusionMatrixOverloadsAgree) {
  const std::vector<int> y = {0, 0, 1, 1, 1, 0};
  const std::vector<int> p = {0, 1, 1, 0, 1, 0};
  const ConfusionMatrix m = confusion_matrix(y, p);
  EXPECT_EQ(m.tn, 2);
  EXPECT_EQ(m.fp, 1);
  EXPECT_EQ(m.fn, 1);
  EXPECT_EQ(m.tp, 2);
  EXPECT_EQ(cohen_kappa(m).value, cohen_kappa(y, p).value);
  EXPECT_EQ(sensitivity(m).value, 2.0 / 3.0);
  EXPECT_EQ(specificity(m).value, 2.0 / 3.0);
  EXPECT_THROW(cohen_kappa(ConfusionMatrix{}), Error);
}

TEST(Metrics, BadInputThrowsWithAClearMessage) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_ERROR_CONTAINS(compute_binary_metrics({0, 1, 1}, {0.1, 0.2}),
                        "metrics: 3 labels but 2 scores");
  EXPECT_ERROR_CONTAINS(compute_binary_metrics({}, {}), "metrics: no items (empty input)");
  EXPECT_ERROR_CONTAINS(roc_auc({0, 2, 1}, {0.1, 0.2, 0.3}),
                        "metrics: label at index 1 is 2, expected 0 or 1");
  EXPECT_ERROR_CONTAINS(compute_binary_metrics({0, 1, 1}, {0.1, nan, 0.3}),
                        "metrics: score at index 1 is NaN");
  EXPECT_ERROR_CONTAINS(average_precision({0, 1}, {0.1, -inf}),
                        "metrics: score at index 1 is -inf (scores must be finite)");
  EXPECT_ERROR_CONTAINS(cohen_kappa({0, 1}, {0, -1}),
                        "metrics: prediction at index 1 is -1, expected 0 or 1");
  EXPECT_ERROR_CONTAINS(confusion_matrix({0, 1}, {0}), "metrics: 2 labels but 1 predictions");
  EXPECT_ERROR_CONTAINS(compute_binary_metrics({0, 1}, {0.1, 0.2}, nan), "threshold");
  EXPECT_ERROR_CONTAINS(validate_inputs({0}, {0.5, 0.5}, "study AUROC"),
                        "study AUROC: 1 labels but 2 scores");
}

TEST(Metrics, FormatUsesTargetNamesAndDigits) {
  const ClassificationReport r = classification_report({0, 1, 1, 0}, {0, 1, 0, 0});
  const std::string text = format_classification_report(r, {"negative-class-long", "pos"}, 2);
  EXPECT_TRUE(contains(text, "negative-class-long       0.67      1.00      0.80         2\n"))
      << text;
  EXPECT_TRUE(contains(text, "                pos       1.00      0.50      0.67         2\n"))
      << text;
  EXPECT_TRUE(contains(text, "           accuracy                           0.75         4\n"))
      << text;
}

TEST(ThresholdRule, ParsesOperatingPointsAndNamesWhatIsWrong) {
  EXPECT_EQ(parse_threshold_rule("0.3").value, 0.3);
  EXPECT_EQ(parse_threshold_rule("Youden").kind, ThresholdRule::Kind::Youden);
  const auto s = parse_threshold_rule("sensitivity:0.9");
  EXPECT_EQ(s.kind, ThresholdRule::Kind::Sensitivity);
  EXPECT_EQ(s.target, 0.9);
  EXPECT_EQ(s.describe(), "sensitivity:0.9");
  EXPECT_EQ(parse_threshold_rule("specificity:1").describe(), "specificity:1");
  EXPECT_ERROR_CONTAINS(parse_threshold_rule("sensitivity:0"), "the target must be in (0, 1]");
  EXPECT_ERROR_CONTAINS(parse_threshold_rule("specificity:1.5"), "the target must be in (0, 1]");
  EXPECT_ERROR_CONTAINS(parse_threshold_rule("sensitivity:high"),
                        "expected a number in (0, 1), youden, sensitivity:X or specificity:X");
  EXPECT_ERROR_CONTAINS(parse_threshold_rule("1.5"), "expected a number in (0, 1), got '1.5'");
  // on a tiny set: scores 0.9 (abnormal), 0.8 (normal), 0.4 (abnormal), 0.1 (normal)
  const std::vector<int> y{1, 0, 1, 0};
  const std::vector<double> p{0.9, 0.8, 0.4, 0.1};
  EXPECT_EQ(parse_threshold_rule("sensitivity:1").choose(y, p), 0.4);
  EXPECT_EQ(parse_threshold_rule("sensitivity:0.5").choose(y, p), 0.9);
  EXPECT_EQ(parse_threshold_rule("specificity:0.5").choose(y, p), 0.4);
  EXPECT_ERROR_CONTAINS(parse_threshold_rule("specificity:1").choose({1, 0}, {0.2, 0.9}),
                        "is kept only by calling nothing abnormal");
}

}  // namespace
}  // namespace mura::eval
