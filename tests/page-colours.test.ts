// The attention heatmap's colours: every cell's text stands out from its background (WCAG AA, 4.5:1).
import assert from "node:assert/strict";
import { test } from "node:test";
import { cellColours } from "../web/src/attention.js";

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
