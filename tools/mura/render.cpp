// mura render: the 8-bit gray plane mura reads from each image (DICOM through the grayscale
// pipeline), written as PNG: see what the model sees before resizing, or compare with a
// reference decoder.
#include <filesystem>
#include <iostream>
#include <memory>
#include <opencv2/imgcodecs.hpp>

#include "cli.h"
#include "flags.h"
#include "mura/data/image.h"
#include "mura/data/input_files.h"
#include "mura/util/atomic_file.h"
#include "mura/util/error.h"

namespace mura::cli {

namespace {

struct RenderOptions {
  std::vector<std::string> inputs;
  std::string output_dir;
  std::string dicom_window;
  bool overwrite = false;
  ConsoleOptions console;
};

int run_render(const RenderOptions& o) {
  namespace fs = std::filesystem;
  ConsoleSink sink(o.console);
  std::vector<std::string> problems;
  const auto inputs = data::collect_input_images(o.inputs, problems);
  for (const auto& p : problems) sink.warn(p);
  data::DecodeOptions dec;
  dec.dicom_window = o.dicom_window;
  int failed = static_cast<int>(problems.size());
  for (const auto& in : inputs) {
    const fs::path dst = fs::path(o.output_dir) / (in.file.filename().string() + ".png");
    try {
      if (fs::exists(dst) && !o.overwrite)
        throw Error(dst.string() + " exists; pass --overwrite to replace it");
      const cv::Mat gray = data::load_gray(in.file, dec);
      std::vector<uchar> png;
      MURA_CHECK(cv::imencode(".png", gray, png), dst.string() + ": cannot encode the PNG");
      write_file_atomic(dst,
                        std::string_view(reinterpret_cast<const char*>(png.data()), png.size()));
      std::cout << in.file.string() << " -> " << dst.string() << " (" << gray.cols << "x"
                << gray.rows << ")\n";
    } catch (const Error& e) {
      sink.warn(e.what());
      ++failed;
    }
  }
  if (failed) throw Error(std::to_string(failed) + " input(s) could not be rendered");
  return 0;
}

}  // namespace

void add_render_command(CLI::App& app, Runner& run) {
  auto o = std::make_shared<RenderOptions>();
  CLI::App* sub = app.add_subcommand(
      "render", "write the 8-bit gray image mura reads from each input (PNG, JPEG, DICOM) as PNG");
  sub->option_defaults()->always_capture_default();
  sub->add_option("inputs", o->inputs, "image files or folders")->required();
  add_output_dir_flag(*sub, o->output_dir, /*required=*/true);
  add_dicom_window_flag(*sub, o->dicom_window);
  add_overwrite_flag(*sub, o->overwrite);
  add_console_flags(*sub, o->console);
  sub->callback([o, &run] { run = [o] { return run_render(*o); }; });
}

}  // namespace mura::cli
