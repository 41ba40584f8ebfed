// Study-level aggregation (mean of image probabilities, as the MURA paper) and per-body-part
// metrics.
#include "mura/eval/aggregate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "../test_util.h"
#include "mura/util/error.h"

namespace mura::eval {
namespace {

using test::contains;

std::string error_of(const std::vector<ImagePrediction>& images) {
  return test::error_message([&] { aggregate_studies(images); });
}

TEST(Aggregate, StudyProbabilityIsTheMeanInFirstAppearanceOrder) {
  const std::vector<ImagePrediction> images = {
      {"valid/XR_WRIST/patient3/study1_positive", "XR_WRIST", 1, 0.9},
      {"valid/XR_HAND/patient1/study1_negative", "XR_HAND", 0, 0.2},
      {"valid/XR_WRIST/patient3/study1_positive", "XR_WRIST", 1, 0.6},
      {"valid/XR_ELBOW/patient2/study2_negative", "XR_ELBOW", 0, 0.125},
      {"valid/XR_WRIST/patient3/study1_positive", "XR_WRIST", 1, 0.3},
      {"valid/XR_HAND/patient1/study1_negative", "XR_HAND", 0, 0.4},
  };
  const auto studies = aggregate_studies(images);
  ASSERT_EQ(studies.size(), 3u);
  EXPECT_EQ(studies[0].study, "valid/XR_WRIST/patient3/study1_positive");
  EXPECT_EQ(studies[0].body_part, "XR_WRIST");
  EXPECT_EQ(studies[0].label, 1);
  EXPECT_EQ(studies[0].n_images, 3u);
  EXPECT_DOUBLE_EQ(studies[0].probability, (0.9 + 0.6 + 0.3) / 3.0);
  EXPECT_EQ(studies[1].study, "valid/XR_HAND/patient1/study1_negative");
  EXPECT_EQ(studies[1].n_images, 2u);
  EXPECT_DOUBLE_EQ(studies[1].probability, 0.3);
  EXPECT_EQ(studies[2].study, "valid/XR_ELBOW/patient2/study2_negative");
  EXPECT_EQ(studies[2].n_images, 1u);
  EXPECT_EQ(studies[2].probability, 0.125);
  EXPECT_TRUE(aggregate_studies({}).empty());
}

TEST(Aggregate, LabelDisagreementNamesTheStudyAndTheImages) {
  const std::string msg = error_of({
      {"valid/XR_WRIST/patient3/study1", "XR_WRIST", 1, 0.9},
      {"valid/XR_HAND/patient1/study1", "XR_HAND", 0, 0.2},
      {"valid/XR_WRIST/patient3/study1", "XR_WRIST", 0, 0.6},
  });
  EXPECT_EQ(msg,
            "study 'valid/XR_WRIST/patient3/study1': its images disagree on the label "
            "(item 0 has 1, item 2 has 0)");
}

TEST(Aggregate, BodyPartDisagreementNamesTheStudy) {
  const std::string msg = error_of({
      {"s1", "XR_WRIST", 1, 0.9},
      {"s1", "XR_HAND", 1, 0.6},
  });
  EXPECT_TRUE(contains(msg, "study 's1': its images disagree on the body part")) << msg;
  EXPECT_TRUE(contains(msg, "'XR_WRIST'")) << msg;
  EXPECT_TRUE(contains(msg, "'XR_HAND'")) << msg;
}

TEST(Aggregate, BadLabelsProbabilitiesAndIdsAreErrors) {
  EXPECT_TRUE(contains(error_of({{"s1", "XR_HAND", 2, 0.5}}),
                       "study 's1': item 0 has label 2, expected 0 or 1"));
  EXPECT_TRUE(contains(error_of({{"s1", "XR_HAND", 1, 0.5},
                                 {"s1", "XR_HAND", 1, std::numeric_limits<double>::quiet_NaN()}}),
                       "study 's1': item 1 has a probability that is not finite"));
  EXPECT_TRUE(contains(error_of({{"", "XR_HAND", 1, 0.5}}), "item 0 has an empty study id"));
}

TEST(Aggregate, PerBodyPartMatchesMetricsOnEachSubset) {
  std::vector<StudyPrediction> studies = {
      {"a1", "XR_WRIST", 1, 0.8, 2}, {"a2", "XR_WRIST", 0, 0.3, 1}, {"a3", "XR_WRIST", 1, 0.4, 3},
      {"a4", "XR_WRIST", 0, 0.6, 1}, {"b1", "XR_HAND", 0, 0.1, 2},  {"b2", "XR_HAND", 0, 0.7, 2},
  };
  const auto parts = per_body_part(studies);
  ASSERT_EQ(parts.size(), 2u);
  ASSERT_EQ(parts.begin()->first, "XR_HAND");  // sorted by name
  const BinaryMetrics& wrist = parts.at("XR_WRIST");
  const BinaryMetrics expected = compute_binary_metrics({1, 0, 1, 0}, {0.8, 0.3, 0.4, 0.6}, 0.5);
  EXPECT_EQ(wrist.n, 4u);
  EXPECT_EQ(wrist.auroc.value, expected.auroc.value);
  EXPECT_EQ(wrist.auroc.value, 0.75);
  EXPECT_EQ(wrist.kappa.value, expected.kappa.value);
  EXPECT_EQ(wrist.accuracy, 0.5);
  // A part with one class only: undefined AUROC with a reason, never an error.
  const BinaryMetrics& hand = parts.at("XR_HAND");
  EXPECT_EQ(hand.n_pos, 0u);
  EXPECT_FALSE(hand.auroc.defined());
  EXPECT_EQ(hand.auroc.format(), "n/a (only one class present)");
  EXPECT_EQ(hand.accuracy, 0.5);
  // All items together.
  EXPECT_EQ(metrics_of(studies).n, 6u);
  const auto groups = group_by_body_part(studies);
  EXPECT_EQ(groups.at("XR_WRIST").size(), 4u);
  EXPECT_EQ(groups.at("XR_WRIST")[2].study, "a3");
}

TEST(Aggregate, PerBodyPartErrorsNameThePart) {
  const std::vector<ImagePrediction> images = {{"s1", "XR_HAND", 3, 0.5}};
  EXPECT_EQ(test::error_message([&] { per_body_part(images); }),
            "body part XR_HAND: metrics: label at index 0 is 3, expected 0 or 1");
}

TEST(Aggregate, ImagesThenStudiesEndToEnd) {
  std::vector<ImagePrediction> images;
  for (int s = 0; s < 10; ++s)
    for (int i = 0; i <= s % 3; ++i)
      images.push_back({"study" + std::to_string(s), s % 2 ? "XR_ELBOW" : "XR_FINGER", s % 2,
                        0.1 * s + 0.01 * i});
  const auto studies = aggregate_studies(images);
  ASSERT_EQ(studies.size(), 10u);
  std::size_t total = 0;
  for (const auto& st : studies) total += st.n_images;
  EXPECT_EQ(total, images.size());
  const BinaryMetrics m = metrics_of(studies);
  EXPECT_EQ(m.n_pos, 5u);
  EXPECT_TRUE(m.auroc.defined());
}

}  // namespace
}  // namespace mura::eval
