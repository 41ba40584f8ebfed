#include "mura/util/sink.h"

namespace mura {

Sink& null_sink() {
  static NullSink sink;
  return sink;
}

}  // namespace mura
