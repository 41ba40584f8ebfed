#pragma once
/// The report page's sections, each a piece of HTML drawn from the content it is given
/// (report/report.h's ReportContent); render_html puts them together.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mura/report/report.h"

namespace mura::report {

// ---- numbers from metrics.json (by JSON pointer)
/// The value at `pointer`, or null when absent.
const nlohmann::json* find(const nlohmann::json& root, const std::string& pointer);
/// The number at `pointer`; NaN when absent or not a number.
double number_at(const nlohmann::json& root, const std::string& pointer);
/// A number as <span data-metric=POINTER data-value=EXACT>rounded</span>.
std::string metric(const nlohmann::json& root, const std::string& pointer, int digits = 4);
/// The value at `pointer` as text (strings unquoted, arrays joined).
std::string text_at(const nlohmann::json& m, const std::string& pointer);

// ---- the sections, in page order
std::string identity_section(const ReportContent& c);
std::string headline_section(const nlohmann::json& m);
/// ROC, precision-recall and reliability charts of one level (study or image).
std::string curves_row(const nlohmann::json& m, const std::string& level, const std::string& title,
                       const std::vector<int>& labels, const std::vector<double>& scores);
std::string confusion_section(const nlohmann::json& m);
std::string parts_section(const nlohmann::json& m);
std::string training_section(const ReportContent& c);
std::string gallery_section(const ReportContent& c, const std::vector<ImageRow>& rows,
                            double threshold);

}  // namespace mura::report
