// Pure render functions: (state, theme, size) → Frame. Snapshot tests read their text; the curses
// session draws them. Layout: tabs on row 0, the screen, a status/hint line on the last row.
import Diffusion
import Foundation
import Runs
import Terminal

public enum Renderer {
    public static let minRows = 16, minCols = 64

    public static func render(_ s: StudioState, theme: Theme, rows: Int, cols: Int) -> Frame {
        var f = Frame(rows: rows, cols: cols, fill: theme.body)
        guard rows >= minRows, cols >= minCols else {
            let msg = ["Please enlarge the terminal", "to at least \(minCols)×\(minRows)", "(now \(cols)×\(rows)); q quits."]
            for (i, m) in msg.enumerated() { f.text(m, row: max(0, rows / 2 - 1 + i), col: max(0, (cols - m.count) / 2), style: theme.body) }
            return f
        }
        tabs(&f, s, theme)
        let body = (row: 1, rows: rows - 2)
        switch s.screen {
        case .runs: RunsScreen.render(&f, s, theme, body.row, body.rows)
        case .run: RunScreen.render(&f, s, theme, body.row, body.rows)
        case .sample: SampleScreen.render(&f, s, theme, body.row, body.rows)
        case .spectra: SpectraScreen.render(&f, s, theme, body.row, body.rows)
        }
        if s.help {
            f.images.removeAll()   // an overlay covers the images; the session wipes their pixels
            helpOverlay(&f, s, theme)
        }
        statusLine(&f, s, theme)
        return f
    }

    static func tabs(_ f: inout Frame, _ s: StudioState, _ theme: Theme) {
        f.fill(row: 0, col: 0, rows: 1, cols: f.cols, style: theme.header)
        var c = 1
        c += f.text("GPD Studio ", row: 0, col: c, style: Style(fg: theme.accent, bg: theme.headerBg, bold: true))
        for (i, screen) in ScreenID.allCases.enumerated() {
            let label = " \(i + 1) \(screen.rawValue) "
            let style = screen == s.screen ? Style(fg: theme.selectionFg, bg: theme.selectionBg, bold: true) : Style(fg: theme.headerFg, bg: theme.headerBg)
            c += f.text(label, row: 0, col: c, style: style) + 1
        }
        let g = "graphics: \(s.graphics.rawValue)"
        f.text(g, row: 0, col: f.cols - g.count - 1, style: Style(fg: theme.dim, bg: theme.headerBg))
    }

    static func statusLine(_ f: inout Frame, _ s: StudioState, _ theme: Theme) {
        let r = f.rows - 1
        f.fill(row: r, col: 0, rows: 1, cols: f.cols, style: theme.status)
        if let cmd = s.command {
            f.text(":" + cmd, row: r, col: 0, style: Style(fg: theme.foreground, bg: theme.statusBg, bold: true))
            f.cursor = (r, min(f.cols - 1, cmd.count + 1))
            return
        }
        if let m = s.message {
            f.text(m.text, row: r, col: 1, style: Style(fg: m.error ? theme.error : theme.ok, bg: theme.statusBg, bold: true), width: f.cols - 2)
            return
        }
        var c = 1
        for (key, what) in s.keymap.hints(for: s.screen) {
            let piece = "\(key) \(what)"
            if c + piece.count + 2 > f.cols { break }
            c += f.text(key, row: r, col: c, style: Style(fg: theme.accent, bg: theme.statusBg, bold: true))
            c += f.text(" \(what)  ", row: r, col: c, style: theme.status)
        }
    }

