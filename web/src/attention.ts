// Every hop's attention as a heatmap beside the sentences: rows are the memory's sentences, columns the
// hops (the paper's figure of attention weights, made live).

export interface AttentionView {
  sentences: string[];
  /** attention[hop][row] */
  attention: number[][];
  /** Rows to mark as supporting facts. */
  supporting?: Set<number>;
}

export function attentionTable(view: AttentionView): HTMLTableElement {
  const table = document.createElement("table");
  const caption = table.createCaption();
  caption.textContent = "Attention of each hop over the memory";
  const head = table.createTHead().insertRow();
  const corner = document.createElement("th");
  corner.scope = "col";
  corner.textContent = "sentence";
  head.append(corner);
  view.attention.forEach((_, k) => {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = `hop ${k + 1}`;
    head.append(th);
  });
  const body = table.createTBody();
  view.sentences.forEach((s, i) => {
    const row = body.insertRow();
    if (view.supporting?.has(i)) row.className = "support";
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = s;
    row.append(th);
    for (const hop of view.attention) {
      const w = hop[i] ?? 0;
      const td = row.insertCell();
      td.className = "cell";
      td.textContent = w.toFixed(2);
      td.dataset.weight = String(w);
      const { background, color } = cellColours(w);
      td.style.background = background;
      td.style.color = color;
    }
  });
  return table;
}

/** For each hop, the row it attended to most and its weight. */
export function strongest(attention: number[][]): { row: number; weight: number }[] {
  return attention.map((hop) => {
    let row = 0;
    for (let i = 1; i < hop.length; i++) if (hop[i] > hop[row]) row = i;
    return { row, weight: hop[row] ?? 0 };
  });
}

const BLUE = [31, 95, 191];

/**
 * A weight's cell: white blended towards blue by the weight (opaque, so the contrast does not depend on
 * what is behind), and black or white text, whichever contrasts more; the worst case, at the crossover, is
 * 4.58:1 (WCAG AA asks 4.5).
 */
export function cellColours(weight: number): { background: string; color: string } {
  const w = Math.min(1, Math.max(0, weight));
  const rgb = BLUE.map((c) => Math.round(255 + w * (c - 255)));
  const lin = rgb.map((c) => {
    const x = c / 255;
    return x <= 0.04045 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
  });
  const L = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
  const onBlack = (L + 0.05) / 0.05;
  const onWhite = 1.05 / (L + 0.05);
  return { background: `rgb(${rgb.join(", ")})`, color: onBlack >= onWhite ? "#000" : "#fff" };
}
