/* global document */
/**
 * Small SVG charts for the admin panel: a time-series line/area chart and a ring gauge. Each call
 * redraws the whole <svg> from data (a few hundred points at most), so there is no state to keep.
 */
const NS = "http://www.w3.org/2000/svg";
const W = 600;
const H = 220;
const PAD = { left: 46, right: 14, top: 14, bottom: 26 };

function el(name, attrs, text) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function clear(svg) {
  while (svg.firstChild) svg.removeChild(svg.firstChild);
}

function niceMax(value) {
  if (!(value > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= value) return m * p;
  return 10 * p;
}

function timeLabel(ms) {
  return new Date(ms).toTimeString().slice(0, 8);
}

function formatTick(v) {
  if (v === 0) return "0";
  if (v >= 100) return v.toFixed(0);
  if (v >= 1) return v.toFixed(1).replace(/\.0$/, "");
  return v.toPrecision(2);
}

function empty(svg, message) {
  svg.appendChild(el("text", { x: W / 2, y: H / 2, class: "empty", "text-anchor": "middle" }, message));
}

/**
 * series: [{ name, color, points: [{ t: epoch ms, v: number|null }] }]
 * options: { stacked?: boolean, area?: boolean, thresholds?: [{ value, label, color }], unit?: string, emptyText }
 */
export function timeChart(svg, series, options = {}) {
  clear(svg);
  const all = series.flatMap((s) => s.points).filter((p) => p.v !== null && Number.isFinite(p.v));
  if (all.length === 0) {
    empty(svg, options.emptyText ?? "no data yet");
    return;
  }
  const t0 = Math.min(...all.map((p) => p.t));
  const t1 = Math.max(...all.map((p) => p.t), t0 + 1);
  const times = [...new Set(all.map((p) => p.t))].sort((a, b) => a - b);
  const stackTotals = times.map((t) =>
    series.reduce((sum, s) => sum + (s.points.find((p) => p.t === t)?.v ?? 0), 0),
  );
  const peak = options.stacked ? Math.max(...stackTotals) : Math.max(...all.map((p) => p.v));
  const thresholdPeak = Math.max(0, ...(options.thresholds ?? []).map((th) => th.value * 1.15));
  const yMax = niceMax(Math.max(peak * 1.1, thresholdPeak));
  const x = (t) => PAD.left + ((t - t0) / (t1 - t0)) * (W - PAD.left - PAD.right);
  const y = (v) => H - PAD.bottom - (v / yMax) * (H - PAD.top - PAD.bottom);

  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    svg.appendChild(el("line", { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: "grid" }));
    svg.appendChild(
      el("text", { x: PAD.left - 6, y: y(v) + 4, class: "tick", "text-anchor": "end" }, formatTick(v)),
    );
  }
  svg.appendChild(el("text", { x: PAD.left, y: H - 6, class: "tick" }, timeLabel(t0)));
  svg.appendChild(
    el("text", { x: W - PAD.right, y: H - 6, class: "tick", "text-anchor": "end" }, timeLabel(t1)),
  );

  // Labels alternate between the left and right ends so close thresholds stay readable.
  (options.thresholds ?? []).forEach((th, i) => {
    svg.appendChild(
      el("line", {
        x1: PAD.left,
        x2: W - PAD.right,
        y1: y(th.value),
        y2: y(th.value),
        class: "threshold",
        stroke: th.color,
      }),
    );
    const left = i % 2 === 0;
    svg.appendChild(
      el(
        "text",
        {
          x: left ? PAD.left + 4 : W - PAD.right - 4,
          y: y(th.value) - 4,
          class: "tick",
          fill: th.color,
          "text-anchor": left ? "start" : "end",
        },
        th.label,
      ),
    );
  });

  const base = times.map(() => 0);
  for (const s of series) {
    const pts = times.map((t, i) => {
      const v = s.points.find((p) => p.t === t)?.v ?? null;
      if (!options.stacked) return v === null ? null : [x(t), y(v), y(0)];
      const lower = base[i];
      base[i] += v ?? 0;
      return [x(t), y(base[i]), y(lower)];
    });
    const defined = pts.filter((p) => p !== null);
    if (defined.length === 0) continue;
    if (options.area || options.stacked) {
      const top = defined.map(([px, py]) => `${px},${py}`).join(" ");
      const bottom = [...defined]
        .reverse()
        .map(([px, , pb]) => `${px},${pb}`)
        .join(" ");
      svg.appendChild(el("polygon", { points: `${top} ${bottom}`, fill: s.color, class: "area" }));
    }
    svg.appendChild(
      el("polyline", {
        points: defined.map(([px, py]) => `${px},${py}`).join(" "),
        stroke: s.color,
        class: "line",
      }),
    );
    if (defined.length === 1) {
      const [px, py] = defined[0];
      svg.appendChild(el("circle", { cx: px, cy: py, r: 3.5, fill: s.color }));
    }
  }
  let lx = PAD.left + 6;
  for (const s of series.filter((s) => s.points.some((p) => p.v !== null))) {
    svg.appendChild(el("rect", { x: lx, y: PAD.top - 2, width: 10, height: 10, rx: 2, fill: s.color }));
    const label = el("text", { x: lx + 14, y: PAD.top + 7, class: "legend" }, s.name);
    svg.appendChild(label);
    lx += 24 + s.name.length * 7;
  }
}

/** A ring gauge of `fraction` (0..1, or null) with a caption and side facts. */
export function ring(svg, fraction, { label, color, facts = [], emptyText }) {
  clear(svg);
  const cx = 120;
  const cy = H / 2;
  const r = 72;
  svg.appendChild(el("circle", { cx, cy, r, class: "ring-track" }));
  if (fraction === null || !Number.isFinite(fraction)) {
    svg.appendChild(el("text", { x: cx, y: cy + 6, class: "ring-value", "text-anchor": "middle" }, "–"));
    svg.appendChild(el("text", { x: 380, y: cy, class: "empty", "text-anchor": "middle" }, emptyText));
    return;
  }
  const length = 2 * Math.PI * r;
  svg.appendChild(
    el("circle", {
      cx,
      cy,
      r,
      class: "ring-value-arc",
      stroke: color,
      "stroke-dasharray": `${length * fraction} ${length}`,
      transform: `rotate(-90 ${cx} ${cy})`,
    }),
  );
  svg.appendChild(
    el(
      "text",
      { x: cx, y: cy + 8, class: "ring-value", "text-anchor": "middle" },
      `${(fraction * 100).toFixed(1)}%`,
    ),
  );
  svg.appendChild(el("text", { x: cx, y: cy + 30, class: "tick", "text-anchor": "middle" }, label));
  facts.forEach(([name, value], i) => {
    const fy = 58 + i * 34;
    svg.appendChild(el("text", { x: 250, y: fy, class: "fact-name" }, name));
    svg.appendChild(el("text", { x: 580, y: fy, class: "fact-value", "text-anchor": "end" }, value));
    svg.appendChild(el("line", { x1: 250, x2: 580, y1: fy + 10, y2: fy + 10, class: "grid" }));
  });
}