    static func helpOverlay(_ f: inout Frame, _ s: StudioState, _ theme: Theme) {
        let relevant = s.keymap.bindings.filter { $0.screens.isEmpty || $0.screens.contains(s.screen) }
        // As wide as the longest entry needs, up to the terminal's width.
        let longest = relevant.map(\.help.count).max() ?? 60
        let h = min(f.rows - 4, relevant.count + 4), w = min(f.cols - 6, max(76, longest + 15))
        let (top, left) = ((f.rows - h) / 2, (f.cols - w) / 2)
        f.fill(row: top, col: left, rows: h, cols: w, style: Style(fg: theme.foreground, bg: theme.headerBg))
        f.text(" Keys — \(s.screen.rawValue) screen (any key closes) ", row: top, col: left + 2, style: Style(fg: theme.accent, bg: theme.headerBg, bold: true))
        let fits = relevant.count <= h - 3 ? relevant.count : max(0, h - 4)
        for (i, b) in relevant.prefix(fits).enumerated() {
            f.text(b.label, row: top + 2 + i, col: left + 2, style: Style(fg: theme.accent, bg: theme.headerBg, bold: true), width: 8)
            f.text(b.help, row: top + 2 + i, col: left + 11, style: Style(fg: theme.foreground, bg: theme.headerBg), width: w - 13)
        }
        if fits < relevant.count {
            f.text("… \(relevant.count - fits) more: a taller terminal shows them (gpd studio --keys lists all)", row: top + 2 + fits, col: left + 2,
                   style: Style(fg: theme.dim, bg: theme.headerBg), width: w - 4)
        }
    }

    /// Right-aligned or left-aligned fixed-width columns.
    static func pad(_ s: String, _ w: Int, right: Bool = false) -> String {
        let t = s.count > w ? String(s.prefix(max(0, w - 1))) + "…" : s
        let p = String(repeating: " ", count: max(0, w - t.count))
        return right ? p + t : t + p
    }

    static func age(_ t: Double) -> String { runAge(t) }
}

enum RunsScreen {
    static func render(_ f: inout Frame, _ s: StudioState, _ theme: Theme, _ top: Int, _ rows: Int) {
        let st = s.runs
        let header = ["", "NAME", "KIND", "STATUS", "STAGE", "STEP", "LOSS", "EVAL", "AGE"]
        let widths = [2, max(8, f.cols - 66), 8, 9, 6, 7, 8, 9, 6]   // 65 columns besides the name
        func line(_ cells: [String], row: Int, style: Style, statusColor: RGB? = nil) {
            var c = 1
            for (i, (text, w)) in zip(cells, widths).enumerated() {
                let right = [5, 6, 7, 8].contains(i)
                var st = style
                if i == 3, let sc = statusColor { st.fg = sc }
                f.text(Renderer.pad(text, w, right: right), row: row, col: c, style: st)
                c += w + 1
            }
        }
        f.fill(row: top, col: 0, rows: 1, cols: f.cols, style: theme.dimmed)
        line(header, row: top, style: Style(fg: theme.dim, bg: theme.background, bold: true))
        let visible = st.visible
        let listTop = top + 1, listRows = rows - 3
        if visible.isEmpty {
            let msg = !st.loaded ? (st.warning == nil ? "Reading the runs in \(s.runsRoot)/ …" : "The runs in \(s.runsRoot)/ could not be read (below).")
                : st.rows.isEmpty ? "No runs in \(s.runsRoot)/ yet. The demo's runs: gpd runs import samples/demo/runs; a new run: n"
                                      : "No run matches the filter '\(st.filter)'."
            f.text(msg, row: listTop + 1, col: 2, style: theme.dimmed, width: f.cols - 4)
        }
        let first = max(0, min(st.selected - listRows + 1, visible.count - listRows))
        for (i, r) in visible.enumerated().dropFirst(max(0, first)).prefix(listRows) {
            let row = listTop + i - max(0, first)
            let sel = i == st.selected
            let style = sel ? theme.selected : theme.body
            if sel { f.fill(row: row, col: 0, rows: 1, cols: f.cols, style: style) }
            let statusColor: RGB = [RunStatus.running: theme.ok, .paused: theme.warn, .failed: theme.error, .crashed: theme.error][r.status] ?? theme.dim
            let loss = r.loss.map { String(format: "%.4f", $0) } ?? "–"
            let ev = r.eval.map { String(format: r.evalKey == "eval/psnr" ? "%.2f dB" : "%.4f", $0) } ?? "–"
            let name = st.bundledModel(r).map { "\(r.name) · bundled as demo:\($0)" } ?? r.name
            line([st.marked.contains(r.name) ? "●" : " ", name, r.kind.rawValue, r.status.rawValue, r.stage ?? "–", String(r.step), loss, ev, Renderer.age(r.updated)],
                 row: row, style: style, statusColor: sel ? nil : statusColor)
        }
        let info = "\(visible.count)/\(st.rows.count) runs · sort: \(st.sortLabel) · \(st.marked.count) marked"
            + (f.cols >= 150 ? " · EVAL: the last quick evaluation (MiniVBench total, first suite prompts, seed 0; VAE: PSNR)"
                              + " · STAGE kN: horizon N"
                             : " · EVAL: last quick eval · kN: horizon N")
        f.text(info, row: top + rows - 1, col: 1, style: theme.dimmed, width: f.cols - 2)
        if st.filtering || !st.filter.isEmpty {
            let ftext = "filter: \(st.filter)\(st.filtering ? "▏" : "")"
            f.text(ftext, row: top + rows - 1, col: f.cols - ftext.count - 2, style: theme.colored(theme.accent, bold: true))
        }
        if let w = st.warning { f.text("⚠ " + w, row: top + rows - 2, col: 1, style: theme.colored(theme.warn), width: f.cols - 2) }
    }
}

