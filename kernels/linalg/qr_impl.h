// Private to kernels/linalg: qr whose Q may come back unformed, as X T (X this rank's
// block, T small and replicated), so a caller that multiplies Q by a small matrix saves
// a pass over Q (svd's U = Q U_R becomes X (T U_R)).
#pragma once

#include "kernels/linalg/qr.h"

#include <ATen/core/Tensor.h>

namespace dnd::linalg::detail {

struct LazyQr {
  QrResult result;  // result.Q is empty when X is defined
  at::Tensor X, T;
};

LazyQr qr_lazy(const DNDarray& a);

}  // namespace dnd::linalg::detail
