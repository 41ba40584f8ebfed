#pragma once
/// Name tables: the one list of the names an enum-valued option accepts.
///
/// The library owns each table (loss_names() in train/loss.h, cache_mode_names() in
/// data/loader.h ...); the CLI takes its allowed values and help text from the same table,
/// so the command line can never accept a name the library refuses, or the reverse.
/// Matching is case-insensitive and treats '_' like '-' ("weighted_bce" = "weighted-bce");
/// aliases parse to the same value but are not listed in help.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mura/util/error.h"

namespace mura {

/// "a, b or c".
inline std::string join_choices(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += names[i];
  }
  return out;
}

template <class E>
class NameTable {
 public:
  struct Entry {
    E value;
    std::string name;                  ///< canonical: what is written and shown
    std::vector<std::string> aliases;  ///< also accepted
  };

  /// `what` names the option in errors ("--loss").
  NameTable(std::string what, std::vector<Entry> entries)
      : what_(std::move(what)), entries_(std::move(entries)) {}

  /// The value for `name`; throws mura::Error "--loss: expected a, b or c, got 'x'".
  E parse(std::string_view name) const {
    const std::string key = normalise(name);
    for (const auto& e : entries_) {
      if (normalise(e.name) == key) return e.value;
      for (const auto& a : e.aliases)
        if (normalise(a) == key) return e.value;
    }
    throw Error(what_ + ": expected " + join_choices(choices()) + ", got '" + std::string(name) +
                "'");
  }
  /// The canonical name of `name` (parse, then name): what options structs store.
  std::string canonical(std::string_view name) const { return this->name(parse(name)); }
  /// True when `name` parses.
  bool accepts(std::string_view name) const {
    const std::string key = normalise(name);
    for (const auto& e : entries_) {
      if (normalise(e.name) == key) return true;
      for (const auto& a : e.aliases)
        if (normalise(a) == key) return true;
    }
    return false;
  }
  const std::string& name(E value) const {
    for (const auto& e : entries_)
      if (e.value == value) return e.name;
    throw InternalError(what_ + ": a value without a name in its table");
  }
  /// The canonical names, in table order.
  std::vector<std::string> choices() const {
    std::vector<std::string> out;
    for (const auto& e : entries_) out.push_back(e.name);
    return out;
  }
  const std::string& what() const { return what_; }

 private:
  static std::string normalise(std::string_view s) {
    std::string out(s);
    for (auto& c : out) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c == '_') c = '-';
    }
    return out;
  }
  std::string what_;
  std::vector<Entry> entries_;
};

}  // namespace mura
