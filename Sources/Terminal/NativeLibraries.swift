// Versions of the terminal libraries this build linked (for `gpd --version`).
import CNcursesw
import CSixel

public enum NativeLibraries {
    /// e.g. "ncurses 6.4.20221231"
    public static var ncurses: String { String(cString: gpd_curses_version()) }
    /// libsixel exposes no runtime version call; this is the version of the headers built against.
    public static var sixel: String { "libsixel " + String(cString: gpd_sixel_version()) }
}
