// The page's own files (viewer/web), embedded into the binary at build time.
#ifndef HEAPGAP_VIEWER_VIEWER_ASSETS_H_
#define HEAPGAP_VIEWER_VIEWER_ASSETS_H_

#include <cstddef>

#include "absl/strings/string_view.h"

namespace heapgap::viewer {

struct ViewerAsset {
  absl::string_view name;  // file name in viewer/web, e.g. "app.js"
  absl::string_view text;
};

// In the order of HEAPGAP_VIEWER_ASSETS in viewer/CMakeLists.txt, which is
// also the order the scripts run in.
extern const ViewerAsset kViewerAssets[];
extern const size_t kViewerAssetCount;

}  // namespace heapgap::viewer

#endif  // HEAPGAP_VIEWER_VIEWER_ASSETS_H_
