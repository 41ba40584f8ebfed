// Precompiled header for the mura targets: LibTorch dominates compile time, so it is
// parsed once per target instead of once per source file. CMakeLists.txt reads the
// `#include <...>` lines below (system headers only, so that the header and its .gch are the
// same in every clone, which ccache needs).
#pragma once
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>
