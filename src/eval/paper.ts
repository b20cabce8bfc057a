// The paper's figures (Sukhbaatar et al. 2015, Table 1: test error %, 1k training questions per task), in
// one place, with the paper's column names, so every report prints them beside ours. Each column's mean and
// failed-task count (error > 5%) below are the paper's own and agree with its per-task numbers.
// For 10k training data only the means and failed counts are recorded here (per task: null).

export interface PaperColumn {
  /** The paper's column heading. */
  name: string;
  /** Training set the column is for. */
  set: "en" | "en-10k";
  joint: boolean;
  /** Test error % for tasks 1..20 (index 0 is task 1); null where not recorded. */
  errors: (number | null)[];
  mean: number;
  failed: number;
}

export const PAPER_COLUMNS: PaperColumn[] = [
  {
    name: "MemN2N BoW",
    set: "en",
    joint: false,
    errors: [
      0.6, 17.6, 71.0, 32.0, 18.3, 8.7, 23.5, 11.4, 21.1, 22.8, 4.1, 0.3, 10.5, 1.3, 24.3, 52.0, 45.4, 48.1,
      89.7, 0.1,
    ],
    mean: 25.1,
    failed: 15,
  },
  {
    name: "MemN2N PE",
    set: "en",
    joint: false,
    errors: [
      0.1, 21.6, 64.2, 3.8, 14.1, 7.9, 21.6, 12.6, 23.3, 17.4, 4.3, 0.3, 9.9, 1.8, 0.0, 52.1, 50.1, 13.6,
      87.4, 0.0,
    ],
    mean: 20.3,
    failed: 13,
  },
  {
    name: "MemN2N PE LS",
    set: "en",
    joint: false,
    errors: [
      0.2, 12.8, 58.8, 11.6, 15.7, 8.7, 20.3, 12.7, 17.0, 18.6, 0.0, 0.1, 0.3, 2.0, 0.0, 1.6, 49.0, 10.1,
      85.6, 0.0,
    ],
    mean: 16.3,
    failed: 12,
  },
  {
    name: "MemN2N PE LS RN",
    set: "en",
    joint: false,
    errors: [
      0.0, 8.3, 40.3, 2.8, 13.1, 7.6, 17.3, 10.0, 13.2, 15.1, 0.9, 0.2, 0.4, 1.7, 0.0, 1.3, 51.0, 11.1, 82.8,
      0.0,
    ],
    mean: 13.9,
    failed: 11,
  },
  {
    name: "MemN2N PE LS RN joint",
    set: "en",
    joint: true,
    errors: [
      0.0, 11.4, 21.9, 13.4, 14.4, 2.8, 18.3, 9.3, 1.9, 6.5, 0.3, 0.1, 0.2, 6.9, 0.0, 2.7, 40.4, 9.4, 88.0,
      0.0,
    ],
    mean: 12.4,
    failed: 11,
  },
  {
    // Memory Networks (Weston, Chopra, Bordes 2015) trained with the supporting facts: Table 1's "MemNN".
    name: "MemNN (strong supervision)",
    set: "en",
    joint: false,
    errors: [
      0.0, 0.0, 0.0, 0.0, 2.0, 0.0, 15.0, 9.0, 0.0, 2.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 35.0, 5.0, 64.0, 0.0,
    ],
    mean: 6.7,
    failed: 4,
  },
  {
    name: "MemN2N PE LS RN (10k)",
    set: "en-10k",
    joint: false,
    errors: new Array(20).fill(null),
    mean: 6.6,
    failed: 4,
  },
  {
    name: "MemN2N PE LS RN joint (10k)",
    set: "en-10k",
    joint: true,
    errors: new Array(20).fill(null),
    mean: 7.5,
    failed: 6,
  },
];

/** The paper's column for a configuration, if it has one (its columns are all adjacent tying, no ReLU). */
export function paperColumn(opts: {
  set: string;
  joint: boolean;
  encoding: "bow" | "pe" | "pe-official";
  linearStart: boolean;
  randomNoise: boolean;
  tying: "adjacent" | "layerwise";
  nonlin: "none" | "relu";
  superviseAttention?: number;
  matchQuestion?: boolean;
}): PaperColumn | undefined {
  // A model trained with the supporting facts stands beside the strongly supervised MemNN (1k only).
  if (opts.superviseAttention) {
    return opts.set === "en" && !opts.joint
      ? PAPER_COLUMNS.find((c) => c.name === "MemNN (strong supervision)")
      : undefined;
  }
  if (opts.tying !== "adjacent" || opts.nonlin !== "none" || opts.matchQuestion) return undefined;
  let name = opts.encoding === "bow" ? "MemN2N BoW" : "MemN2N PE";
  if (opts.linearStart) name += " LS";
  if (opts.randomNoise) name += " RN";
  if (opts.joint) name += " joint";
  if (opts.set === "en-10k") name += " (10k)";
  return PAPER_COLUMNS.find((c) => c.name === name);
}

/** Tasks with test error above 5% fail, as in the paper. */
export const FAIL_THRESHOLD = 0.05;

/**
 * The dialog paper's MemN2N figures (Bordes, Boureau, Weston 2017, Table 2): per-response accuracy % and,
 * in the paper's parentheses, per-dialog accuracy %, on the test sets and the OOV test sets (tasks 1-5),
 * without and with match-type features. Task 6 has no OOV set.
 */
export interface DialogPaperRow {
  task: number;
  /** "tst" or "tst-OOV". */
  set: string;
  matchType: boolean;
  perResponse: number;
  perDialog: number;
}

const DIALOG_TABLE: [string, boolean, [number, number][]][] = [
  [
    "tst",
    false,
    [
      [99.9, 99.6],
      [100, 100],
      [74.9, 2.0],
      [59.5, 3.0],
      [96.1, 49.4],
      [41.1, 0.0],
    ],
  ],
  [
    "tst",
    true,
    [
      [100, 100],
      [98.3, 83.9],
      [74.9, 0.0],
      [100, 100],
      [93.4, 19.7],
      [41.0, 0.0],
    ],
  ],
  [
    "tst-OOV",
    false,
    [
      [72.3, 0.0],
      [78.9, 0.0],
      [74.4, 0.0],
      [57.0, 0.0],
      [65.5, 0.0],
    ],
  ],
  [
    "tst-OOV",
    true,
    [
      [96.5, 82.7],
      [94.5, 48.4],
      [75.2, 0.0],
      [100, 100],
      [77.7, 0.0],
    ],
  ],
];

export const DIALOG_PAPER: DialogPaperRow[] = DIALOG_TABLE.flatMap(([set, matchType, rows]) =>
  rows.map(([perResponse, perDialog], i) => ({ task: i + 1, set, matchType, perResponse, perDialog })),
);

export function dialogPaper(task: number, set: string, matchType: boolean): DialogPaperRow | undefined {
  return DIALOG_PAPER.find((r) => r.task === task && r.set === set && r.matchType === matchType);
}
