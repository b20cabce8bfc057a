// A helper thread of the WebAssembly kernel, started by the page's Worker when the page is cross-origin
// isolated: it computes its share of each batch of the training run (src/model/kernel-threads.ts).
import { serveKernelThread } from "../../src/index.js";

serveKernelThread({
  on: (listener) => self.addEventListener("message", (e) => listener((e as MessageEvent).data)),
});
