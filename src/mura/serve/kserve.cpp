#include "mura/serve/kserve.h"

#include <array>
#include <nlohmann/json.hpp>

#include "mura/util/error.h"

namespace mura::serve {

using nlohmann::json;

namespace {

/// Appends the numbers of a (possibly nested) JSON array, depth first.
void flatten(const json& j, std::vector<float>& out, const std::string& field, std::size_t max) {
  if (j.is_array()) {
    for (const auto& e : j) flatten(e, out, field, max);
    return;
  }
  if (!j.is_number()) throw Error(field + ": FP32 data must hold numbers only");
  if (out.size() >= max)
    throw Error(field + ": more than " + std::to_string(max) + " elements (the body limit)");
  out.push_back(j.get<float>());
}

}  // namespace

std::string base64_decode(const std::string& text, const std::string& field) {
  static const auto table = [] {
    std::array<int, 256> t{};
    t.fill(-1);
    const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(a[i])] = i;
    return t;
  }();
  std::size_t n = text.size();
  while (n > 0 && text[n - 1] == '=') --n;
  if (text.size() - n > 2 || n % 4 == 1)
    throw Error(field + ": not base64 (wrong length or padding)");
  std::string out;
  out.reserve(n * 3 / 4);
  unsigned buffer = 0;
  int bits = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const int v = table[static_cast<unsigned char>(text[i])];
    if (v < 0) throw Error(field + ": not base64 (character " + std::to_string(i) + ")");
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  return out;
}

InferRequest parse_infer_request(const std::string& body, std::size_t max_elements) {
  json j;
  try {
    j = json::parse(body);
  } catch (const json::parse_error& e) {
    throw Error("the body is not JSON (byte " + std::to_string(e.byte) + ")");
  } catch (const json::exception&) {
    // e.g. out_of_range 406: a number beyond a double (1e999)
    throw Error("the body is not JSON mura can read (a number out of range)");
  }
  if (!j.is_object()) throw Error("the body must be a JSON object with \"inputs\"");
  InferRequest r;
  if (j.contains("id")) {
    if (!j["id"].is_string()) throw Error("id: must be a string");
    r.id = j["id"].get<std::string>();
    if (r.id.size() > 256) throw Error("id: longer than 256 characters");
  }
  if (!j.contains("inputs") || !j["inputs"].is_array() || j["inputs"].empty())
    throw Error("inputs: a non-empty array is required");
  if (j["inputs"].size() != 1)
    throw Error("inputs: give one input, \"image\" (BYTES) or \"pixels\" (FP32)");
  for (std::size_t k = 0; k < j["inputs"].size(); ++k) {
    const json& in = j["inputs"][k];
    const std::string f = "inputs[" + std::to_string(k) + "]";
    if (!in.is_object()) throw Error(f + ": must be an object");
    InferInput x;
    for (const char* key : {"name", "datatype"})
      if (!in.contains(key) || !in[key].is_string())
        throw Error(f + "." + key + ": a string is required");
    x.name = in["name"].get<std::string>();
    x.datatype = in["datatype"].get<std::string>();
    if (!in.contains("shape") || !in["shape"].is_array() || in["shape"].empty())
      throw Error(f + ".shape: a non-empty array of integers is required");
    for (const auto& d : in["shape"]) {
      if (!d.is_number_integer() || d.get<std::int64_t>() < 0 ||
          d.get<std::int64_t>() > static_cast<std::int64_t>(max_elements))
        throw Error(f + ".shape: dimensions must be integers from 0 to " +
                    std::to_string(max_elements));
      x.shape.push_back(d.get<std::int64_t>());
    }
    if (!in.contains("data")) throw Error(f + ".data: required");
    std::size_t elements = 1;
    for (auto d : x.shape) {
      elements *= static_cast<std::size_t>(d);
      if (elements > max_elements) throw Error(f + ".shape: too many elements");
    }
    if (x.name == "image") {
      if (x.datatype != "BYTES") throw Error(f + ".datatype: \"image\" is BYTES");
      if (x.shape.size() != 1) throw Error(f + ".shape: \"image\" is [B]");
      const json& data = in["data"];
      if (!data.is_array()) throw Error(f + ".data: an array of base64 strings is required");
      for (std::size_t i = 0; i < data.size(); ++i) {
        const std::string fi = f + ".data[" + std::to_string(i) + "]";
        if (!data[i].is_string()) throw Error(fi + ": a base64 string is required");
        x.bytes.push_back(base64_decode(data[i].get<std::string>(), fi));
      }
      if (x.bytes.size() != elements)
        throw Error(f + ".data: " + std::to_string(x.bytes.size()) + " elements for shape [" +
                    std::to_string(x.shape[0]) + "]");
    } else if (x.name == "pixels") {
      if (x.datatype != "FP32") throw Error(f + ".datatype: \"pixels\" is FP32");
      if (x.shape.size() != 4 || x.shape[1] != 3)
        throw Error(f + ".shape: \"pixels\" is [B,3,H,W]");
      flatten(in["data"], x.fp32, f + ".data", max_elements);
      if (x.fp32.size() != elements)
        throw Error(f + ".data: " + std::to_string(x.fp32.size()) + " numbers for a shape of " +
                    std::to_string(elements));
    } else {
      throw Error(f + ".name: unknown input '" + x.name.substr(0, 64) +
                  "' (the model takes \"image\" or \"pixels\")");
    }
    r.inputs.push_back(std::move(x));
  }
  return r;
}

std::string infer_response(const std::string& model, const std::string& version,
                           const std::string& id, const std::vector<double>& probabilities) {
  json data = json::array();
  for (double p : probabilities) data.push_back(static_cast<float>(p));
  json out = {{"model_name", model},
              {"model_version", version},
              {"outputs", json::array({{{"name", "probability"},
                                        {"datatype", "FP32"},
                                        {"shape", {probabilities.size()}},
                                        {"data", data}}})}};
  if (!id.empty()) out["id"] = id;
  return out.dump();
}

std::string model_metadata(const std::string& model, const std::string& version,
                           const std::string& platform, int size) {
  return json{{"name", model},
              {"versions", {version}},
              {"platform", platform},
              {"inputs",
               {{{"name", "image"}, {"datatype", "BYTES"}, {"shape", {-1}}},
                {{"name", "pixels"}, {"datatype", "FP32"}, {"shape", {-1, 3, size, size}}}}},
              {"outputs", {{{"name", "probability"}, {"datatype", "FP32"}, {"shape", {-1}}}}}}
      .dump();
}

std::string server_metadata(const std::string& version) {
  return json{{"name", "mura"}, {"version", version}, {"extensions", json::array()}}.dump();
}

}  // namespace mura::serve
