// The page's pure parts: the heatmap's colours (WCAG AA contrast) and the training progress text.
import assert from "node:assert/strict";
import { test } from "node:test";
import { cellColours } from "../web/src/attention.js";
import { phaseText } from "../web/src/progress.js";

const luminance = (css: string) => {
  const hex = css === "#000" ? [0, 0, 0] : css === "#fff" ? [255, 255, 255] : css.match(/\d+/g)!.map(Number);
  const lin = hex.map((c) => {
    const x = c / 255;
    return x <= 0.04045 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
};

test("heatmap cells: text contrast at least 4.5:1 for every weight from 0 to 1", () => {
  let worst = Infinity;
  for (let i = 0; i <= 1000; i++) {
    const { background, color } = cellColours(i / 1000);
    const [a, b] = [luminance(background), luminance(color)].sort((x, y) => y - x);
    worst = Math.min(worst, (a + 0.05) / (b + 0.05));
  }
  assert.ok(worst >= 4.5, `worst contrast ${worst.toFixed(2)}:1`);
  // The weights the issue found at 2.2-3.3:1 (0.5-0.7) are among those checked; the ends stay white and blue.
  assert.equal(cellColours(0).background, "rgb(255, 255, 255)");
  assert.equal(cellColours(1).background, "rgb(31, 95, 191)");
});

test("training progress: phases with honest totals, linear start's length not promised", () => {
  const cfg = { epochs: 100, lsEpochs: 60, lsRule: "valid" };
  assert.equal(
    phaseText(2, "linear", 160, cfg),
    "linear start: epoch 2 of at most 60, until the validation loss stops falling; then 100 epochs of the schedule",
  );
  // Linear start ended after 41 epochs: the schedule counts its own epochs, and says what came before.
  assert.equal(
    phaseText(126, "softmax", 141, cfg),
    "schedule: epoch 85 of 100 (after 41 epochs of linear start)",
  );
  assert.equal(phaseText(15, "softmax", 15, { ...cfg, epochs: 15 }), "schedule: epoch 15 of 15");
  assert.equal(
    phaseText(3, "linear", 120, { ...cfg, lsRule: "fixed", lsEpochs: 20 }),
    "linear start: epoch 3 of 20; then 100 epochs of the schedule",
  );
});
