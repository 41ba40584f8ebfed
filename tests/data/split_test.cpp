#include "mura/data/split.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "../test_util.h"
#include "mura/util/error.h"

namespace mura::data {
namespace {

/// An in-memory data set: `per_part` patients in each of three parts, 1-3 images each,
/// plus one patient with studies in two parts.
Dataset synthetic_index(int per_part) {
  Dataset ds;
  ds.root_name = "M";
  int pid = 0;
  auto add_study = [&](const std::string& part, const std::string& patient, int label, int n) {
    StudyRecord s;
    s.mura_path = "M/train/" + part + "/" + patient + "/study1/";
    s.split = Split::Train;
    s.body_part = part;
    s.patient_id = patient;
    s.label = label;
    for (int i = 0; i < n; ++i) {
      ImageRecord r;
      r.split = Split::Train;
      r.body_part = part;
      r.patient_id = patient;
      r.label = label;
      r.study = ds.studies.size();
      s.images.push_back(ds.images.size());
      ds.images.push_back(r);
    }
    ds.studies.push_back(s);
  };
  for (const std::string part : {"XR_ELBOW", "XR_HAND", "XR_WRIST"})
    for (int i = 0; i < per_part; ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "patient%05d", ++pid);
      add_study(part, name, i % 3 == 0, 1 + i % 3);
    }
  add_study("XR_ELBOW", "patient99999", 1, 2);
  add_study("XR_WRIST", "patient99999", 0, 1);
  return ds;
}

TEST(Split, NoPatientOnBothSidesAndEveryImageOnOne) {
  const Dataset ds = synthetic_index(40);
  const PatientSplit s = split_patients(ds, {0.15, 1});
  std::set<std::string> train(s.train_patients.begin(), s.train_patients.end());
  for (const auto& p : s.val_patients) EXPECT_FALSE(train.count(p)) << p << " leaks";
  EXPECT_EQ(s.train_images.size() + s.val_images.size(), ds.images.size());
  std::set<std::size_t> all(s.train_images.begin(), s.train_images.end());
  all.insert(s.val_images.begin(), s.val_images.end());
  EXPECT_EQ(all.size(), ds.images.size());
  for (std::size_t i : s.val_images) EXPECT_FALSE(train.count(ds.images[i].patient_id));
}

TEST(Split, FractionHoldsInEveryBodyPartStratum) {
  const Dataset ds = synthetic_index(40);
  for (double f : {0.1, 0.15, 0.3, 0.5}) {
    const PatientSplit s = split_patients(ds, {f, 3});
    std::map<std::string, std::set<std::string>> val_by_part;
    for (std::size_t i : s.val_images)
      val_by_part[ds.images[i].body_part].insert(ds.images[i].patient_id);
    // 40 patients per part (+1 two-part patient counted in XR_ELBOW, its first study).
    EXPECT_EQ(val_by_part["XR_HAND"].size(), static_cast<std::size_t>(std::llround(f * 40)));
    EXPECT_EQ(s.val_patients.size(),
              static_cast<std::size_t>(std::llround(f * 41) + 2 * std::llround(f * 40)));
  }
}

TEST(Split, SameSeedSameSplitDifferentSeedDifferentSplit) {
  const Dataset ds = synthetic_index(40);
  const PatientSplit a = split_patients(ds, {0.15, 42});
  const PatientSplit b = split_patients(ds, {0.15, 42});
  const PatientSplit c = split_patients(ds, {0.15, 43});
  EXPECT_EQ(a.val_images, b.val_images);
  EXPECT_EQ(a.val_patients, b.val_patients);
  EXPECT_NE(a.val_patients, c.val_patients);
}

TEST(Split, IsPlatformIndependent) {
  // The split uses only mura::Rng (exactly specified integer arithmetic), so this list is
  // the same with any compiler or standard library. If it changes, every user's held-out
  // set changes: treat that as a breaking change.
  const Dataset ds = synthetic_index(10);
  const PatientSplit s = split_patients(ds, {0.2, 42});
  EXPECT_EQ(s.val_patients,
            (std::vector<std::string>{"patient00004", "patient00011", "patient00012",
                                      "patient00022", "patient00026", "patient99999"}));
}

TEST(Split, ZeroFractionKeepsEverythingInTrain) {
  const Dataset ds = synthetic_index(5);
  const PatientSplit s = split_patients(ds, {0.0, 1});
  EXPECT_TRUE(s.val_images.empty());
  EXPECT_EQ(s.train_images.size(), ds.images.size());
}

TEST(Split, RejectsBadFractionAndEmptySource) {
  const Dataset ds = synthetic_index(5);
  EXPECT_THROW(split_patients(ds, {1.0, 1}), Error);
  EXPECT_THROW(split_patients(ds, {-0.1, 1}), Error);
  EXPECT_ERROR_CONTAINS(split_patients(ds, {0.15, 1, Split::Valid}), "no 'valid' images");
}

}  // namespace
}  // namespace mura::data
