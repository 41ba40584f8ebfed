#include "console.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace mura::cli {

ConsoleSink::ConsoleSink(ConsoleOptions options) : options_(options), tty_(::isatty(2) != 0) {}

void ConsoleSink::end_bar() {
  if (bar_open_) std::fputc('\n', stderr);
  bar_open_ = false;
}

void ConsoleSink::progress(const ProgressEvent& e) {
  if (options_.quiet || !options_.progress || e.total == 0) return;
  if (e.stage != last_stage_ || e.epoch != last_epoch_) {
    last_stage_ = e.stage;
    last_epoch_ = e.epoch;
    last_decile_ = 0;
  }
  const std::size_t decile = e.done * 10 / e.total;
  const bool milestone = decile != last_decile_;
  if (!tty_ && !milestone && e.done != e.total) return;
  last_decile_ = decile;
  const double ips = e.seconds > 0 ? static_cast<double>(e.images) / e.seconds : 0;
  const double eta =
      e.done > 0 ? e.seconds / static_cast<double>(e.done) * static_cast<double>(e.total - e.done)
                 : 0;
  const int width = 24, filled = static_cast<int>(width * e.done / e.total);
  std::string head =
      e.epochs > 0 ? "epoch " + std::to_string(e.epoch) + "/" + std::to_string(e.epochs) : e.stage;
  char loss[32] = "";
  if (!std::isnan(e.loss)) std::snprintf(loss, sizeof loss, " loss %.4f", e.loss);
  std::fprintf(stderr, "%s%s [%s%s] %zu/%zu%s %.1f img/s ETA %d:%02d%s", tty_ ? "\r" : "",
               head.c_str(), std::string(filled, '#').c_str(),
               std::string(width - filled, '.').c_str(), e.done, e.total, loss, ips,
               static_cast<int>(eta) / 60, static_cast<int>(eta) % 60, tty_ ? "" : "\n");
  bar_open_ = tty_;
  if (tty_ && e.done == e.total) end_bar();
  std::fflush(stderr);
}

void ConsoleSink::epoch(const EpochEvent& e) {
  if (options_.quiet) return;
  end_bar();
  std::fprintf(stderr, "%s\n", e.text.c_str());
  std::fflush(stderr);
}

void ConsoleSink::info(const std::string& message) {
  if (options_.quiet) return;
  end_bar();
  std::fprintf(stderr, "mura: %s\n", message.c_str());
  std::fflush(stderr);
}

void ConsoleSink::warn(const std::string& message) {
  end_bar();
  std::fprintf(stderr, "mura: warning: %s\n", message.c_str());
  std::fflush(stderr);
}

}  // namespace mura::cli
