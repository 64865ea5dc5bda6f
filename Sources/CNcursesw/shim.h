// ncursesw with the wide-character API. SwiftPM drops the -D flags of ncursesw.pc, so the
// define must come before the include or the wide API disappears (reference/terminal.md §2.1).
#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <locale.h>
#include <wchar.h>
#include <ncursesw/curses.h>

static inline const char *gpd_curses_version(void) { return curses_version(); }
