// The Sample screen: a prompt line, teacher and student settings with timings and fidelity, the two
// clips side by side as one image (one palette) playing at the clip's rate, a difference view, and the
// student's step-schedule editor (values and a plot against the teacher's grid).
import Data
import Diffusion
import Foundation
import Terminal

enum SampleScreen {
    static func render(_ f: inout Frame, _ s: StudioState, _ theme: Theme, _ top: Int, _ rows: Int) {
        let st = s.sample
        // Prompt line.
        f.text("prompt", row: top, col: 1, style: Style(fg: theme.dim, bg: theme.background, bold: true))
        let text = st.editing ? st.draft : st.prompt
        let style = st.editing ? Style(fg: theme.foreground, bg: theme.selectionBg) : theme.body
        f.fill(row: top, col: 9, rows: 1, cols: f.cols - 10, style: style)
        let shown = text.count > f.cols - 12 ? "…" + String(text.suffix(f.cols - 13)) : text
        f.text(shown, row: top, col: 9, style: style)
        if st.editing { f.cursor = (top, min(f.cols - 2, 9 + shown.count)) }
        var info = "seed \(st.seed)"
        if st.editing {
            // Vocabulary hints: grammar words starting with the word being typed.
            let partial = text.split(separator: " ", omittingEmptySubsequences: false).last.map(String.init)?.lowercased() ?? ""
            let words = Array(Set(PromptGrammar.vocabulary)).sorted()
            let matches = partial.isEmpty ? [] : words.filter { $0.hasPrefix(partial) && $0 != partial }
            info = matches.isEmpty ? "enter samples · esc cancels · ↑ history" : "words: " + matches.prefix(8).joined(separator: " ")
        }
        if !st.unknownWords.isEmpty { info += " · unknown: " + st.unknownWords.joined(separator: ", ") }
        if let p = st.problem { info += " · " + p }
        f.text(info, row: top + 1, col: 9, style: st.unknownWords.isEmpty && st.problem == nil ? theme.dimmed : theme.colored(theme.warn), width: f.cols - 10)

        // Settings and timings.
        let ts = st.teacherSettings
        let products = st.bf16 ? " (BF16)" : ""
        let tTime = st.teacherBusy ? st.teacherProgress.map { "sampling \($0.done)/\($0.total)…" } ?? "sampling…"
            : st.teacherSeconds.map { String(format: "%.2f s", $0) + products } ?? "–"
        f.text("■ teacher", row: top + 2, col: 1, style: theme.colored(theme.teacher, bold: true))
        // The clip's time right after the label: the settings after it can run past a narrow terminal's edge.
        f.text("\(st.teacherLabel) · \(tTime) · \(ts.solver.rawValue) \(ts.steps) steps · shift \(String(format: "%g", ts.shift)) · guidance \(String(format: "%g", ts.guidance))\(ts.guidanceInterval.map { String(format: " at σ %g–%g", $0.lowerBound, $0.upperBound) } ?? "")\(ts.guidanceEvery > 1 ? " every \(ts.guidanceEvery) steps" : "")\(ts.autoguide.map { " · autoguide " + $0.shortSummary } ?? "")",
               row: top + 2, col: 11, style: theme.body, width: f.cols - 12)
        let sTime = st.studentBusy ? "sampling…" : st.studentSeconds.map { String(format: "%.3f s", $0) + products } ?? "–"
        // Fidelity belongs to the clip shown; while either clip is being remade it would describe the old pair.
        let fid = st.studentBusy || st.teacherBusy ? "" : st.psnr.map { String(format: " · PSNR %.2f dB · SSIM %.3f", $0, st.ssim ?? 0) } ?? ""
        f.text("■ student", row: top + 3, col: 1, style: theme.colored(theme.student, bold: true))
        f.text("\(st.studentLabel) · euler \(max(0, st.sigmas.count - 1)) step\(st.sigmas.count == 2 ? "" : "s") · \(sTime)\(fid)", row: top + 3, col: 11, style: theme.body, width: f.cols - 12)

        // The clips.
        let editorRows = 6
        let imageTop = top + 5, imageRows = max(3, rows - 5 - editorRows - 1)
        let frames = st.clipShape.first ?? 0
        f.text(st.diff ? "|teacher − student| ×4" : "teacher │ student", row: top + 4, col: 1, style: theme.dimmed)
        if frames > 0 { f.text("frame \(st.frame + 1)/\(frames) \(st.playing ? "▶" : "⏸")", row: top + 4, col: f.cols - 18, style: theme.dimmed) }
        if let image = composite(st, theme) {
            let aspect = Double(image.width) / Double(image.height)
            // Cells are about twice as tall as wide.
            var cols = min(f.cols - 2, Int(Double(imageRows) * 2 * aspect))
            cols = max(8, cols)
            f.images.append(ImageOverlay(row: imageTop, col: 1, rows: imageRows, cols: cols, width: image.width, height: image.height,
                                         pixels: image.pixels, version: st.imageVersion &* 1000 &+ st.frame &* 2 &+ (st.diff ? 1 : 0),
                                         paletteKey: st.imageVersion &* 2 &+ (st.diff ? 1 : 0)))
        } else {
            let msg = st.teacherBusy || st.studentBusy ? "sampling…" : "no clips yet — press e to type a prompt, enter to sample"
            f.text(msg, row: imageTop + imageRows / 2, col: 3, style: theme.dimmed)
        }

        // Schedule editor.
        let er = imageTop + imageRows
        f.text("student schedule (σ)", row: er, col: 1, style: Style(fg: theme.dim, bg: theme.background, bold: true))
        f.text("shift \(String(format: "%g", st.shift)) · ←→ point · ↑↓ move · i insert · x delete · < > shift · R reset",
               row: er, col: 24, style: theme.dimmed, width: f.cols - 25)
        var c = 1
        for (i, v) in st.sigmas.enumerated() {
            let label = String(format: "%.3f", v)
            let style = i == st.point ? theme.selected : theme.body
            if c + label.count + 1 >= f.cols { break }
            c += f.text(label, row: er + 1, col: c, style: style) + 1
        }
        if let e = st.scheduleError {
            f.text("✗ " + e + " — not sampled", row: er + 2, col: 1, style: theme.colored(theme.error, bold: true), width: f.cols - 2)
        }
        // σ against step position: the teacher's grid dotted, the student's points as ●.
        let plotTop = er + 3, plotRows = 3, width = f.cols - 4
        let teacherGrid = (try? FlowSchedule.preset(ts.solver, steps: ts.steps, shift: ts.shift).sigmas) ?? []
        func put(_ sigmas: [Float], _ ch: Character, _ color: RGB) {
            guard sigmas.count >= 2 else { return }
            for (i, v) in sigmas.enumerated() {
                let x = 2 + Int(Double(i) / Double(sigmas.count - 1) * Double(width - 1))
                let y = plotTop + plotRows - 1 - Int((Double(max(0, min(1, v))) * Double(plotRows - 1)).rounded())
                f[y, x] = Cell(ch, theme.colored(color, bold: ch == "●"))
            }
        }
        put(teacherGrid, "·", theme.teacher)
        put(st.sigmas, "●", st.scheduleError == nil ? theme.student : theme.error)
    }

