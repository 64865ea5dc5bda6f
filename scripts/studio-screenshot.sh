#!/usr/bin/env bash
# A real-terminal check of the studio: xterm as a VT340 (sixel) under Xvfb, the studio opened on a
# screen, a PNG screenshot after it has sampled. Needs: xvfb xterm x11-apps imagemagick.
#   scripts/studio-screenshot.sh OUT.png [SCREEN] [RUNS_DIR] [PROMPT]     (EXTRA="--run NAME" adds options)
# GPD_BIN names another binary (e.g. a second release build while a training uses .build/release).
set -euo pipefail
out=${1:-docs/studio-sample.png}
screen=${2:-sample}
runs=${3:-runs}
prompt=${4:-a yellow square above a green triangle moving left on a gray background}
cd "$(dirname "$0")/.."
bin=${GPD_BIN:-.build/release/gpd}
[ -x "$bin" ] || swift build -c release --product gpd
display=:$((90 + RANDOM % 9))
Xvfb "$display" -screen 0 1280x860x24 >/dev/null 2>&1 &
xvfb=$!
trap 'kill $xterm $xvfb 2>/dev/null || true' EXIT
sleep 1
DISPLAY=$display xterm -ti vt340 -xrm 'XTerm*numColorRegisters: 256' -xrm 'XTerm*decTerminalID: vt340' \
    -geometry 112x36+0+0 -fa Monospace -fs 11 -bg '#101318' -fg '#d8dee9' \
    -e "env TERM=xterm-256color $bin studio --runs $runs --screen $screen --prompt '$prompt' ${EXTRA:-}" &
xterm=$!
sleep "${WAIT:-25}"
DISPLAY=$display xwd -root -silent | convert xwd:- -crop 1240x820+0+0 "$out"
echo "wrote $out"
