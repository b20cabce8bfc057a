// The Train panel's progress line, apart from the panel so that it is testable without a page.

/**
 * Where a run is, by phase, with honest totals: linear start ends when the validation loss stops falling
 * (at most lsEpochs), so its length is not known until it ends; the schedule after it has `epochs` epochs.
 */
export function phaseText(
  epoch: number,
  phase: "linear" | "softmax",
  total: number,
  cfg: { epochs: number; lsEpochs: number; lsRule: string },
): string {
  if (phase === "linear") {
    const bound =
      cfg.lsRule === "fixed"
        ? `of ${cfg.lsEpochs}`
        : `of at most ${cfg.lsEpochs}, until the validation loss stops falling`;
    return `linear start: epoch ${epoch} ${bound}; then ${cfg.epochs} epochs of the schedule`;
  }
  const ls = total - cfg.epochs;
  return `schedule: epoch ${epoch - ls} of ${cfg.epochs}${ls > 0 ? ` (after ${ls} epochs of linear start)` : ""}`;
}
