// libsixel. Debian installs the header in include/sixel/; pkg-config adds that folder.
#include <sixel.h>

// LIBSIXEL_VERSION is a macro string; expose it as a function.
static inline const char *gpd_sixel_version(void) { return LIBSIXEL_VERSION; }
