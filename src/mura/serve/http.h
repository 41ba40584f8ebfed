#pragma once
/// The HTTP edge: one small interface over Debian's cpp-httplib (0.11.4), hardened for what
/// that version lacks. httplib.h is included by http.cpp only.
///
/// Before any body is read (the pre-routing handler), every request is checked, in order:
///   Host header a loopback name when bound to loopback (DNS rebinding)      -> 403
///   the bearer token, compared in constant time, when one is set            -> 401
///   Transfer-Encoding (chunked bodies are otherwise unbounded)              -> 411
///   Content-Encoding (compressed bodies are otherwise unbounded)            -> 415
///   a POST without Content-Length                                            -> 411
///   Content-Length over the payload limit                                    -> 413
/// Errors are `{"error": "..."}` JSON with the status. An exception in a handler becomes a
/// 500 whose body says only "internal error" (its text goes to the log, never to a client).
/// Nothing is served from the file system. Every answer carries X-Request-Id (the client's,
/// when it is 1-64 characters of [A-Za-z0-9._-], else a generated one).
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mura::serve {

struct UploadedFile {
  std::string field, filename, content_type, content;
};

struct HttpRequest {
  std::string method, path, body, content_type, request_id;
  std::map<std::string, std::string> query;  ///< the first value of each query parameter
  std::vector<std::string> path_params;      ///< the route pattern's capture groups
  std::vector<UploadedFile> files;           ///< multipart/form-data parts, in order
  std::chrono::steady_clock::time_point arrived;
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  int batch_size = 0;  ///< for the access log: the forward pass that answered it
};

/// `{"error": message}` with `status`.
HttpResponse error_response(int status, const std::string& message);

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

/// One access-log line's fields: never a file name, image content or header value.
struct AccessRecord {
  std::string request_id, method, route;
  int status = 0;
  std::size_t bytes_in = 0, bytes_out = 0;
  double seconds = 0;  ///< from arrival to the answer being ready (its write not included)
  int batch_size = 0;
};

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  ///< 0: any free port (bind() says which)
  std::size_t max_body_bytes = 20u << 20;
  int read_timeout_s = 10, write_timeout_s = 10;  ///< against slow clients
  int threads = 8;                                ///< HTTP worker threads
  std::string token;        ///< non-empty: `Authorization: Bearer TOKEN` required
  std::string cors_origin;  ///< non-empty: Access-Control-Allow-Origin for that origin only
  /// Routes that need no token (health probes, the page itself: it asks for the token).
  std::vector<std::string> public_routes;
};

/// True for 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_host(const std::string& host);
/// Constant-time comparison (the time depends on the lengths only).
bool equal_constant_time(const std::string& a, const std::string& b);

class HttpServer {
 public:
  explicit HttpServer(HttpOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Routes: `pattern` is a full-path regular expression; `name` is what logs and metrics
  /// call it (the pattern's readable form, never the request's raw path).
  void get(const std::string& pattern, const std::string& name, HttpHandler handler);
  void post(const std::string& pattern, const std::string& name, HttpHandler handler);
  /// Called once per answered request (access log, metrics), on the HTTP thread, before the
  /// answer is written: a client that then asks GET /metrics finds its request counted.
  void on_access(std::function<void(const AccessRecord&)> log);
  /// Called with the text of an exception a handler threw (never sent to the client).
  void on_exception(std::function<void(const std::string&)> log);

  /// Binds the listening socket; returns the port. Throws mura::Error naming --host/--port.
  int bind();
  /// Serves until stop(); returns after the listener closed and in-flight requests finished.
  void listen();
  /// Closes the listener (from any thread); in-flight requests complete.
  void stop();
  /// One request given as the bytes a client would send (request line, headers, body),
  /// answered through the same parsing, checks, routes and logs as a socket's, without a
  /// socket; returns the bytes of the response. For the fuzz harness and tests.
  std::string handle_raw(std::string_view request);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mura::serve
