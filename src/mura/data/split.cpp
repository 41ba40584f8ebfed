#include "mura/data/split.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <unordered_set>

#include "mura/util/error.h"
#include "mura/util/rng.h"

namespace mura::data {

PatientSplit split_patients(const Dataset& ds, const SplitOptions& options) {
  if (!(options.val_fraction >= 0.0 && options.val_fraction < 1.0))
    throw Error("validation fraction must be in [0, 1), got " +
                std::to_string(options.val_fraction));
  // Stratum of each patient: body part of their first study (index order).
  std::map<std::string, std::string> stratum_of;
  for (const auto& st : ds.studies)
    if (st.split == options.source) stratum_of.emplace(st.patient_id, st.body_part);
  if (stratum_of.empty())
    throw Error(std::string("cannot split: the data set has no '") + split_name(options.source) +
                "' images");
  std::map<std::string, std::vector<std::string>> strata;  // sorted by part, patients sorted
  for (const auto& [patient, part] : stratum_of) strata[part].push_back(patient);

  Rng rng(mix_seed({options.seed, 0x5350'4C49'54ULL /* "SPLIT" */}));
  std::unordered_set<std::string> val;
  for (auto& [part, patients] : strata) {
    rng.shuffle(patients);
    const auto n_val = static_cast<std::size_t>(
        std::llround(options.val_fraction * static_cast<double>(patients.size())));
    for (std::size_t i = 0; i < n_val; ++i) val.insert(patients[i]);
  }
  PatientSplit out;
  std::set<std::string> tp, vp;
  for (std::size_t i = 0; i < ds.images.size(); ++i) {
    const auto& rec = ds.images[i];
    if (rec.split != options.source) continue;
    if (val.count(rec.patient_id)) {
      out.val_images.push_back(i);
      vp.insert(rec.patient_id);
    } else {
      out.train_images.push_back(i);
      tp.insert(rec.patient_id);
    }
  }
  out.train_patients.assign(tp.begin(), tp.end());
  out.val_patients.assign(vp.begin(), vp.end());
  return out;
}

}  // namespace mura::data
