#include "mura/serve/http.h"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <thread>

#include "mura/util/error.h"

namespace mura::serve {

namespace {

using Clock = std::chrono::steady_clock;

struct Route {
  std::string method, name;
  std::regex pattern;
};

/// What one request carries from the pre-routing check to its answer: httplib runs the
/// pre-routing handler, the route or error handler and the logger of one request on one
/// thread. The logger empties it, so nothing carries over to the connection's next request.
struct InFlight {
  Clock::time_point arrived;
  std::string request_id, route;
  int batch_size = 0;
  bool started = false;    ///< check() ran (a request httplib could not parse skips it)
  bool accounted = false;  ///< the access callback has seen it
};
thread_local InFlight t_request;

bool valid_request_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (unsigned char c : id)
    if (!std::isalnum(c) && c != '.' && c != '_' && c != '-') return false;
  return true;
}

std::string new_request_id() {
  static std::atomic<unsigned long long> counter{0};
  static const unsigned long long salt = std::random_device{}();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08llx-%06llx", salt & 0xffffffffULL, ++counter & 0xffffffULL);
  return buf;
}

/// The host part of a Host header: "[::1]:8080" -> "::1", "localhost:80" -> "localhost".
std::string host_of(const std::string& header) {
  if (!header.empty() && header[0] == '[') {
    const auto end = header.find(']');
    return end == std::string::npos ? header : header.substr(1, end - 1);
  }
  const auto colon = header.find(':');
  return colon == std::string::npos ? header : header.substr(0, colon);
}

void set_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(nlohmann::json{{"error", message}}.dump(), "application/json");
}

}  // namespace

HttpResponse error_response(int status, const std::string& message) {
  HttpResponse r;
  r.status = status;
  r.body = nlohmann::json{{"error", message}}.dump();
  return r;
}

bool is_loopback_host(const std::string& host) {
  std::string h = host;
  for (auto& c : h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (h == "localhost" || h == "::1" || h == "0:0:0:0:0:0:0:1") return true;
  return h.rfind("127.", 0) == 0 && h.find_first_not_of("0123456789.") == std::string::npos;
}

bool equal_constant_time(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::size_t n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff = static_cast<unsigned char>(diff | (x ^ y));
  }
  return diff == 0;
}

/// One connection's bytes in memory: what handle_raw() feeds to httplib's request processing
/// (the same code a socket's bytes go through), with the answer collected.
class MemoryStream : public httplib::Stream {
 public:
  explicit MemoryStream(std::string_view in) : in_(in) {}
  bool is_readable() const override { return true; }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, size_t size) override {
    const size_t n = std::min(size, in_.size() - at_);
    std::memcpy(ptr, in_.data() + at_, n);
    at_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    out_.append(ptr, size);
    return static_cast<ssize_t>(size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 40000;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 8080;
  }
  socket_t socket() const override { return INVALID_SOCKET; }
  std::string& out() { return out_; }

 private:
  std::string_view in_;
  size_t at_ = 0;
  std::string out_;
};

/// httplib's Server with its protected per-request entry point opened to handle_raw().
class InProcessServer : public httplib::Server {
 public:
  std::string handle(std::string_view bytes) {
    MemoryStream stream(bytes);
    bool closed = false;
    process_request(stream, true, closed, nullptr);
    return std::move(stream.out());
  }
};

struct HttpServer::Impl {
  HttpOptions options;
  InProcessServer server;
  std::vector<Route> routes;
  std::function<void(const AccessRecord&)> access;
  std::function<void(const std::string&)> exception_log;
  bool loopback = true;
  std::mutex state;  ///< guards the two flags below
  bool listening = false, stop_requested = false;

  const Route* match(const std::string& method, const std::string& path) const {
    for (const auto& r : routes)
      if (r.method == method && std::regex_match(path, r.pattern)) return &r;
    return nullptr;
  }
  bool is_public(const std::string& name) const {
    return std::find(options.public_routes.begin(), options.public_routes.end(), name) !=
           options.public_routes.end();
  }

  /// Gives a request that never reached check() (httplib answered it: unparsable, too
  /// long) its own id and time instead of the previous request's.
  void start(const httplib::Request& req) const {
    if (t_request.started) return;
    t_request = InFlight{};
    t_request.started = true;
    t_request.arrived = Clock::now();
    t_request.request_id = new_request_id();
    const Route* route = match(req.method, req.path);
    t_request.route = route ? route->name : "unmatched";
  }

