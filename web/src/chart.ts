// A live chart of per-epoch figures (uPlot): one line per series, redrawn as epochs arrive.

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export class EpochChart {
  private readonly plot: uPlot;
  private readonly data: number[][];
  private readonly host: HTMLElement;

  /** `unit`: "loss" (3 decimals), "percent" (a fraction as %), or "perplexity" (whole numbers). */
  constructor(
    host: HTMLElement,
    series: { label: string; color: string }[],
    unit: "loss" | "percent" | "perplexity" = "loss",
  ) {
    this.host = host;
    this.data = [[], ...series.map(() => [])];
    const fmt = (v: number | null) =>
      v === null
        ? ""
        : unit === "percent"
          ? `${(v * 100).toFixed(1)}%`
          : unit === "perplexity"
            ? v.toFixed(0)
            : v.toFixed(3);
    this.plot = new uPlot(
      {
        width: this.width(),
        height: 200,
        scales: { x: { time: false } },
        // epochs are whole: no ticks between them
        axes: [
          { label: "epoch", incrs: [1, 2, 5, 10, 20, 50, 100] },
          { values: (_u, ticks) => ticks.map((t) => fmt(t)), size: 60 },
        ],
        series: [
          { label: "epoch" },
          ...series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 2,
            value: (_u: uPlot, v: number | null) => fmt(v),
          })),
        ],
      },
      this.data as uPlot.AlignedData,
      host,
    );
    new ResizeObserver(() => this.plot.setSize({ width: this.width(), height: 200 })).observe(host);
  }

  private width(): number {
    return Math.max(200, this.host.clientWidth || 400);
  }

  /** Points drawn so far. */
  get points(): number {
    return this.data[0].length;
  }

  clear(): void {
    for (const s of this.data) s.length = 0;
    this.plot.setData(this.data as uPlot.AlignedData);
    this.host.dataset.points = "0";
  }

  push(x: number, ys: number[]): void {
    this.data[0].push(x);
    ys.forEach((y, i) => {
      this.data[i + 1].push(y);
    });
    this.plot.setData(this.data as uPlot.AlignedData);
    // What a reader (or a test) can check without reading the canvas.
    this.host.dataset.points = String(this.data[0].length);
    this.host.dataset.last = ys.join(",");
  }
}
