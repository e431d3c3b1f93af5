#pragma once
// The registry's list: one line per op. Each op's own file defines k<Name>Op.

#include "forkpool/images/op.hpp"

#define FORKPOOL_IMAGE_OPS(X) \
  X(Resize)                   \
  X(Crop)                     \
  X(Rotate)                   \
  X(Flip)                     \
  X(Gray)                     \
  X(Blur)                     \
  X(Sharpen)                  \
  X(Edges)                    \
  X(Threshold)                \
  X(Equalize)                 \
  X(Invert)                   \
  X(Denoise)

namespace forkpool::images {
#define FORKPOOL_DECLARE_OP(Name) extern const OpInfo k##Name##Op;
FORKPOOL_IMAGE_OPS(FORKPOOL_DECLARE_OP)
#undef FORKPOOL_DECLARE_OP
}  // namespace forkpool::images
