#define MURA_COMPAT_C10D 1
#include "mura/dist/process_group.h"

#include <c10/util/Exception.h>

#include "mura/util/error.h"
#include "mura/util/strings.h"
#include "mura/util/torch_compat.h"

namespace mura::dist {

namespace {

/// The first line of a c10d/Gloo message, without c10's backtrace.
std::string short_message(const std::exception& e) {
  std::string m;
  if (const auto* c = dynamic_cast<const c10::Error*>(&e))
    m = c->what_without_backtrace();
  else
    m = e.what();
  const auto nl = m.find('\n');
  if (nl != std::string::npos) m.resize(nl);
  return m;
}

bool is_loopback(const std::string& host) {
  return starts_with(host, "127.") || host == "localhost" || host == "::1";
}

class C10dGroup final : public Collective {
 public:
  /// `gloo` carries CPU tensors (and everything when `cuda_group` is null); `cuda_group`
  /// (NCCL), when given, carries CUDA tensors: NCCL cannot move host memory, and the run's
  /// flags, losses and gathered indices live there.
  C10dGroup(LaunchInfo launch, c10::intrusive_ptr<c10d::Store> store,
            c10::intrusive_ptr<compat::C10dBackend> gloo,
            c10::intrusive_ptr<compat::C10dBackend> cuda_group, std::chrono::seconds timeout)
      : launch_(std::move(launch)),
        store_(std::move(store)),
        gloo_(std::move(gloo)),
        cuda_(std::move(cuda_group)),
        backend_(cuda_ ? "nccl+gloo" : "gloo"),
        timeout_(timeout) {}

  int rank() const override { return launch_.rank; }
  int size() const override { return launch_.world_size; }
  int local_size() const override { return launch_.local_world_size; }
  int local_rank() const override { return launch_.local_rank; }
  std::string describe() const override { return backend_ + ", " + launch_.describe(); }

  std::function<void()> all_reduce_sum_async(std::vector<torch::Tensor>& tensors,
                                             const std::string& what) override {
    if (tensors.empty()) return [] {};
    auto work = guarded(what, [&] { return for_tensor(tensors[0])->allreduce(tensors); });
    return [this, work, what] { guarded(what, [&] { return work->wait(); }); };
  }
  void broadcast(std::vector<torch::Tensor>& tensors, int root, const std::string& what) override {
    c10d::BroadcastOptions o;
    o.rootRank = root;
    for (auto& t : tensors) {
      std::vector<torch::Tensor> one{t};
      auto work = guarded(what, [&] { return for_tensor(t)->broadcast(one, o); });
      guarded(what, [&] { return work->wait(); });
    }
  }
  std::vector<torch::Tensor> all_gather(const torch::Tensor& tensor,
                                        const std::string& what) override {
    std::vector<torch::Tensor> in{tensor.contiguous()};
    if (tensor.numel() == 0)  // the same shape everywhere: nothing to send (Gloo would divide by 0)
      return std::vector<torch::Tensor>(static_cast<std::size_t>(size()), in[0].clone());
    std::vector<std::vector<torch::Tensor>> out(1);
    for (int r = 0; r < size(); ++r) out[0].push_back(torch::empty_like(in[0]));
    auto work = guarded(what, [&] { return for_tensor(in[0])->allgather(out, in); });
    guarded(what, [&] { return work->wait(); });
    return out[0];
  }
  void barrier(const std::string& what) override {
    auto work = guarded(what, [&] { return gloo_->barrier(); });
    guarded(what, [&] { return work->wait(); });
  }

 private:
  template <class F>
  auto guarded(const std::string& what, F&& f) -> decltype(f()) {
    try {
      return f();
    } catch (const std::exception& e) {
      throw Error("rank " + std::to_string(launch_.rank) + " of " +
                  std::to_string(launch_.world_size) + ", " + what + ": " + short_message(e) +
                  " (another rank died, stopped answering for " + std::to_string(timeout_.count()) +
                  " s (--dist-timeout-s), or the network failed)");
    }
  }

  LaunchInfo launch_;
  c10::intrusive_ptr<c10d::Store> store_;
  const c10::intrusive_ptr<compat::C10dBackend>& for_tensor(const torch::Tensor& t) const {
    return t.is_cuda() && cuda_ ? cuda_ : gloo_;
  }

