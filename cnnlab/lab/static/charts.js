// Line charts on the vendored uPlot: one x axis (batch or epoch), any number of named series,
// points appended live, width following the container so narrow windows are not cut off.
import uPlot from "./vendor/uPlot.esm.js";

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
  "#7f7f7f", "#bcbd22"];

export function colour(i) { return PALETTE[i % PALETTE.length]; }

export class LineChart {
  // names: the series; options.xLabel, options.yLabel, options.height, options.dashed (names drawn dashed)
  constructor(container, names, options = {}) {
    this.container = container;
    this.names = [...names];
    this.data = [[], ...this.names.map(() => [])];
    const dashed = new Set(options.dashed || []);
    const series = [{ label: options.xLabel || "x" }].concat(this.names.map((name, i) => ({
      label: name,
      stroke: options.colours ? options.colours[i] : colour(i),
      width: 2,
      dash: dashed.has(name) ? [6, 4] : undefined,
      spanGaps: true,
      points: { show: (u) => u.data[0].length < 40 },
    })));
    this.plot = new uPlot({
      width: this.width(),
      height: options.height || 240,
      scales: { x: { time: false } },
      // Batches and epochs are counted: no tick at 1.5.
      axes: [{ label: options.xLabel || "", size: 44, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] },
        { label: options.yLabel || "", size: 56 }],
      series,
      legend: { live: false },
    }, this.data, container);
    this.resizer = new ResizeObserver(() => this.plot.setSize({ width: this.width(), height: this.plot.height }));
    this.resizer.observe(container);
  }

  width() {
    return Math.max(200, Math.floor(this.container.clientWidth || 600));
  }

  // values: {name: number}; names missing from values get a gap.
  append(x, values) {
    this.data[0].push(x);
    this.names.forEach((name, i) => this.data[i + 1].push(name in values ? values[name] : null));
    this.plot.setData(this.data);
  }

  // pairs: [[x, {name: number}], ...] appended with one redraw; an x not after the last one is skipped
  // (a reconnected stream may repeat points).
  extend(pairs) {
    for (const [x, values] of pairs) {
      const xs = this.data[0];
      if (xs.length && x <= xs[xs.length - 1]) continue;
      xs.push(x);
      this.names.forEach((name, i) => this.data[i + 1].push(name in values ? values[name] : null));
    }
    this.plot.setData(this.data);
  }

  set(xs, columns) {
    this.data = [xs, ...this.names.map((name) => columns[name] || xs.map(() => null))];
    this.plot.setData(this.data);
  }

  get length() { return this.data[0].length; }

  destroy() {
    this.resizer.disconnect();
    this.plot.destroy();
  }
}
