#include "mura/data/input_files.h"

#include <algorithm>
#include <fstream>
#include <system_error>

#include "mura/data/dicom.h"
#include "mura/util/error.h"
#include "mura/util/strings.h"

namespace mura::data {
namespace fs = std::filesystem;

namespace {

bool is_image_name(const fs::path& p) {
  const std::string ext = to_lower(p.extension().string());
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".dcm" || ext == ".dicom";
}

bool starts_as_dicom(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  char head[132] = {};
  in.read(head, sizeof head);
  return looks_like_dicom(std::string_view(head, static_cast<std::size_t>(in.gcount())));
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
  // A DICOM file names its own study (all its series together) and body part.
  if (starts_as_dicom(file)) {
    try {
      const DicomInfo info = read_dicom_info(file);
      if (!info.study_uid.empty()) in.study = info.study_uid;
      if (!info.body_part.empty()) in.body_part = info.body_part;
    } catch (const Error&) {
      // unreadable: decoding reports it for this image
    }
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
        if (it->is_regular_file() && (is_image_name(it->path()) || starts_as_dicom(it->path())))
          files.push_back(it->path());
      }
      std::sort(files.begin(), files.end());
      if (files.empty()) problems.push_back(p + ": no PNG, JPEG or DICOM images in this folder");
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
