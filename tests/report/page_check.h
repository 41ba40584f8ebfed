#pragma once
// Checks a report page (as written, or as Chromium's DOM after its scripts ran) against
// the metrics.json it claims to show.
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace mura::test {

/// One <span class="num" data-metric=... data-value=... data-digits=...>text</span>.
struct PageNumber {
  std::string pointer, value, digits, text;
};

/// Every tagged number of the page, in order.
std::vector<PageNumber> page_numbers(const std::string& html);

/// Compares each tagged number with metrics.json independently of the report's code: the
/// pointer must exist; a float's data-value must read back as exactly the file's double and
/// its text be printf("%.<digits>f"); an integer's text and value its decimal digits; null
/// "n/a". Returns one line per mismatch (empty: all equal).
std::vector<std::string> check_page_numbers(const std::string& html, const nlohmann::json& metrics);

/// The attributes of the element with id="<id>" (name -> value), empty when absent.
std::map<std::string, std::string> element_attributes(const std::string& html,
                                                      const std::string& id);

/// How often `part` occurs in `s`.
std::size_t count_of(const std::string& s, const std::string& part);

}  // namespace mura::test
