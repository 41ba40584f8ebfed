#pragma once
/// The process group of a launched command (torchrun, srun, mpirun; dist/launch.h), joined
/// once by the CLI and handed to the compositions through RuntimeOptions::group.
#include <memory>
#include <string>

#include "mura/dist/launch.h"
#include "mura/util/collective.h"

namespace mura::app {

struct Launched {
  dist::LaunchInfo launch;
  std::shared_ptr<Collective> group;  ///< single_process_group() when not launched
};

/// Reads the launch from the environment and joins its group, waiting at most `timeout_s`
/// seconds for the other ranks in any collective. Throws mura::Error (naming the variable,
/// the address or the rank) when the launch is inconsistent or the group cannot form.
/// `device` is the --device asked for: "cuda" (or "auto" with a GPU present) puts each
/// process on GPU LOCAL_RANK and uses NCCL where mura was built with it.
Launched join_launched_group(int timeout_s, const std::string& device = "cpu");

}  // namespace mura::app
