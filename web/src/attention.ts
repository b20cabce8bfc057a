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
      td.style.background = `rgba(31, 95, 191, ${Math.min(1, w).toFixed(3)})`;
      td.style.color = w > 0.5 ? "white" : "inherit";
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
