// Reading the launchers' environments: torchrun, Slurm srun, Open MPI mpirun; and the shares
// of a batch each rank takes.
#include "mura/dist/launch.h"

#include <gtest/gtest.h>

#include <map>

#include "../test_util.h"
#include "mura/data/loader.h"
#include "mura/util/collective.h"

namespace mura {
namespace {

dist::LaunchInfo launch_with(const std::map<std::string, std::string>& vars) {
  return dist::detect_launch([&](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  });
}

TEST(Launch, NothingSetIsOneProcess) {
  const auto l = launch_with({});
  EXPECT_EQ(l.launcher, "none");
  EXPECT_FALSE(l.distributed());
  EXPECT_EQ(l.describe(), "single process");
}

TEST(Launch, TorchrunWithItsAgentStore) {
  const auto l = launch_with({{"RANK", "3"},
                              {"WORLD_SIZE", "4"},
                              {"LOCAL_RANK", "1"},
                              {"LOCAL_WORLD_SIZE", "2"},
                              {"MASTER_ADDR", "10.0.0.7"},
                              {"MASTER_PORT", "29411"},
                              {"TORCHELASTIC_RESTART_COUNT", "2"},
                              {"TORCHELASTIC_USE_AGENT_STORE", "True"},
                              {"GLOO_SOCKET_IFNAME", "eth1,eth2"}});
  EXPECT_EQ(l.launcher, "torchrun");
  EXPECT_EQ(l.rank, 3);
  EXPECT_EQ(l.world_size, 4);
  EXPECT_EQ(l.local_rank, 1);
  EXPECT_EQ(l.local_world_size, 2);
  EXPECT_EQ(l.master_addr, "10.0.0.7");
  EXPECT_EQ(l.master_port, 29411);
  EXPECT_EQ(l.restart_count, 2);
  EXPECT_TRUE(l.agent_store);
  EXPECT_EQ(l.socket_ifname, "eth1");
  EXPECT_EQ(l.describe(), "torchrun, rank 3 of 4 (local 1 of 2), master 10.0.0.7:29411");
}

TEST(Launch, SlurmTakesTheFirstHostOfTheNodeList) {
  const auto l = launch_with({{"SLURM_PROCID", "5"},
                              {"SLURM_NTASKS", "8"},
                              {"SLURM_LOCALID", "1"},
                              {"SLURM_NTASKS_PER_NODE", "2(x4)"},
                              {"SLURM_JOB_NODELIST", "gpu[07-10,12],cpu1"}});
  EXPECT_EQ(l.launcher, "slurm");
  EXPECT_EQ(l.rank, 5);
  EXPECT_EQ(l.world_size, 8);
  EXPECT_EQ(l.local_world_size, 2);
  EXPECT_EQ(l.master_addr, "gpu07");
  EXPECT_EQ(l.master_port, 29500);
  EXPECT_EQ(dist::first_slurm_host("a,b"), "a");
  EXPECT_EQ(dist::first_slurm_host("node[3]"), "node3");
  // MASTER_ADDR wins over the node list
  EXPECT_EQ(launch_with({{"SLURM_PROCID", "0"},
                         {"SLURM_NTASKS", "2"},
                         {"SLURM_JOB_NODELIST", "n[1-2]"},
                         {"MASTER_ADDR", "head"}})
                .master_addr,
            "head");
}

TEST(Launch, OpenMpiOnOneMachineMeetsOnLoopback) {
  const auto l = launch_with({{"OMPI_COMM_WORLD_RANK", "1"},
                              {"OMPI_COMM_WORLD_SIZE", "2"},
                              {"OMPI_COMM_WORLD_LOCAL_RANK", "1"},
                              {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"},
                              {"MASTER_PORT", "29999"}});
  EXPECT_EQ(l.launcher, "mpirun");
  EXPECT_EQ(l.rank, 1);
  EXPECT_EQ(l.master_addr, "127.0.0.1");
  EXPECT_EQ(l.master_port, 29999);
}

TEST(Launch, BadEnvironmentsAreNamed) {
  EXPECT_ERROR_CONTAINS(
      launch_with({{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"}}),
      "RANK=2 is not below WORLD_SIZE=2");
  EXPECT_ERROR_CONTAINS(launch_with({{"RANK", "x"}, {"WORLD_SIZE", "2"}}),
                        "RANK=x is not a whole number");
  EXPECT_ERROR_CONTAINS(launch_with({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "1"}}),
                        "MASTER_ADDR is not set");
  EXPECT_ERROR_CONTAINS(
      launch_with({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "0"}}),
      "MASTER_PORT=0 is not a whole number from 1 to 65535");
  EXPECT_ERROR_CONTAINS(launch_with({{"OMPI_COMM_WORLD_RANK", "0"},
                                     {"OMPI_COMM_WORLD_SIZE", "4"},
                                     {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}}),
                        "MASTER_ADDR is not set: mpirun");
  EXPECT_ERROR_CONTAINS(launch_with({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}}),
                        "neither MASTER_ADDR nor SLURM_JOB_NODELIST");
}

TEST(Shares, ContiguousInRankOrderDifferingByOne) {
  EXPECT_EQ(share_of(16, 0, 3), (std::pair<std::size_t, std::size_t>{0, 5}));
  EXPECT_EQ(share_of(16, 1, 3), (std::pair<std::size_t, std::size_t>{5, 10}));
  EXPECT_EQ(share_of(16, 2, 3), (std::pair<std::size_t, std::size_t>{10, 16}));
  EXPECT_EQ(share_of(1, 0, 2), (std::pair<std::size_t, std::size_t>{0, 0}));
  EXPECT_EQ(share_of(7, 0, 1), (std::pair<std::size_t, std::size_t>{0, 7}));
}

TEST(Shares, ShardedLoadersTogetherGiveTheUnshardedBatches) {
  test::TempDir dir;
  std::vector<data::Sample> samples;
  for (int i = 0; i < 23; ++i) {
    const auto f = dir.path() / ("img" + std::to_string(i) + ".png");
    test::write_png(f, 20 + i, 18, 10 * i);
    samples.push_back({f, i % 2, "s" + std::to_string(i / 2), "p", "XR_HAND"});
  }
  data::LoaderOptions o;
  o.batch_size = 8;
  o.shuffle = true;
  o.workers = 1;
  o.transform.size = 16;
  o.transform.rotate_degrees = 10;
  data::Loader whole(samples, o);
  std::vector<std::unique_ptr<data::Loader>> shards;
  for (int r = 0; r < 3; ++r) {
    data::LoaderOptions so = o;
    so.shard_rank = r;
    so.shard_count = 3;
    shards.push_back(std::make_unique<data::Loader>(samples, so));
  }
  for (std::uint64_t epoch = 0; epoch < 2; ++epoch) {
    whole.start_epoch(epoch);
    for (auto& s : shards) s->start_epoch(epoch);
    while (auto b = whole.next()) {
      std::vector<torch::Tensor> parts;
      std::vector<std::size_t> indices;
      for (auto& s : shards) {
        auto p = s->next();
        ASSERT_TRUE(p.has_value());
        EXPECT_EQ(p->global_size, b->size());
        parts.push_back(p->images);
        indices.insert(indices.end(), p->indices.begin(), p->indices.end());
      }
      EXPECT_EQ(indices, b->indices);
      EXPECT_TRUE(torch::equal(torch::cat(parts), b->images));  // same pixels, same order
    }
    for (auto& s : shards) EXPECT_FALSE(s->next().has_value());
  }
  data::LoaderOptions bad = o;
  bad.shard_rank = 3;
  bad.shard_count = 3;
  EXPECT_ERROR_CONTAINS(data::Loader loader(samples, bad), "shard 3 of 3 does not exist");
}

}  // namespace
}  // namespace mura
