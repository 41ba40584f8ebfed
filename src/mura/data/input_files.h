#pragma once
/// The images a user names on the command line (or uploads): files, study folders, trees.
#include <filesystem>
#include <string>
#include <vector>

namespace mura::data {

/// One image to run a model on, with what its path tells.
struct InputImage {
  std::filesystem::path file;
  std::string study;      ///< the image's folder
  std::string body_part;  ///< the first XR_* component of the path, upper-cased; "" if none
};

/// Expands paths: a file is itself (whatever its extension: a non-image then fails when it
/// is decoded and is reported there); a folder is every PNG/JPEG below it, at any depth, in
/// sorted order, ignoring hidden files and folders (._*, .DS_Store). A path that does not
/// exist, or a folder without images, is added to `problems` ("PATH: no such file or
/// folder") instead of stopping the others.
std::vector<InputImage> collect_input_images(const std::vector<std::string>& paths,
                                             std::vector<std::string>& problems);

/// What `file`'s path tells: its study (folder) and body part (XR_* component).
InputImage describe_input(const std::filesystem::path& file);

}  // namespace mura::data
