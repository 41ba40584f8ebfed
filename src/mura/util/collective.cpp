#include "mura/util/collective.h"

#include <algorithm>

#include "mura/util/error.h"

namespace mura {

namespace {

class SingleProcess final : public Collective {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_size() const override { return 1; }
  int local_rank() const override { return 0; }
  std::string describe() const override { return "single process"; }
  std::function<void()> all_reduce_sum_async(std::vector<torch::Tensor>&,
                                             const std::string&) override {
    return [] {};
  }
  void broadcast(std::vector<torch::Tensor>&, int root, const std::string& what) override {
    MURA_ASSERT(root == 0, "broadcast from rank " + std::to_string(root) + " in a group of one (" +
                               what + ")");
  }
  std::vector<torch::Tensor> all_gather(const torch::Tensor& t, const std::string&) override {
    return {t.clone()};
  }
  void barrier(const std::string&) override {}
};

}  // namespace

void Collective::all_reduce_sum(std::vector<torch::Tensor>& tensors, const std::string& what) {
  all_reduce_sum_async(tensors, what)();
}

std::vector<torch::Tensor> Collective::all_gather_ragged(const torch::Tensor& tensor,
                                                         const std::string& what) {
  MURA_ASSERT(tensor.dim() == 1, "all_gather_ragged takes 1-D tensors (" + what + ")");
  if (size() == 1) return {tensor.clone()};
  const auto lengths =
      all_gather(torch::full({1}, tensor.size(0), torch::kLong), what + ": lengths");
  std::int64_t longest = 0;
  for (const auto& l : lengths) longest = std::max(longest, l.item<std::int64_t>());
  if (longest == 0) {  // nothing anywhere (and Gloo divides by the size of what it gathers)
    std::vector<torch::Tensor> none;
    for (int r = 0; r < size(); ++r) none.push_back(torch::empty({0}, tensor.options()));
    return none;
  }
  auto padded = torch::zeros({longest}, tensor.options());
  padded.narrow(0, 0, tensor.size(0)).copy_(tensor);
  auto parts = all_gather(padded, what);
  for (std::size_t r = 0; r < parts.size(); ++r)
    parts[r] = parts[r].narrow(0, 0, lengths[r].item<std::int64_t>());
  return parts;
}

std::shared_ptr<Collective> single_process_group() {
  static const std::shared_ptr<Collective> group = std::make_shared<SingleProcess>();
  return group;
}

std::pair<std::size_t, std::size_t> share_of(std::size_t n, int rank, int size) {
  MURA_ASSERT(size >= 1 && rank >= 0 && rank < size,
              "rank " + std::to_string(rank) + " of " + std::to_string(size));
  const auto s = static_cast<std::size_t>(size), r = static_cast<std::size_t>(rank);
  return {n * r / s, n * (r + 1) / s};
}

}  // namespace mura
