// Precompiled header for the mura targets: LibTorch dominates compile time, so it is
// parsed once per target instead of once per source file.
#pragma once
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>
