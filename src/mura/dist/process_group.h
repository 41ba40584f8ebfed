#pragma once
/// The process group of a launched run, on PyTorch's c10d: a TCPStore rendezvous (rank 0
/// serves it, or torchrun's agent does), a PrefixStore, and ProcessGroupGloo for host
/// tensors; on CUDA with MURA_WITH_NCCL (a CUDA LibTorch) also ProcessGroupNCCL, which then
/// carries the CUDA tensors (gradients, BatchNorm statistics) while Gloo keeps the host ones
/// (stop flags, losses, gathered probabilities), as PyTorch pairs them.
///
/// Gloo binds the interface GLOO_SOCKET_IFNAME names; without it, the loopback address when
/// the master is on this machine (127.x, localhost, ::1), else the address this machine's
/// host name resolves to (c10d's default device).
#include <chrono>
#include <memory>

#include "mura/dist/launch.h"
#include "mura/util/collective.h"

namespace mura::dist {

struct GroupOptions {
  /// How long a collective (and the rendezvous) waits for the other ranks before failing
  /// with a message naming this rank and what it was doing (Gloo's own default is 30 min).
  std::chrono::seconds timeout{300};
  /// Tensors live on a CUDA device: NCCL when mura is built with MURA_WITH_NCCL (a CUDA
  /// LibTorch), else Gloo, which all-reduces CUDA tensors too (through host memory).
  bool cuda = false;
};

/// single_process_group() when `launch` is not distributed; otherwise joins the group.
/// Throws mura::Error for a port in use, an unreachable master, a world-size mismatch
/// between ranks, or a timeout, naming the rank, the address and the variable concerned.
std::shared_ptr<Collective> join_group(const LaunchInfo& launch, const GroupOptions& options = {});

}  // namespace mura::dist
