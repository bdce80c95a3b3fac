// Principal component analysis of a table (rows are observations), as
// sklearn.decomposition.PCA(n_components, whiten, svd_solver) up to the sign of each
// component: the columns are centred (one allreduce of the column sums), the centred
// table is decomposed by the distributed SVD (svd.h: exact tsqr, hierarchical hsvd or
// randomized), and the scores are the centred rows times the components (a local GEMM
// for a table split along its rows). Each component's sign makes its largest |entry|
// positive (sklearn >= 1.5's svd_flip). Nothing is gathered: only the d x k components.
//
// explained_variance = S^2 / (n - 1); explained_variance_ratio divides by the total
// variance of the table (the sum of its column variances, ddof 1), so truncated methods
// report the ratio of the whole variance as sklearn does. whiten: the scores are divided
// by sqrt(explained_variance) (unit variance per component).
//
// method automatic: the exact SVD (tsqr) for a tall-skinny table (d <= 1000 and n >= 10 d,
// where sklearn's auto picks an exact solver too), else svd's own auto (randomized when
// n_components < min(n, d) / 2, else exact). hsvd truncates at every node of its tree,
// so it is exact only when the centred table's rank is at most n_components.
//
// float32 / float64 keep their type, integers compute in float64. ValueError for a table
// without rows, n_components outside [1, min(n, d)], or NaN / inf in the table.
#pragma once

#include "src/core/dndarray.h"
#include "src/core/meta.h"
#include "kernels/linalg/plan.h"

namespace dnd::linalg {

struct PcaOptions {
  int64_t n_components = 0;  // 0: min(n, d)
  bool whiten = false;
  SvdMethod method = SvdMethod::automatic;
  int64_t oversample = 10;       // randomized
  int64_t power_iterations = 2;  // randomized
  uint64_t seed = 0;             // randomized
};

struct PcaResult {
  DNDarray components;                // k x d, replicated (rows: the principal axes)
  DNDarray explained_variance;        // k, replicated
  DNDarray explained_variance_ratio;  // k, replicated
  DNDarray singular_values;           // k, replicated
  DNDarray mean;                      // d; split 0 when the table is split 1, else replicated
  DNDarray scores;                    // n x k: the transformed rows, split 0 when the table is split
};

PcaResult pca(const DNDarray& x, const PcaOptions& options = {});

// outputs in PcaResult's order.
OpMeta pca_meta(const ArrayMeta& x, const PcaOptions& options, int nranks);

}  // namespace dnd::linalg
