#pragma once
/// The KServe v2 / Open Inference Protocol's JSON messages, as mura speaks them
/// (https://kserve.github.io/website/ "Open Inference Protocol (V2)"; Triton speaks the same):
///
///   GET  /v2                      server metadata {name, version, extensions}
///   GET  /v2/models/{name}        model metadata {name, versions, platform, inputs, outputs}
///   POST /v2/models/{name}/infer  {"id"?, "inputs": [{"name", "shape", "datatype", "data"}]}
///
/// Inputs mura takes (one per request):
///   "image"  BYTES [B]          each element an encoded image (PNG, JPEG or DICOM) in base64
///   "pixels" FP32  [B,3,H,W]    normalised pixels (data flat, row-major, or nested)
/// Output: "probability" FP32 [B], P(abnormal) per image; the request's "id" is echoed.
/// Parse errors are mura::Error naming the JSON field (`inputs[0].shape`).
#include <cstdint>
#include <string>
#include <vector>

namespace mura::serve {

struct InferInput {
  std::string name, datatype;
  std::vector<std::int64_t> shape;
  std::vector<std::string> bytes;  ///< BYTES: decoded from base64
  std::vector<float> fp32;         ///< FP32: flattened
};

struct InferRequest {
  std::string id;  ///< empty when the request had none
  std::vector<InferInput> inputs;
};

/// Parses and checks an infer request body; `max_elements` bounds FP32 data and BYTES counts.
InferRequest parse_infer_request(const std::string& body, std::size_t max_elements);

/// The infer response body.
std::string infer_response(const std::string& model, const std::string& version,
                           const std::string& id, const std::vector<double>& probabilities);

/// GET /v2/models/{name}: `size` is the model's input side (the FP32 input is [-1,3,size,size]).
std::string model_metadata(const std::string& model, const std::string& version,
                           const std::string& platform, int size);

/// GET /v2.
std::string server_metadata(const std::string& version);

/// RFC 4648 base64 (padding optional, no whitespace); throws mura::Error naming `field`.
std::string base64_decode(const std::string& text, const std::string& field);

}  // namespace mura::serve
