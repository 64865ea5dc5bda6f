// ncursesw with the wide-character API. SwiftPM drops the -D flags of ncursesw.pc, so the
// define must come before the include or the wide API disappears (docs/terminal.md).
// The static inline functions re-export what Swift cannot import: attribute and mouse macros, the
// C globals (errors under Swift 6), and attribute setting with extended (int) colour pairs.
#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <locale.h>
#include <wchar.h>
#include <ncursesw/curses.h>

static inline const char *gpd_curses_version(void) { return curses_version(); }
static inline attr_t gpd_A_NORMAL(void) { return A_NORMAL; }
static inline attr_t gpd_A_BOLD(void) { return A_BOLD; }
static inline attr_t gpd_A_REVERSE(void) { return A_REVERSE; }
static inline attr_t gpd_A_UNDERLINE(void) { return A_UNDERLINE; }
static inline attr_t gpd_A_DIM(void) { return A_DIM; }
static inline mmask_t gpd_ALL_MOUSE_EVENTS(void) { return ALL_MOUSE_EVENTS; }
static inline mmask_t gpd_BUTTON1_CLICKED(void) { return BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON1_RELEASED; }
static inline mmask_t gpd_BUTTON4_PRESSED(void) { return BUTTON4_PRESSED; }
static inline mmask_t gpd_BUTTON5_PRESSED(void) { return BUTTON5_PRESSED; }
static inline WINDOW *gpd_stdscr(void) { return stdscr; }
static inline WINDOW *gpd_curscr(void) { return curscr; }
static inline int gpd_colors(void) { return COLORS; }
static inline int gpd_color_pairs(void) { return COLOR_PAIRS; }
static inline int gpd_lines(void) { return LINES; }
static inline int gpd_cols(void) { return COLS; }
/* Writes s at (y, x) with attributes a and colour pair p (p may exceed 32767). */
static inline int gpd_mvaddstr_pair(int y, int x, const char *s, attr_t a, int p) {
    attr_set(a, 0, &p);
    int r = mvaddstr(y, x, s);
    attr_set(A_NORMAL, 0, NULL);
    return r;
}
