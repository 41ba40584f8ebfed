// Mapping a CAM back onto the original image: each cell lands where the model's cell looks
// (CamGeometry), through the loader's stretch to a square.
#include "mura/explain/render.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <opencv2/core.hpp>

#include "mura/explain/gradcam.h"
#include "mura/models/registry.h"
#include "mura/util/error.h"

namespace mura::explain {
namespace {

cv::Point peak(const cv::Mat& m) {
  cv::Point at;
  cv::minMaxLoc(m, nullptr, nullptr, nullptr, &at);
  return at;
}

TEST(CamToImage, TheMaximumLandsWhereTheCellLooks) {
  // A 7x7 CAM of a 224x224 input, hot in row 2, column 5, of an image 448 wide, 112 high:
  // ResNet's cell (2, 5) looks at input pixel (160, 64): original x = (160.5) * 2 - 0.5,
  // y = 64.5 / 2 - 0.5.
  auto cam = torch::zeros({7, 7});
  cam[2][5] = 1;
  const auto at = peak(cam_to_image(cam, {32, 0, 224, 224}, 448, 112));
  EXPECT_NEAR(at.x, 320.5, 0.5);
  EXPECT_NEAR(at.y, 31.75, 0.5);
  // DenseNet's grid sits 14 input pixels right and down: x = 174.5 * 2 - 0.5, y = 78.5 / 2 - 0.5.
  const auto d = peak(cam_to_image(cam, {32, 14, 224, 224}, 448, 112));
  EXPECT_NEAR(d.x, 348.5, 0.5);
  EXPECT_NEAR(d.y, 38.75, 0.5);
  // Same size as the input: the peak is the cell's pixel itself, not the 32 j + 15.5 of a
  // plain resize of the map.
  const auto same = peak(cam_to_image(cam, {32, 0, 224, 224}, 224, 224));
  EXPECT_EQ(same, cv::Point(160, 64));
}

TEST(CamToImage, InterpolatesBilinearlyBetweenCellsAndExtendsTheBorders) {
  // Columns 0..3 hold 0, 1, 2, 3 in every row: between cell centres the map is linear.
  auto cam = torch::arange(4, torch::kFloat32).repeat({2, 1});  // [2, 4]
  const auto m = cam_to_image(cam, {10, 0, 40, 20}, 40, 20);    // input = original size
  ASSERT_EQ(m.size(), cv::Size(40, 20));
  EXPECT_FLOAT_EQ(m.at<float>(0, 0), 0.0f);
  EXPECT_FLOAT_EQ(m.at<float>(7, 10), 1.0f);
  EXPECT_FLOAT_EQ(m.at<float>(7, 15), 1.5f);
  EXPECT_FLOAT_EQ(m.at<float>(19, 23), 2.3f);
  EXPECT_FLOAT_EQ(m.at<float>(3, 30), 3.0f);
  EXPECT_FLOAT_EQ(m.at<float>(3, 39), 3.0f)
      << "beyond the last cell centre: the border cell's value";
  EXPECT_THROW(cam_to_image(cam, {}, 40, 20), Error)
      << "a CAM without its input size cannot be placed";
  EXPECT_THROW(cam_to_image(torch::zeros({2, 2, 2}), {10, 0, 40, 20}, 40, 20), Error);
}

TEST(CamGeometryOfModels, ComputeCamReportsTheModelsGridAndInputSize) {
  auto r = models::create_model("resnet18", 1);
  const auto x = torch::randn({1, 3, 64, 96});
  const auto c = compute_cam(*r, x, CamMethod::GradCam);
  EXPECT_EQ(c.geometry.stride, 32);
  EXPECT_EQ(c.geometry.offset, 0);
  EXPECT_EQ(c.geometry.input_width, 96);
  EXPECT_EQ(c.geometry.input_height, 64);
  auto d = models::create_model("densenet121", 1);
  EXPECT_EQ(compute_cam(*d, x, CamMethod::GradCam).geometry.offset, 14);
}

TEST(CamGeometryOfModels, AnEnsembleResamplesEachMemberAtTheFinestMembersCells) {
  // At 80 px ResNet's grid is 3x3 (cells look at 0, 32, 64), DenseNet's 2x2 (at 14, 46):
  // DenseNet's CAM is read at 0, 32, 64, i.e. its grid coordinates -0.4375 (clamped to 0),
  // 0.5625 and 1.5625 (clamped to 1).
  torch::manual_seed(5);
  auto r = models::create_model("resnet18", 1);
  auto d = models::create_model("densenet121", 1);
  const auto x = torch::randn({2, 3, 80, 80});
  const auto cr = compute_cam(*r, x, CamMethod::GradCam);
  const auto cd = compute_cam(*d, x, CamMethod::GradCam);
  ASSERT_EQ(cr.cams.sizes(), (std::vector<int64_t>{2, 3, 3}));
  ASSERT_EQ(cd.cams.sizes(), (std::vector<int64_t>{2, 2, 2}));
  const auto both = compute_cam(std::vector<std::shared_ptr<models::ClassifierImpl>>{d, r}, x,
                                CamMethod::GradCam);
  EXPECT_EQ(both.geometry.offset, 0) << "the finest member's (ResNet's) grid";
  ASSERT_EQ(both.cams.sizes(), cr.cams.sizes());
  const double w = 0.5625;
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 0; j < 3; ++j) {
        auto at = [&](int64_t k, double& f) {
          f = k == 1 ? w : 0.0;
          return k == 0   ? std::pair<int64_t, int64_t>{0, 0}
                 : k == 1 ? std::pair<int64_t, int64_t>{0, 1}
                          : std::pair<int64_t, int64_t>{1, 1};
        };
        double fy, fx;
        const auto [y0, y1] = at(i, fy);
        const auto [x0, x1] = at(j, fx);
        const auto c = cd.cams[b];
        auto v = [&](int64_t y, int64_t xx) { return c[y][xx].item<double>(); };
        const double dense = (1 - fy) * ((1 - fx) * v(y0, x0) + fx * v(y0, x1)) +
                             fy * ((1 - fx) * v(y1, x0) + fx * v(y1, x1));
        EXPECT_NEAR(both.cams[b][i][j].item<double>(),
                    (cr.cams[b][i][j].item<double>() + dense) / 2, 1e-6)
            << b << " " << i << " " << j;
      }
  EXPECT_TRUE(torch::allclose(both.probabilities, (cr.probabilities + cd.probabilities) / 2));
}

}  // namespace
}  // namespace mura::explain