  /// The access record, once per request, before the response is written: a client that
  /// reads /metrics after its answer came sees the request counted.
  void account(const httplib::Request& req, const httplib::Response& res) const {
    start(req);
    if (t_request.accounted) return;
    t_request.accounted = true;
    if (!access) return;
    AccessRecord a;
    a.request_id = t_request.request_id;
    a.method = req.method;
    a.route = t_request.route;
    a.status = res.status;
    a.bytes_in = req.body.size();
    a.bytes_out = res.body.size();
    a.seconds = std::chrono::duration<double>(Clock::now() - t_request.arrived).count();
    a.batch_size = t_request.batch_size;
    access(a);
  }

  /// Every answer passes here last (route, rejection, error and exception handlers).
  void finish(const httplib::Request& req, httplib::Response& res) const {
    start(req);
    if (!res.has_header("X-Request-Id")) res.set_header("X-Request-Id", t_request.request_id);
    if (!options.cors_origin.empty() && req.get_header_value("Origin") == options.cors_origin &&
        !res.has_header("Access-Control-Allow-Origin")) {
      res.set_header("Access-Control-Allow-Origin", options.cors_origin);
      res.set_header("Vary", "Origin");
    }
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Cache-Control", "no-store");
    account(req, res);
  }

  httplib::Server::HandlerResponse check(const httplib::Request& req, httplib::Response& res) {
    t_request = InFlight{};
    t_request.started = true;
    t_request.arrived = Clock::now();
    const std::string given = req.get_header_value("X-Request-Id");
    t_request.request_id = valid_request_id(given) ? given : new_request_id();
    const Route* route = match(req.method, req.path);
    t_request.route = route ? route->name : "unmatched";
    auto reject = [&](int status, const std::string& message) {
      set_error(res, status, message);
      finish(req, res);
      return httplib::Server::HandlerResponse::Handled;
    };
    if (loopback && req.has_header("Host") &&
        !is_loopback_host(host_of(req.get_header_value("Host"))))
      return reject(403, "the Host header must name this loopback address (DNS rebinding guard)");
    if (!options.token.empty() && !(route && is_public(route->name)) && req.method != "OPTIONS") {
      const std::string auth = req.get_header_value("Authorization");
      std::string scheme = auth.substr(0, 7);  // the scheme is case-insensitive (RFC 9110)
      for (auto& ch : scheme) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (scheme != "bearer " || !equal_constant_time(auth.substr(7), options.token)) {
        reject(401, "missing or wrong bearer token (Authorization: Bearer ...)");
        res.set_header("WWW-Authenticate", "Bearer");
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    if (req.has_header("Transfer-Encoding"))
      return reject(411, "Transfer-Encoding is not accepted: send the body with Content-Length");
    if (req.has_header("Content-Encoding"))
      return reject(415, "Content-Encoding is not accepted: send the body uncompressed");
    const bool has_length = req.has_header("Content-Length");
    if ((req.method == "POST" || req.method == "PUT") && !has_length)
      return reject(411, "a POST needs a Content-Length header");
    if (has_length) {
      const std::string v = req.get_header_value("Content-Length");
      if (v.empty() || v.size() > 19 || v.find_first_not_of("0123456789") != std::string::npos)
        return reject(400, "Content-Length is not a number");
      if (std::stoull(v) > options.max_body_bytes)
        return reject(413, "the body is over the limit of " +
                               std::to_string(options.max_body_bytes >> 20) +
                               " MB (--max-body-mb)");
    }
    if (req.method == "OPTIONS" && !options.cors_origin.empty()) {
      res.status = 204;
      res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
      res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Request-Id");
      finish(req, res);
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  }

  httplib::Server::Handler wrap(HttpHandler handler) {
    return [this, handler](const httplib::Request& req, httplib::Response& res) {
      HttpRequest r;
      r.method = req.method;
      r.path = req.path;
      r.body = req.body;
      r.content_type = req.get_header_value("Content-Type");
      r.request_id = t_request.request_id;
      r.arrived = t_request.arrived;
      for (const auto& [k, v] : req.params) r.query.emplace(k, v);
      for (std::size_t i = 1; i < req.matches.size(); ++i) r.path_params.push_back(req.matches[i]);
      for (const auto& [field, f] : req.files)
        r.files.push_back({field, f.filename, f.content_type, f.content});
      const HttpResponse out = handler(r);
      res.status = out.status;
      res.set_content(out.body, out.content_type.c_str());
      for (const auto& [k, v] : out.headers) res.set_header(k.c_str(), v);
      t_request.batch_size = out.batch_size;
      finish(req, res);
    };
  }
};

HttpServer::HttpServer(HttpOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  Impl& im = *impl_;
  im.loopback = is_loopback_host(im.options.host);
  auto& s = im.server;
  const int threads = std::max(1, im.options.threads);
  s.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  s.set_payload_max_length(im.options.max_body_bytes);
  s.set_read_timeout(im.options.read_timeout_s, 0);
  s.set_write_timeout(im.options.write_timeout_s, 0);
  s.set_keep_alive_timeout(5);
  s.set_pre_routing_handler(
      [&im](const httplib::Request& req, httplib::Response& res) { return im.check(req, res); });
  s.set_error_handler([&im](const httplib::Request& req, httplib::Response& res) {
    if (res.body.empty()) {
      const int st = res.status;
      set_error(res, st,
                st == 404   ? "no such route: see GET /v2 and the README"
                : st == 413 ? "the body is over the limit (--max-body-mb)"
                : st == 400 ? "malformed request"
                            : "request refused");
      res.status = st;
    }
    im.finish(req, res);
  });
  s.set_exception_handler(
      [&im](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        if (im.exception_log) im.exception_log(t_request.request_id + ": " + what);
        set_error(res, 500, "internal error (request " + t_request.request_id + ")");
        im.finish(req, res);
      });
  // After the write: only what bypassed finish() is accounted here; then the thread forgets
  // the request.
  s.set_logger([&im](const httplib::Request& req, const httplib::Response& res) {
    im.account(req, res);
    t_request = InFlight{};
  });
}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::get(const std::string& pattern, const std::string& name, HttpHandler handler) {
  impl_->routes.push_back({"GET", name, std::regex(pattern)});
  impl_->server.Get(pattern, impl_->wrap(std::move(handler)));
}

void HttpServer::post(const std::string& pattern, const std::string& name, HttpHandler handler) {
  impl_->routes.push_back({"POST", name, std::regex(pattern)});
  impl_->server.Post(pattern, impl_->wrap(std::move(handler)));
}

void HttpServer::on_access(std::function<void(const AccessRecord&)> log) {
  impl_->access = std::move(log);
}

void HttpServer::on_exception(std::function<void(const std::string&)> log) {
  impl_->exception_log = std::move(log);
}

int HttpServer::bind() {
  const auto& o = impl_->options;
  if (o.port < 0 || o.port > 65535)
    throw Error("--port: " + std::to_string(o.port) + " is not a port number (0-65535)");
  if (o.port == 0) {
    const int port = impl_->server.bind_to_any_port(o.host);
    if (port < 0) throw Error("--host: cannot listen on " + o.host);
    return port;
  }
  if (!impl_->server.bind_to_port(o.host, o.port))
    throw Error("--port: cannot listen on " + o.host + ":" + std::to_string(o.port) +
                " (in use, or --host is not an address of this machine)");
  return o.port;
}

std::string HttpServer::handle_raw(std::string_view request) {
  return impl_->server.handle(request);
}

void HttpServer::listen() {
  {
    std::lock_guard<std::mutex> lock(impl_->state);
    if (impl_->stop_requested) return;  // stop() came first (a signal during start-up)
    impl_->listening = true;
  }
  impl_->server.listen_after_bind();
}

void HttpServer::stop() {
  if (!impl_) return;
  {
    std::lock_guard<std::mutex> lock(impl_->state);
    impl_->stop_requested = true;
    if (!impl_->listening) return;  // listen() will return at once
  }
  // listen() may not have reached httplib's loop yet: wait for it (briefly), then stop it.
  for (int i = 0; i < 400 && !impl_->server.is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  impl_->server.stop();
}

}  // namespace mura::serve