    /// The image shown: teacher and student at the current frame side by side (or their difference).
    static func composite(_ st: SampleState, _ theme: Theme) -> (width: Int, height: Int, pixels: [UInt8])? {
        guard st.clipShape.count == 4 else { return nil }
        let (fcount, h, w) = (st.clipShape[0], st.clipShape[1], st.clipShape[2])
        guard fcount > 0 else { return nil }
        let fi = min(st.frame, fcount - 1), per = h * w * 3
        func slice(_ clip: [Float]?) -> [Float]? { clip.map { Array($0[(fi * per)..<((fi + 1) * per)]) } }
        let t = slice(st.teacherFrames), s = slice(st.studentFrames)
        guard t != nil || s != nil else { return nil }
        let gutter = max(1, w / 16)
        let bg = [theme.background.r, theme.background.g, theme.background.b]
        if st.diff, let t, let s {
            var px = [UInt8](repeating: 0, count: per)
            for i in 0..<per { px[i] = UInt8(min(255, abs(t[i] - s[i]) * 4 * 255)) }
            return (w, h, px)
        }
        let W = 2 * w + gutter
        var px = [UInt8](repeating: 0, count: W * h * 3)
        for y in 0..<h {
            for x in 0..<W {
                let d = (y * W + x) * 3
                let src: [Float]?, sx: Int
                if x < w { (src, sx) = (t, x) } else if x >= w + gutter { (src, sx) = (s, x - w - gutter) } else { (src, sx) = (nil, 0) }
                if let src {
                    let k = (y * w + sx) * 3
                    for ch in 0..<3 { px[d + ch] = UInt8((min(max(src[k + ch], 0), 1) * 255).rounded()) }
                } else { px[d] = bg[0]; px[d + 1] = bg[1]; px[d + 2] = bg[2] }
            }
        }
        return (W, h, px)
    }
}

