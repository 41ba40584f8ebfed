#pragma once
/// Small string helpers shared by the parsers and the command line.
#include <string>
#include <string_view>
#include <vector>

namespace mura {

std::string to_upper(std::string_view s);
std::string to_lower(std::string_view s);
std::string_view trim(std::string_view s);
/// Splits on `sep`, keeping empty fields ("a,,b" -> {"a", "", "b"}).
std::vector<std::string> split(std::string_view s, char sep);
/// Joins with `sep`.
std::string join(const std::vector<std::string>& parts, std::string_view sep);
/// A CSV field: quoted (with doubled quotes) when it holds a comma, quote or newline.
std::string csv_escape(const std::string& field);
bool starts_with(std::string_view s, std::string_view prefix);
bool ends_with(std::string_view s, std::string_view suffix);

}  // namespace mura