enum RunScreen {
    static func render(_ f: inout Frame, _ s: StudioState, _ theme: Theme, _ top: Int, _ rows: Int) {
        guard let d = s.run.detail else {
            f.text("No run selected: pick one on the Runs screen (1) and press enter.", row: top + 2, col: 2, style: theme.dimmed)
            return
        }
        let keys = d.metricKeys
        let key = keys.isEmpty ? "loss" : keys[min(s.run.metricIndex, keys.count - 1)]
        f.text("\(d.name)", row: top, col: 1, style: theme.colored(theme.accent, bold: true))
        f.text("  \(d.kind?.rawValue ?? "") · \(d.status.rawValue) · step \(d.step)" + (d.worldSize > 1 ? " · \(d.worldSize) processes" : ""),
               row: top, col: 1 + d.name.count, style: theme.body)
        let plotRows = max(4, rows / 2 - 1), plotCols = f.cols - 2
        let label = "\(key)\(s.run.smooth ? " (EMA)" : "")\(s.run.logY ? " · log y" : "")   m: next metric (\(keys.count))"
        f.text(label, row: top + 1, col: 1, style: theme.dimmed, width: plotCols)
        // While the run runs, its pace right-aligned above the plot, where it fits beside the label.
        if let pace = d.pace?.summary, f.cols - 1 - pace.count >= label.count + 4 {
            f.text(pace, row: top + 1, col: f.cols - 1 - pace.count, style: theme.body)
        }
        var series: [Series] = []
        let palette = [theme.student, theme.data, theme.warn, theme.error]
        for (i, m) in d.compared.sorted(by: { $0.key < $1.key }).map(\.value).enumerated() {
            if let pts = m[key] { series.append(Series(s.run.smooth ? Plot.ema(pts) : pts, color: palette[i % palette.count])) }
        }
        if let pts = d.metrics[key] { series.append(Series(s.run.smooth && key == "loss" ? Plot.ema(pts) : pts, color: theme.teacher)) }
        Plot.braille(&f, row: top + 2, col: 1, rows: plotRows, cols: plotCols, series: series, logY: s.run.logY, markers: d.stageMarkers, xLabel: "step", theme: theme)
        if !d.compared.isEmpty {
            var c = 1
            c += f.text("■ \(d.name)  ", row: top + 2 + plotRows, col: c, style: theme.colored(theme.teacher))
            for (i, name) in d.compared.keys.sorted().enumerated() {
                c += f.text("■ \(name)  ", row: top + 2 + plotRows, col: c, style: theme.colored(palette[i % palette.count]))
            }
        }
        // Lower half: latest metrics | hyperparameters (wide terminals) | events and log — or the media clip.
        let lower = top + 3 + plotRows, lowerRows = rows - plotRows - 3
        if s.run.media {
            guard let px = d.mediaFrames, d.mediaShape.count == 4 else {
                f.text("no media yet (clips are saved at each evaluation)", row: lower + 1, col: 2, style: theme.dimmed)
                return
            }
            let (fc, h, w) = (d.mediaShape[0], d.mediaShape[1], d.mediaShape[2])
            let fi = min(s.run.mediaFrame, fc - 1), per = h * w * 3
            let bytes = px[(fi * per)..<((fi + 1) * per)].map { UInt8((min(max($0, 0), 1) * 255).rounded()) }
            f.text("\(d.mediaName) · \(d.mediaCaption) · frame \(fi + 1)/\(fc)", row: lower, col: 1, style: theme.dimmed, width: f.cols - 2)
            let cols = min(f.cols - 2, max(8, Int(Double(lowerRows - 1) * 2 * Double(w) / Double(h))))
            f.images.append(ImageOverlay(row: lower + 1, col: 1, rows: lowerRows - 1, cols: cols, width: w, height: h, pixels: bytes,
                                         version: d.mediaName.hashValue &+ fi))
            return
        }
        let wide = f.cols >= 120
        let half = wide ? f.cols * 2 / 3 : f.cols / 2
        if wide {
            let c0 = f.cols / 3
            f.text("config", row: lower, col: c0, style: Style(fg: theme.dim, bg: theme.background, bold: true))
            let lines = d.config.split(separator: "\n").map(String.init).filter { !$0.isEmpty && !$0.hasPrefix("#") }
            for (i, l) in lines.prefix(lowerRows - 1).enumerated() { f.text(l, row: lower + 1 + i, col: c0, style: theme.body, width: half - c0 - 1) }
        }
        if d.kind == .distill {
            stageTable(&f, d, theme, row: lower, rows: lowerRows, width: (wide ? f.cols / 3 : half) - 2)
        } else {
            f.text("latest", row: lower, col: 1, style: Style(fg: theme.dim, bg: theme.background, bold: true))
        }
        for (i, k) in keys.prefix(d.kind == .distill ? 0 : lowerRows - 1).enumerated() {
            let v = d.metrics[k]?.last?.y ?? .nan
            f.text(Renderer.pad(k, 21) + " " + String(format: "%.5g", v), row: lower + 1 + i, col: 1, style: theme.body, width: (wide ? f.cols / 3 : half) - 2)
        }
        f.text("events", row: lower, col: half, style: Style(fg: theme.dim, bg: theme.background, bold: true))
        let lines = d.events.suffix(max(0, (lowerRows - 1) / 2)).map { "[\($0.step)] \($0.kind): \($0.detail)" } + d.logTail.suffix(max(0, lowerRows - 1 - min(d.events.count, (lowerRows - 1) / 2)))
        for (i, l) in lines.prefix(lowerRows - 1).enumerated() { f.text(l, row: lower + 1 + i, col: half, style: theme.body, width: f.cols - half - 1) }
    }

