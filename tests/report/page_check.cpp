#include "page_check.h"

#include <cstdio>

namespace mura::test {

namespace {

/// Text with the character references an HTML serializer writes turned back into characters.
std::string unescape(const std::string& s) {
  static const std::pair<const char*, char> refs[] = {{"&amp;", '&'},  {"&lt;", '<'},
                                                      {"&gt;", '>'},   {"&quot;", '"'},
                                                      {"&#39;", '\''}, {"&#x27;", '\''}};
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    bool replaced = false;
    if (s[i] == '&')
      for (const auto& [ref, c] : refs)
        if (s.compare(i, std::char_traits<char>::length(ref), ref) == 0) {
          out += c;
          i += std::char_traits<char>::length(ref);
          replaced = true;
          break;
        }
    if (!replaced) out += s[i++];
  }
  return out;
}

/// The value of attribute `name` inside one tag's text (unescaped), or "" (and found = false).
std::string attribute(const std::string& tag, const std::string& name, bool& found) {
  const std::string key = " " + name + "=\"";
  const auto at = tag.find(key);
  found = at != std::string::npos;
  if (!found) return "";
  const auto start = at + key.size();
  return unescape(tag.substr(start, tag.find('"', start) - start));
}

}  // namespace

std::vector<PageNumber> page_numbers(const std::string& html) {
  std::vector<PageNumber> out;
  const std::string open = "<span class=\"num\"";
  for (auto at = html.find(open); at != std::string::npos; at = html.find(open, at + 1)) {
    const auto tag_end = html.find('>', at);
    const std::string tag = html.substr(at, tag_end - at);
    bool f1, f2, f3;
    PageNumber n;
    n.pointer = attribute(tag, "data-metric", f1);
    n.value = attribute(tag, "data-value", f2);
    n.digits = attribute(tag, "data-digits", f3);
    if (!(f1 && f2 && f3)) continue;
    n.text = unescape(html.substr(tag_end + 1, html.find('<', tag_end) - tag_end - 1));
    out.push_back(n);
  }
  return out;
}

std::vector<std::string> check_page_numbers(const std::string& html,
                                            const nlohmann::json& metrics) {
  std::vector<std::string> bad;
  for (const auto& n : page_numbers(html)) {
    const nlohmann::json::json_pointer p(n.pointer);
    const std::string where =
        n.pointer + " (text '" + n.text + "', data-value '" + n.value + "'): ";
    if (!metrics.contains(p)) {
      bad.push_back(where + "not in metrics.json");
      continue;
    }
    const auto& v = metrics.at(p);
    if (v.is_null()) {
      if (n.value != "null" || n.text != "n/a") bad.push_back(where + "metrics.json has null");
    } else if (v.is_number_integer() || v.is_number_unsigned()) {
      if (n.value != v.dump() || n.text != v.dump())
        bad.push_back(where + "metrics.json has " + v.dump());
    } else if (v.is_number_float()) {
      char text[64];
      std::snprintf(text, sizeof text, "%.*f", std::stoi(n.digits), v.get<double>());
      if (std::stod(n.value) != v.get<double>() || n.text != text)
        bad.push_back(where + "metrics.json has " + v.dump() + ", expected text '" + text + "'");
    } else {
      bad.push_back(where + "metrics.json has a non-number " + v.dump());
    }
  }
  return bad;
}

std::map<std::string, std::string> element_attributes(const std::string& html,
                                                      const std::string& id) {
  std::map<std::string, std::string> attrs;
  const auto at = html.find("id=\"" + id + "\"");
  if (at == std::string::npos) return attrs;
  const auto start = html.rfind('<', at);
  const std::string tag = html.substr(start, html.find('>', at) - start);
  std::size_t i = tag.find(' ');
  while (i != std::string::npos && i < tag.size()) {
    const auto eq = tag.find("=\"", i);
    if (eq == std::string::npos) break;
    const std::string name = tag.substr(i + 1, eq - i - 1);
    const auto end = tag.find('"', eq + 2);
    attrs[name] = unescape(tag.substr(eq + 2, end - eq - 2));
    i = tag.find(' ', end);
  }
  return attrs;
}

std::size_t count_of(const std::string& s, const std::string& part) {
  std::size_t n = 0;
  for (auto p = s.find(part); p != std::string::npos; p = s.find(part, p + part.size())) ++n;
  return n;
}

}  // namespace mura::test
