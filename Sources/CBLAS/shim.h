// OpenBLAS through its CBLAS interface. Declarations only; no logic here.
#include <cblas.h>

// openblas_get_config/corename exist in OpenBLAS's cblas.h; re-exported for clarity.
static inline const char *gpd_openblas_config(void) { return openblas_get_config(); }
static inline const char *gpd_openblas_corename(void) { return openblas_get_corename(); }
