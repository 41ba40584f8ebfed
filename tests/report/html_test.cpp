// The HTML building blocks: escaping, base64, JSON pointer tokens, number text.
#include "mura/report/html.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "mura/util/rng.h"

namespace mura::report {
namespace {

TEST(Html, EscapesEveryCharacterThatCouldBreakOutOfTextOrAnAttribute) {
  EXPECT_EQ(html_escape("MURA/valid/XR_<HAND>/a&b \"x\" 'y'.png"),
            "MURA/valid/XR_&lt;HAND&gt;/a&amp;b &quot;x&quot; &#39;y&#39;.png");
  EXPECT_EQ(html_escape("<script>alert(1)</script>"), "&lt;script&gt;alert(1)&lt;/script&gt;");
  EXPECT_EQ(html_escape("plain/ü/path"), "plain/ü/path") << "UTF-8 passes through";
  EXPECT_EQ(html_escape(""), "");
}

TEST(Html, Base64MatchesRfc4648TestVectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode(std::string("\xff\xfe\x00\x80", 4)), "//4AgA==");
  EXPECT_EQ(data_uri("image/jpeg", "foo"), "data:image/jpeg;base64,Zm9v");
}

TEST(Html, JsonPointerTokensEscapeTildeAndSlash) {
  EXPECT_EQ(json_pointer_token("macro avg"), "macro avg");
  EXPECT_EQ(json_pointer_token("a/b~c"), "a~1b~0c");
  const nlohmann::json j = {{"a/b~c", 3}};
  EXPECT_EQ(j.at(nlohmann::json::json_pointer("/" + json_pointer_token("a/b~c"))), 3);
}

TEST(Html, ExactTextReadsBackAsTheSameDouble) {
  Rng rng(5);
  for (int i = 0; i < 1000; ++i) {
    const double v = rng.uniform() * std::pow(10.0, static_cast<double>(rng.below(7)) - 3.0);
    EXPECT_EQ(std::stod(exact(v)), v) << exact(v);
    EXPECT_EQ(nlohmann::json::parse(exact(v)).get<double>(), v);
  }
  EXPECT_EQ(exact(std::nan("")), "null");
  EXPECT_EQ(fixed(0.123456, 4), "0.1235");
  EXPECT_EQ(fixed(std::nan(""), 4), "n/a");
  EXPECT_EQ(fixed(2.0, 0), "2");
}

}  // namespace
}  // namespace mura::report
