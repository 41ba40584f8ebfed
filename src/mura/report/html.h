#pragma once
/// Small, safe building blocks for a self-contained HTML page: escaping, base64 data URIs,
/// JSON pointers and number formatting.
#include <string>
#include <string_view>

namespace mura::report {

/// Text for HTML element content and (double-quoted) attribute values: & < > " ' escaped.
std::string html_escape(std::string_view text);

/// RFC 4648 base64 with padding.
std::string base64_encode(std::string_view bytes);

/// "data:<mime>;base64,<bytes in base64>", for <img src>.
std::string data_uri(std::string_view mime, std::string_view bytes);

/// One JSON pointer reference token (RFC 6901): "~" -> "~0", "/" -> "~1".
std::string json_pointer_token(std::string_view key);

/// A number with `digits` decimals ("0.9123"); "n/a" for NaN or infinity.
std::string fixed(double value, int digits = 4);

/// The shortest text that reads back as exactly `value` (what nlohmann::json writes):
/// used for data-value attributes, so a test can compare the page with metrics.json exactly.
std::string exact(double value);

}  // namespace mura::report
