#include "mura/data/input_files.h"

#include <algorithm>
#include <system_error>

#include "mura/util/strings.h"

namespace mura::data {
namespace fs = std::filesystem;

namespace {

bool is_image_name(const fs::path& p) {
  const std::string ext = to_lower(p.extension().string());
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

}  // namespace

InputImage describe_input(const fs::path& file) {
  InputImage in;
  in.file = file;
  in.study = file.parent_path().string();
  for (const auto& part : file)
    if (starts_with(to_upper(part.string()), "XR_")) {
      in.body_part = to_upper(part.string());
      break;
    }
  return in;
}

std::vector<InputImage> collect_input_images(const std::vector<std::string>& paths,
                                             std::vector<std::string>& problems) {
  std::vector<InputImage> out;
  for (const auto& p : paths) {
    std::error_code ec;
    const fs::path path(p);
    if (fs::is_directory(path, ec)) {
      std::vector<fs::path> files;
      for (auto it = fs::recursive_directory_iterator(
               path, fs::directory_options::skip_permission_denied, ec);
           it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        const std::string name = it->path().filename().string();
        if (!name.empty() && name[0] == '.') {
          if (it->is_directory()) it.disable_recursion_pending();
          continue;
        }
        if (it->is_regular_file() && is_image_name(it->path())) files.push_back(it->path());
      }
      std::sort(files.begin(), files.end());
      if (files.empty()) problems.push_back(p + ": no PNG or JPEG images in this folder");
      for (const auto& f : files) out.push_back(describe_input(f));
    } else if (fs::exists(path, ec)) {
      out.push_back(describe_input(path));
    } else {
      problems.push_back(p + ": no such file or folder");
    }
  }
  return out;
}

}  // namespace mura::data