enum SpectraScreen {
    static func render(_ f: inout Frame, _ s: StudioState, _ theme: Theme, _ top: Int, _ rows: Int) {
        guard let sp = s.sample.spectra else {
            f.text("No spectra yet: sample a prompt on the Sample screen (3); its latents are analysed here.", row: top + 2, col: 2, style: theme.dimmed)
            return
        }
        let colors = ["teacher": theme.teacher, "student": theme.student, "data": theme.data]
        let half = f.cols / 2
        let plotRows = max(4, rows / 2 - 2)
        f.text("radially averaged spatial power (latent)\(s.spectraLogY ? " · log" : "")", row: top, col: 1, style: theme.dimmed, width: half - 2)
        f.text("temporal power (latent)", row: top, col: half, style: theme.dimmed)
        let order = ["data", "teacher", "student"]
        let spatial = order.compactMap { k in sp.spatial[k].map { Series($0.enumerated().dropFirst().map { (Double($0.offset), $0.element) }, color: colors[k]!) } }
        let temporal = order.compactMap { k in sp.temporal[k].map { Series($0.enumerated().dropFirst().map { (Double($0.offset), $0.element) }, color: colors[k]!) } }
        Plot.braille(&f, row: top + 1, col: 1, rows: plotRows, cols: half - 2, series: spatial, logY: s.spectraLogY, xLabel: "radial frequency bin", theme: theme)
        Plot.braille(&f, row: top + 1, col: half, rows: plotRows, cols: f.cols - half - 1, series: temporal, logY: s.spectraLogY, xLabel: "temporal frequency bin", theme: theme)
        var c = 1
        for k in order where sp.spatial[k] != nil {
            let hf = sp.highFrequencyRatio[k].map { String(format: " HF %.3f", $0) } ?? ""
            c += f.text("■ \(k)\(hf)   ", row: top + 1 + plotRows, col: c, style: theme.colored(colors[k]!))
        }
        // Per-channel 2D spectra: teacher (top row) and student (bottom row), one image with the theme's colormap.
        let mapTop = top + 3 + plotRows, mapRows = rows - plotRows - 4
        f.text("per-channel 2D spatial power (log): teacher above, student below", row: mapTop - 1, col: 1, style: theme.dimmed)
        guard mapRows >= 2, let t = sp.heatmaps["teacher"], !t.isEmpty else { return }
        let st = sp.heatmaps["student"] ?? []
        let (h, w) = sp.heatmapSize
        let channels = t.count, gap = 1
        let W = channels * (w + gap), H = 2 * h + gap
        var px = [UInt8](repeating: 0, count: W * H * 3)
        let all = (t + st).flatMap { $0 }
        let lo = all.min() ?? 0, hi = all.max() ?? 1
        for (row, maps) in [t, st].enumerated() {
            for (ci, m) in maps.enumerated() {
                for y in 0..<h { for x in 0..<w {
                    let v = (m[y * w + x] - lo) / max(hi - lo, 1e-9)
                    let c = Colormap.color(theme.colormap, v)
                    let d = ((row * (h + gap) + y) * W + ci * (w + gap) + x) * 3
                    px[d] = c.r; px[d + 1] = c.g; px[d + 2] = c.b
                } }
            }
        }
        let cols = min(f.cols - 2, max(8, Int(Double(mapRows) * 2 * Double(W) / Double(H))))
        f.images.append(ImageOverlay(row: mapTop, col: 1, rows: mapRows, cols: cols, width: W, height: H, pixels: px, version: s.sample.imageVersion &+ 7_000_000))
    }
}
