#pragma once
/// The CLI's sink: a progress bar and lines on stderr, so stdout carries results only.
#include <cstddef>
#include <string>

#include "mura/util/sink.h"

namespace mura::cli {

struct ConsoleOptions {
  bool quiet = false;    ///< --quiet: only results, warnings and errors
  bool progress = true;  ///< --no-progress: no bar (epoch lines and notes stay)
};

/// Progress: redrawn in place on a terminal, a line every ~10% otherwise (logs, CI).
/// Epochs: one line each. info: "mura: ..."; warn: "mura: warning: ..." (even when quiet).
class ConsoleSink : public Sink {
 public:
  explicit ConsoleSink(ConsoleOptions options);
  void progress(const ProgressEvent& e) override;
  void epoch(const EpochEvent& e) override;
  void info(const std::string& message) override;
  void warn(const std::string& message) override;

 private:
  void end_bar();
  ConsoleOptions options_;
  bool tty_ = false;
  bool bar_open_ = false;  ///< a redrawn bar is on the current line
  std::string last_stage_;
  int last_epoch_ = -1;
  std::size_t last_decile_ = 0;
};

}  // namespace mura::cli