    /// The per-stage table of a distillation: horizon, student steps, MiniVBench and fidelity to the
    /// teacher for finished stages; the stage in progress and the planned ones below.
    static func stageTable(_ f: inout Frame, _ d: RunDetail, _ theme: Theme, row: Int, rows: Int, width: Int) {
        let plan = d.stagePlan, done = d.stageRows
        f.text("stages" + (plan.stepsPerStage > 0 ? " · \(plan.stepsPerStage) steps each · S edits" : ""), row: row, col: 1,
               style: Style(fg: theme.dim, bg: theme.background, bold: true), width: width)
        f.text(Renderer.pad("k", 3) + Renderer.pad("steps", 6, right: true) + Renderer.pad("MiniVB", 8, right: true)
               + Renderer.pad("PSNR", 7, right: true) + Renderer.pad("SSIM", 6, right: true), row: row + 1, col: 1, style: theme.dimmed, width: width)
        for (i, k) in plan.horizons.enumerated() where i < rows - 2 {
            let steps = plan.teacherSteps / max(1, k)
            var text = Renderer.pad("\(k)", 3) + Renderer.pad("\(steps)", 6, right: true)
            let style: Style
            if let r = done.last(where: { $0.horizon == k }) {
                text += Renderer.pad(String(format: "%.4f", r.total), 8, right: true)
                    + Renderer.pad(r.psnr.map { String(format: "%.2f", $0) } ?? "–", 7, right: true)
                    + Renderer.pad(r.ssim.map { String(format: "%.3f", $0) } ?? "–", 6, right: true)
                style = theme.body
            } else if i == plan.current && d.status != .finished {
                text += "  ▶ " + d.status.rawValue
                style = theme.colored(theme.accent, bold: true)
            } else {
                text += "  planned"
                style = theme.dimmed
            }
            f.text(text, row: row + 2 + i, col: 1, style: style, width: width)
        }
    }
}