  c10::intrusive_ptr<compat::C10dBackend> gloo_, cuda_;
  std::string backend_;
  std::chrono::seconds timeout_;
};

}  // namespace

std::shared_ptr<Collective> join_group(const LaunchInfo& l, const GroupOptions& o) {
  if (!l.distributed()) return single_process_group();
  const std::chrono::milliseconds timeout =
      o.timeout.count() > 0 ? std::chrono::milliseconds(o.timeout) : compat::kC10dDefaultTimeout;
  const std::string where = l.master_addr + ":" + std::to_string(l.master_port);
  const std::string me = "rank " + std::to_string(l.rank) + " of " + std::to_string(l.world_size);

  // 1. Rendezvous: rank 0 serves a TCPStore on MASTER_PORT, unless torchrun's agent already
  //    does (then every rank is a client, under the prefix PyTorch's own rendezvous uses).
  c10::intrusive_ptr<c10d::Store> store;
  try {
    c10d::TCPStoreOptions so;
    so.port = static_cast<std::uint16_t>(l.master_port);
    so.isServer = !l.agent_store && l.rank == 0;
    so.numWorkers = l.agent_store ? c10::nullopt : c10::optional<std::size_t>(l.world_size);
    so.waitWorkers = false;
    so.timeout = timeout;
    auto tcp = c10::make_intrusive<c10d::TCPStore>(l.master_addr, so);
    const std::string prefix = l.agent_store ? "/worker/attempt_" + std::to_string(l.restart_count)
                                             : "/mura/attempt_" + std::to_string(l.restart_count);
    store = c10::make_intrusive<c10d::PrefixStore>(prefix, tcp);
  } catch (const std::exception& e) {
    throw Error(me + ": " +
                (!l.agent_store && l.rank == 0
                     ? "could not serve the rendezvous on " + where + " (is MASTER_PORT in use?)"
                     : "could not reach the rendezvous at " + where +
                           " (MASTER_ADDR/MASTER_PORT; is rank 0 running?)") +
                ": " + short_message(e));
  }

  // 2. Every rank must agree on the world size, or Gloo would wait for ranks that never come.
  try {
    const std::string mine = std::to_string(l.world_size);
    store->set("mura/world_size/" + std::to_string(l.rank),
               std::vector<uint8_t>(mine.begin(), mine.end()));
    if (l.rank != 0) {
      store->wait({"mura/world_size/0"}, timeout);
      const auto v = store->get("mura/world_size/0");
      const std::string theirs(v.begin(), v.end());
      if (theirs != mine)
        throw Error(me + ": the world size is " + mine + " here but " + theirs +
                    " on rank 0 (WORLD_SIZE differs between the processes)");
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(me + ": rank 0 did not join the rendezvous at " + where + " within " +
                std::to_string(o.timeout.count()) + " s (--dist-timeout-s): " + short_message(e));
  }

  // 3. The process groups: Gloo always (CPU tensors), NCCL for CUDA tensors where LibTorch
  //    has it (under its own store prefix, as PyTorch keys each group apart).
  c10::intrusive_ptr<compat::C10dBackend> cuda_group;
#ifdef MURA_WITH_NCCL
  if (o.cuda) {
    try {
      auto no = compat::NcclGroup::Options::create();
      no->timeout = timeout;
      cuda_group = c10::make_intrusive<compat::NcclGroup>(
          c10::make_intrusive<c10d::PrefixStore>("nccl", store), l.rank, l.world_size, no);
    } catch (const std::exception& e) {
      throw Error(me + ": could not form the NCCL group: " + short_message(e));
    }
  }
#endif
  try {
    auto go = compat::GlooGroup::Options::create(timeout);
    if (!l.socket_ifname.empty())
      go->devices.push_back(compat::GlooGroup::createDeviceForInterface(l.socket_ifname));
    else if (is_loopback(l.master_addr))
      go->devices.push_back(compat::GlooGroup::createDeviceForHostname("127.0.0.1"));
    else
      go->devices.push_back(compat::GlooGroup::createDefaultDevice());
    auto gloo = c10::make_intrusive<compat::GlooGroup>(
        c10::make_intrusive<c10d::PrefixStore>("gloo", store), l.rank, l.world_size, go);
    return std::make_shared<C10dGroup>(l, store, gloo, cuda_group, std::chrono::seconds(o.timeout));
  } catch (const std::exception& e) {
    throw Error(me + ": could not form the Gloo group" +
                (l.socket_ifname.empty() ? "" : " on GLOO_SOCKET_IFNAME=" + l.socket_ifname) +
                " within " + std::to_string(o.timeout.count()) +
                " s (--dist-timeout-s): " + short_message(e));
  }
}

}  // namespace mura::dist
