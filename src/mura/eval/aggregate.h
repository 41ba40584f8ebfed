#pragma once
/// From image-level predictions to study-level ones, and metrics per body part.
///
/// As in the MURA paper (Rajpurkar et al., 2017), a study's probability of abnormality is the
/// arithmetic mean of its images' probabilities; the study's label is the label its images
/// carry (MURA labels studies, every image of a study has the study's label).
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "mura/eval/metrics.h"
#include "mura/util/error.h"

namespace mura::eval {

/// One image's prediction.
struct ImagePrediction {
  std::string study;         ///< study id, unique across the data set (e.g. its relative path)
  std::string body_part;     ///< "XR_WRIST"
  int label = 0;             ///< the study's label, 0 normal / 1 abnormal
  double probability = 0.0;  ///< predicted probability of abnormal, finite
};

/// One study's prediction: the mean over its images.
struct StudyPrediction {
  std::string study;
  std::string body_part;
  int label = 0;
  double probability = 0.0;  ///< arithmetic mean of the images' probabilities
  std::size_t n_images = 0;
};

/// Groups images by `study`, keeping the order in which studies first appear. The mean is
/// the sum in input order divided by the count. Throws mura::Error naming the study and the
/// items (indices into `images`) when its images disagree on the label or the body part,
/// when a label is not 0/1, when a probability is not finite, or when a study id is empty.
/// An empty input gives an empty result.
std::vector<StudyPrediction> aggregate_studies(const std::vector<ImagePrediction>& images);

/// Labels and scores of any items with `label` and `probability` members, in order.
template <class Item>
void labels_and_scores(const std::vector<Item>& items, std::vector<int>& labels,
                       std::vector<double>& scores) {
  labels.clear();
  scores.clear();
  labels.reserve(items.size());
  scores.reserve(items.size());
  for (const auto& it : items) {
    labels.push_back(it.label);
    scores.push_back(it.probability);
  }
}

/// Items (anything with a `body_part` member) grouped by body part, sorted by name, each
/// group in input order.
template <class Item>
std::map<std::string, std::vector<Item>> group_by_body_part(const std::vector<Item>& items) {
  std::map<std::string, std::vector<Item>> groups;
  for (const auto& it : items) groups[it.body_part].push_back(it);
  return groups;
}

/// compute_binary_metrics over all items (ImagePrediction, StudyPrediction, ...).
template <class Item>
BinaryMetrics metrics_of(const std::vector<Item>& items, double threshold = 0.5) {
  std::vector<int> labels;
  std::vector<double> scores;
  labels_and_scores(items, labels, scores);
  return compute_binary_metrics(labels, scores, threshold);
}

/// compute_binary_metrics for each body part, keyed and sorted by body part name. A part
/// with one class only gets its undefined AUROC/kappa as NaN with a reason, never an error;
/// invalid input throws mura::Error prefixed with "body part <name>: ".
template <class Item>
std::map<std::string, BinaryMetrics> per_body_part(const std::vector<Item>& items,
                                                   double threshold = 0.5) {
  std::map<std::string, BinaryMetrics> out;
  for (const auto& [part, group] : group_by_body_part(items)) {
    try {
      out.emplace(part, metrics_of(group, threshold));
    } catch (...) {
      rethrow_with_context("body part " + part);
    }
  }
  return out;
}

}  // namespace mura::eval
