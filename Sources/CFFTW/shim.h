// FFTW single precision (fftw3f). Declarations only; no logic here.
#include <fftw3.h>

// fftwf_version is a global array Swift does not import as a string: wrap it.
static inline const char *gpd_fftwf_version(void) { return fftwf_version; }
