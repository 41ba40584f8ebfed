#include "mura/app/distributed.h"

#include "mura/dist/process_group.h"
#include "mura/util/device.h"
#include "mura/util/error.h"
#include "mura/util/runtime.h"

namespace mura::app {

Launched join_launched_group(int timeout_s, const std::string& device) {
  return at_boundary("joining the process group", [&] {
    Launched l;
    l.launch = dist::detect_launch();
    dist::GroupOptions go;
    go.timeout = std::chrono::seconds(timeout_s);
    go.cuda = resolve_device(device_names().canonical(device)).is_cuda();
    l.group = dist::join_group(l.launch, go);
    return l;
  });
}

}  // namespace mura::app
