#pragma once
/// What a run needs from a group of processes that train or score together: ranks 0..size-1,
/// each with its share of the data, exchanging tensors. The lower layers (the trainer, the
/// synchronised BatchNorm, evaluation) see only this interface; dist/ implements it on
/// PyTorch's c10d (Gloo on CPUs, NCCL on GPUs) and app/ hands it in through the Runtime.
/// A group of one (single_process_group) makes every operation the identity, so the
/// single-process path is the same code.
///
/// Every collective must be called by every rank in the same order. `what` says what the
/// rank was doing ("all-reducing gradients, step 12"): a failure (a rank died, hung past
/// the timeout, or the network broke) is thrown as mura::Error naming this rank and `what`.
#include <torch/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mura {

class Collective {
 public:
  virtual ~Collective() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// Processes of this group on this machine (for sharing its cores); >= 1.
  virtual int local_size() const = 0;
  /// This process's place among them (its GPU, when each process has one).
  virtual int local_rank() const = 0;
  /// "gloo, rank 1 of 2 (torchrun)" or "single process".
  virtual std::string describe() const = 0;

  /// Starts an in-place element-wise SUM over ranks of each tensor; the returned function
  /// blocks until it is done (and throws on failure). Tensors must stay alive until then.
  virtual std::function<void()> all_reduce_sum_async(std::vector<torch::Tensor>& tensors,
                                                     const std::string& what) = 0;
  /// Overwrites each tensor with rank `root`'s.
  virtual void broadcast(std::vector<torch::Tensor>& tensors, int root,
                         const std::string& what) = 0;
  /// Every rank's `tensor` (same shape and dtype on every rank), in rank order.
  virtual std::vector<torch::Tensor> all_gather(const torch::Tensor& tensor,
                                                const std::string& what) = 0;
  /// Returns when every rank has called it.
  virtual void barrier(const std::string& what) = 0;

  /// Blocking SUM (all_reduce_sum_async, then wait).
  void all_reduce_sum(std::vector<torch::Tensor>& tensors, const std::string& what);
  /// Every rank's 1-D tensor, whatever its length on each rank, in rank order.
  std::vector<torch::Tensor> all_gather_ragged(const torch::Tensor& tensor,
                                               const std::string& what);
};

/// The group of one process (shared, stateless).
std::shared_ptr<Collective> single_process_group();

/// The half-open share [begin, end) of `n` items that rank `rank` of `size` takes: contiguous,
/// in rank order, sizes differing by at most one (the larger shares last), so shares of a
/// batch of 16 over 3 ranks are 5, 5, 6.
std::pair<std::size_t, std::size_t> share_of(std::size_t n, int rank, int size);

}  // namespace mura
