#pragma once
/// Where the library reports what it is doing, since it never prints.
///
/// Every long-running composition (training, evaluation, prediction, the report) takes a
/// Sink& and reports to it: progress within a pass, one line per finished epoch, notes and
/// warnings. The caller decides what they become: the CLI's sink draws a progress bar and
/// lines on stderr (stdout carries results only), a test's sink records them, a service
/// would log them, a multi-process run silences every rank but rank 0 (RankZeroSink).
/// A sink is called from the thread that runs the work, never concurrently.
#include <cstddef>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace mura {

/// Progress within one pass over the data (a training epoch, an evaluation, a prediction).
struct ProgressEvent {
  std::string stage;                ///< "train", "evaluate", "predict", "cache", "gallery" ...
  int epoch = 0;                    ///< 1-based epoch of a training pass; 0 outside training
  int epochs = 0;                   ///< total epochs; 0 outside training
  std::size_t done = 0, total = 0;  ///< batches (or images) done / in the pass
  std::size_t images = 0;           ///< images processed so far in the pass
  double seconds = 0;               ///< since the pass started
  double loss = std::numeric_limits<double>::quiet_NaN();  ///< running mean; NaN: none
};

/// One finished training epoch: its numbers by name, in a fixed order, and one line of text.
struct EpochEvent {
  int epoch = 0, epochs = 0;
  bool best = false;  ///< the monitored metric improved: a new best checkpoint
  std::vector<std::pair<std::string, double>> values;  ///< "train_loss", "val_study_auc" ...
  std::string text;                                    ///< the whole line as the CLI prints it
};

class Sink {
 public:
  virtual ~Sink() = default;
  virtual void progress(const ProgressEvent&) {}
  virtual void epoch(const EpochEvent&) {}
  /// A note a user may want (the device banner, "loaded 320 tensors", cache filled).
  virtual void info(const std::string&) {}
  /// Something is off but the work goes on (skipped entries, an input size overridden).
  virtual void warn(const std::string&) {}
};

/// Drops everything.
class NullSink : public Sink {};
/// A shared NullSink, the default for callers that want silence.
Sink& null_sink();

/// Keeps everything (tests; a front end that shows it later).
class RecordingSink : public Sink {
 public:
  void progress(const ProgressEvent& e) override { progress_events.push_back(e); }
  void epoch(const EpochEvent& e) override { epochs.push_back(e); }
  void info(const std::string& m) override { infos.push_back(m); }
  void warn(const std::string& m) override { warnings.push_back(m); }
  std::vector<ProgressEvent> progress_events;
  std::vector<EpochEvent> epochs;
  std::vector<std::string> infos, warnings;
};

/// Passes everything to `inner` on rank 0 only; warnings of other ranks keep their rank in
/// front so a problem on one process is not lost.
class RankZeroSink : public Sink {
 public:
  RankZeroSink(Sink& inner, int rank) : inner_(inner), rank_(rank) {}
  void progress(const ProgressEvent& e) override {
    if (rank_ == 0) inner_.progress(e);
  }
  void epoch(const EpochEvent& e) override {
    if (rank_ == 0) inner_.epoch(e);
  }
  void info(const std::string& m) override {
    if (rank_ == 0) inner_.info(m);
  }
  void warn(const std::string& m) override {
    inner_.warn(rank_ == 0 ? m : "rank " + std::to_string(rank_) + ": " + m);
  }

 private:
  Sink& inner_;
  int rank_;
};

}  // namespace mura
