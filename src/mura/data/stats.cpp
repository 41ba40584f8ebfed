#include "mura/data/stats.h"

#include <cstdio>
#include <map>
#include <set>
#include <sstream>

namespace mura::data {

std::vector<StatsRow> compute_stats(const Dataset& ds) {
  struct Acc {
    Counts c;
    std::set<std::string> patients;
  };
  // key: (split, part); split "all" and part "ALL" aggregate.
  std::map<std::pair<std::string, std::string>, Acc> acc;
  auto add = [&](const std::string& split, const std::string& part, auto&& f) {
    f(acc[{split, part}]);
  };
  for (const auto& st : ds.studies) {
    const std::string sp = split_name(st.split);
    for (const std::string& s : {sp, std::string("all")})
      for (const std::string& p : {st.body_part, std::string("ALL")})
        add(s, p, [&](Acc& a) {
          if (st.label < 0) {
            a.c.unlabeled_studies += 1;
            a.c.unlabeled_images += st.images.size();
          } else {
            a.c.studies[st.label] += 1;
            a.c.images[st.label] += st.images.size();
          }
          a.patients.insert(st.patient_id);
        });
  }
  const bool both = ds.has_split(Split::Train) && ds.has_split(Split::Valid);
  std::vector<StatsRow> rows;
  for (const std::string split : {"train", "valid", "all"}) {
    if (split == "all" && !both) continue;
    for (auto& [key, a] : acc) {
      if (key.first != split || key.second == "ALL") continue;
      a.c.patients = a.patients.size();
      rows.push_back({split, key.second, a.c});
    }
    if (auto it = acc.find({split, "ALL"}); it != acc.end()) {
      it->second.c.patients = it->second.patients.size();
      rows.push_back({split, "ALL", it->second.c});
    }
  }
  return rows;
}

std::string format_stats_table(const std::vector<StatsRow>& rows) {
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof line, "%-6s %-14s %9s | %8s %8s %8s | %8s %8s %8s %9s\n", "split",
                "body part", "patients", "studies", "normal", "abnormal", "images", "normal",
                "abnormal", "abnormal%");
  out << line << std::string(std::char_traits<char>::length(line) - 1, '-') << "\n";
  std::string last_split;
  for (const auto& r : rows) {
    if (!last_split.empty() && r.split != last_split) out << "\n";
    last_split = r.split;
    const auto& c = r.counts;
    const std::size_t labelled = c.images[0] + c.images[1];
    const double pct = labelled ? 100.0 * c.images[1] / labelled : 0.0;
    std::snprintf(line, sizeof line, "%-6s %-14s %9zu | %8zu %8zu %8zu | %8zu %8zu %8zu %8.1f%%\n",
                  r.split.c_str(), r.body_part.c_str(), c.patients, c.total_studies(), c.studies[0],
                  c.studies[1], c.total_images(), c.images[0], c.images[1], pct);
    out << line;
  }
  std::size_t unlabeled = 0;
  for (const auto& r : rows) unlabeled += r.counts.unlabeled_studies;
  if (unlabeled) {
    out << "\nunlabelled (no --labels entry; in the totals, not in normal/abnormal):\n";
    for (const auto& r : rows)
      if (r.counts.unlabeled_studies) {
        std::snprintf(line, sizeof line, "%-6s %-14s %8zu studies %8zu images\n", r.split.c_str(),
                      r.body_part.c_str(), r.counts.unlabeled_studies, r.counts.unlabeled_images);
        out << line;
      }
  }
  return out.str();
}

}  // namespace mura::data
