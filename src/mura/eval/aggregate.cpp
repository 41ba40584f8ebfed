#include "mura/eval/aggregate.h"

#include <cmath>
#include <unordered_map>

namespace mura::eval {
namespace {

/// Items are named by their index in the input ("item 3"): callers know what it refers to.
std::string item(std::size_t index) {
  return "item " + std::to_string(index);
}

}  // namespace

std::vector<StudyPrediction> aggregate_studies(const std::vector<ImagePrediction>& images) {
  std::vector<StudyPrediction> studies;
  std::vector<double> sums;
  std::vector<std::size_t> first_item;  // index of each study's first image, for messages
  std::unordered_map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < images.size(); ++i) {
    const ImagePrediction& p = images[i];
    if (p.study.empty()) throw Error("aggregate studies: " + item(i) + " has an empty study id");
    const std::string where = "study '" + p.study + "'";
    if (p.label != 0 && p.label != 1)
      throw Error(where + ": " + item(i) + " has label " + std::to_string(p.label) +
                  ", expected 0 or 1");
    if (!std::isfinite(p.probability))
      throw Error(where + ": " + item(i) + " has a probability that is not finite (" +
                  std::to_string(p.probability) + ")");
    const auto [it, inserted] = index.emplace(p.study, studies.size());
    if (inserted) {
      studies.push_back({p.study, p.body_part, p.label, 0.0, 0});
      sums.push_back(0.0);
      first_item.push_back(i);
    }
    const std::size_t s = it->second;
    StudyPrediction& st = studies[s];
    if (p.label != st.label)
      throw Error(where + ": its images disagree on the label (" + item(first_item[s]) + " has " +
                  std::to_string(st.label) + ", " + item(i) + " has " + std::to_string(p.label) +
                  ")");
    if (p.body_part != st.body_part)
      throw Error(where + ": its images disagree on the body part (" + item(first_item[s]) +
                  " has '" + st.body_part + "', " + item(i) + " has '" + p.body_part + "')");
    sums[s] += p.probability;
    ++st.n_images;
  }
  for (std::size_t s = 0; s < studies.size(); ++s)
    studies[s].probability = sums[s] / static_cast<double>(studies[s].n_images);
  return studies;
}

}  // namespace mura::eval
