// The model as the paper draws it (Sukhbaatar et al. 2015, Figure 1 (b), K hops), live for the question on
// show: the question's embedding u¹, each hop's attention p over the sentences, its read-out o and the new
// state u^{k+1}, then the answer softmax with its top answers. Vectors are columns of d cells (blue
// positive, orange negative, each scaled to its own largest value); attention columns have a cell a
// sentence. Pointing at or focusing a sentence (in the heatmap) marks its cell in every hop and says what
// share of that hop's read-out it gave.

import type { Answer } from "../../src/index.js";

const SVG = "http://www.w3.org/2000/svg";
const TOP = 34;
const HEIGHT = 150;
const COL = 14;

function el<K extends keyof SVGElementTagNameMap>(
  name: K,
  attrs: Record<string, string | number>,
  text?: string,
): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

const SUP = ["⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"];
const sup = (n: number) => [...String(n)].map((c) => SUP[Number(c)]).join("");

/** A vector as a column of cells: blue for positive, orange for negative, scaled to its largest value. */
function vectorColumn(g: SVGGElement, x: number, v: number[], label: string): void {
  const max = Math.max(1e-12, ...v.map(Math.abs));
  const h = HEIGHT / v.length;
  v.forEach((x0, k) => {
    const a = Math.min(1, Math.abs(x0) / max);
    const fill = x0 >= 0 ? `rgba(31, 95, 191, ${a.toFixed(3)})` : `rgba(214, 110, 20, ${a.toFixed(3)})`;
    g.append(el("rect", { x, y: TOP + k * h, width: COL, height: h + 0.05, fill }));
  });
  g.append(
    el("rect", { x, y: TOP, width: COL, height: HEIGHT, fill: "none", stroke: "#777", "stroke-width": 0.5 }),
  );
  g.append(el("text", { x: x + COL / 2, y: TOP - 6, "text-anchor": "middle", class: "fig-label" }, label));
}

export interface ModelFigure {
  svg: SVGSVGElement;
  /** Marks sentence i (of the answer's memory) in every hop, or clears the mark with null. */
  highlight(i: number | null): void;
}

export function modelFigure(a: Answer): ModelFigure {
  const { u, o, share, hopMap, relu } = a.inside;
  const K = o.length;
  const n = a.sentences.length;
  const hopWidth = 92;
  const answerX = 14 + COL + K * hopWidth + 18;
  // room for the answer's label ("answer: softmax of W u⁴", wider than its 120-unit bars)
  const width = answerX + 170;
  const height = TOP + HEIGHT + 52;
  const svg = el("svg", {
    viewBox: `0 0 ${width} ${height}`,
    class: "model-figure",
    role: "img",
    tabindex: 0,
    "aria-label":
      `The model on this question: ${K} hops. ` +
      a.attention
        .map((p, h) => {
          const i = p.indexOf(Math.max(...p));
          return `Hop ${h + 1} reads sentence ${i + 1} most (${(p[i] * 100).toFixed(0)}%).`;
        })
        .join(" ") +
      ` Answer: ${a.answer}.`,
  });
  svg.append(el("title", {}, "The model, hop by hop, on this question"));
  const g = el("g", {});
  svg.append(g);
  vectorColumn(g, 14, u[0], `u${sup(1)}`);
  g.append(
    el(
      "text",
      { x: 14 + COL / 2, y: TOP + HEIGHT + 16, "text-anchor": "middle", class: "fig-note" },
      "question",
    ),
  );
  const marks: SVGRectElement[] = [];
  const notes: SVGTextElement[] = [];
  for (let h = 0; h < K; h++) {
    const x0 = 14 + COL + h * hopWidth;
    const px = x0 + 16;
    const ox = px + COL + 12;
    const plus = ox + COL + 10;
    const ux = plus + 12;
    // The hop's box, as the paper's figure frames each layer.
    g.append(
      el("rect", {
        x: x0 + 8,
        y: TOP - 22,
        width: hopWidth - 20,
        height: HEIGHT + 32,
        rx: 6,
        class: "fig-hop",
      }),
    );
    g.append(
      el(
        "text",
        { x: x0 + 8 + (hopWidth - 20) / 2, y: TOP + HEIGHT + 28, "text-anchor": "middle", class: "fig-note" },
        `hop ${h + 1}`,
      ),
    );
    const ph = HEIGHT / Math.max(1, n);
    a.attention[h].forEach((w, i) => {
      g.append(
        el("rect", {
          x: px,
          y: TOP + i * ph,
          width: COL,
          height: ph + 0.05,
          fill: `rgba(31, 95, 191, ${Math.min(1, w).toFixed(3)})`,
        }),
      );
    });
    g.append(
      el("rect", {
        x: px,
        y: TOP,
        width: COL,
        height: HEIGHT,
        fill: "none",
        stroke: "#777",
        "stroke-width": 0.5,
      }),
    );
    g.append(
      el(
        "text",
        { x: px + COL / 2, y: TOP - 6, "text-anchor": "middle", class: "fig-label" },
        `p${sup(h + 1)}`,
      ),
    );
    const mark = el("rect", {
      x: px - 2,
      y: TOP,
      width: COL + 4,
      height: ph,
      class: "fig-mark",
      visibility: "hidden",
    });
    marks.push(mark);
    g.append(mark);
    vectorColumn(g, ox, o[h], `o${sup(h + 1)}`);
    g.append(
      el("text", { x: plus + 1, y: TOP + HEIGHT / 2 + 4, "text-anchor": "middle", class: "fig-op" }, "+"),
    );
    vectorColumn(g, ux, u[h + 1], `u${sup(h + 2)}`);
    const note = el(
      "text",
      { x: x0 + 8 + (hopWidth - 20) / 2, y: TOP + HEIGHT + 42, "text-anchor": "middle", class: "fig-note" },
      "",
    );
    notes.push(note);
    g.append(note);
  }
  // The answer: the softmax of W u^{K+1}, its top answers as bars.
  g.append(el("text", { x: answerX, y: TOP - 6, class: "fig-label" }, `answer: softmax of W u${sup(K + 1)}`));
  a.top.slice(0, 5).forEach((t, r) => {
    const y = TOP + 6 + r * 26;
    g.append(el("rect", { x: answerX, y, width: 120, height: 18, class: "fig-bar-bg" }));
    g.append(
      el("rect", { x: answerX, y, width: Math.max(1, 120 * t.probability), height: 18, class: "fig-bar" }),
    );
    g.append(
      el(
        "text",
        { x: answerX + 4, y: y + 13, class: "fig-answer" },
        `${t.answer} ${(t.probability * 100).toFixed(1)}%`,
      ),
    );
  });
  const rule = `uᵏ⁺¹ = ${relu ? "ReLU(" : ""}${hopMap ? "H " : ""}uᵏ + oᵏ${relu ? ")" : ""}`;
  g.append(el("text", { x: answerX, y: TOP + HEIGHT + 28, class: "fig-note" }, rule));
  return {
    svg,
    highlight(i) {
      for (let h = 0; h < K; h++) {
        if (i === null || i >= n) {
          marks[h].setAttribute("visibility", "hidden");
          notes[h].textContent = "";
          continue;
        }
        marks[h].setAttribute("visibility", "visible");
        marks[h].setAttribute("y", String(TOP + i * (HEIGHT / n)));
        notes[h].textContent = `${(share[h][i] * 100).toFixed(0)}% of o${sup(h + 1)}`;
      }
    },
  };
}
