// The page: four panels over one Worker. The state that makes a run (tab, task, config, seed) lives in
// the URL.

import { setupAsk } from "./ask-panel.js";
import { setupChat } from "./chat-panel.js";
import { setupNext } from "./next-panel.js";
import { $, Page } from "./page.js";
import { dataIndex, shippedModels } from "./sources.js";
import "./style.css";
import { setupTrain } from "./train-panel.js";
import { parseState, type Tab } from "./url-state.js";
import { WorkerClient } from "./worker-client.js";

async function main(): Promise<void> {
  const client = new WorkerClient();
  const [{ simd, threads }, data, shipped] = await Promise.all([client.ready, dataIndex(), shippedModels()]);
  const page = new Page(client, parseState(location.search), data, shipped, simd, threads);
  const notes: string[] = [];
  if (!simd)
    notes.push(
      "This browser has no WebAssembly SIMD: training runs on the JavaScript code instead, several times slower.",
    );
  if (threads === 1 && !crossOriginIsolated)
    notes.push(
      "This host does not send the cross-origin isolation headers (COOP, COEP), so training runs on one thread; `memn2n serve` sends them.",
    );
  if (notes.length > 0) {
    const n = $("notice");
    n.hidden = false;
    n.textContent = notes.join(" ");
  }
  setupTabs(page);
  setupTrain(page);
  setupChat(page);
  setupNext(page);
  await setupAsk(page);
  page.saveState();
  document.body.dataset.threads = String(threads);
  document.body.dataset.readyMs = performance.now().toFixed(1);
  document.body.dataset.ready = "true";
}

function setupTabs(page: Page): void {
  const tabs = [...document.querySelectorAll<HTMLButtonElement>('[role="tab"]')];
  const show = (tab: Tab, focus = false) => {
    for (const t of tabs) {
      const on = t.dataset.tab === tab;
      t.setAttribute("aria-selected", String(on));
      t.tabIndex = on ? 0 : -1;
      $(`panel-${t.dataset.tab}`).hidden = !on;
      if (on && focus) t.focus();
    }
    page.state.tab = tab;
    page.saveState();
  };
  for (const t of tabs) {
    t.addEventListener("click", () => show(t.dataset.tab as Tab));
    t.addEventListener("keydown", (e) => {
      const i = tabs.indexOf(t);
      const to =
        e.key === "ArrowRight"
          ? i + 1
          : e.key === "ArrowLeft"
            ? i - 1
            : e.key === "Home"
              ? 0
              : e.key === "End"
                ? tabs.length - 1
                : null;
      if (to === null) return;
      e.preventDefault();
      show(tabs[(to + tabs.length) % tabs.length].dataset.tab as Tab, true);
    });
  }
  show(page.state.tab);
}

main().catch((e: unknown) => {
  const n = document.getElementById("notice");
  if (n) {
    n.hidden = false;
    n.textContent = `The page could not start: ${(e as Error).message}`;
  }
});
