// `memn2n babi` on a small slice: every (task, seed) run, the chosen run per task, and the three result files;
// and a sweep killed part way resumes from its checkpoint to the same runs.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { SWEEP_PARTS } from "../src/cli/commands/babi.js";
import { mergeParts } from "../src/cli/shards.js";
import { BABI_EN, cliArgs, killWhen, ROOT, runCli, withTmpDir, withTmpDirAsync } from "./helpers.js";

/** The first `lines` lines of tasks 1 and 20, train and test, written to `dir`. */
function twoTasks(dir: string, lines: number): void {
  for (const f of ["qa1_single-supporting-fact", "qa20_agents-motivations"]) {
    for (const part of ["train", "test"]) {
      const text = readFileSync(join(BABI_EN, `${f}_${part}.txt`), "utf8")
        .split("\n")
        .slice(0, lines)
        .join("\n")
        .trimEnd();
      writeFileSync(join(dir, `${f}_${part}.txt`), `${text}\n`);
    }
  }
}

test("babi sweeps tasks and seeds and writes JSON, Markdown and SVG beside the paper's figures", () => {
  withTmpDir((dir) => {
    twoTasks(dir, 1200);
    const out = join(dir, "res", "sweep");
    const r = runCli([
      "babi",
      "--tasks",
      "1,3,20",
      "--data",
      dir,
      "--repeats",
      "2",
      "--epochs",
      "3",
      "--ls-epochs",
      "1",
      "--out",
      out,
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const j = r.json as {
      tasks: { task: number; paper: number; seed: number }[];
      skipped: { task: number }[];
    };
    assert.deepEqual(
      j.tasks.map((t) => t.task),
      [1, 20],
    );
    assert.deepEqual(
      j.skipped.map((s) => s.task),
      [3],
    );
    assert.equal(j.tasks[0].paper, 0.0);
    const full = JSON.parse(readFileSync(`${out}.json`, "utf8"));
    assert.equal(full.runs.length, 4);
    assert.ok(full.runs.every((x: { seed: number }) => x.seed === 1 || x.seed === 2));
    const md = readFileSync(`${out}.md`, "utf8");
    assert.match(md, /\| 1 \| single-supporting-fact \| [\d.]+ \| 0\.0 \| [12] \|/);
    assert.match(md, /\| 3 \| three-supporting-facts \| skipped/);
    assert.match(md, /Command: `memn2n babi --tasks 1,3,20/);
    assert.match(readFileSync(`${out}.svg`, "utf8"), /^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  });
});

/** How many finished runs, and runs under way, a sweep checkpoint holds ([-1, -1] before there is one). */
function held(ckpt: string): [number, number] {
  try {
    const j = JSON.parse(readFileSync(ckpt, "utf8"));
    return [j.done.length, j.inFlight.length];
  } catch {
    return [-1, -1];
  }
}

test("a babi sweep killed with SIGKILL resumes from its checkpoint to the same runs", async () => {
  await withTmpDirAsync(async (dir) => {
    twoTasks(dir, 3000);
    // Enough epochs that the moment to kill (a run finished, another under way, the last not begun) lasts
    // seconds, not the tenth of a second a busy CI machine's test process can sleep through.
    const args = ["babi", "--tasks", "1,20", "--data", dir, "--repeats", "3", "--epochs", "200"];
    args.push("--ls-rule", "fixed", "--ls-epochs", "2", "--workers", "2", "--quiet");
    const a = join(dir, "a");
    const whole = runCli([...args, "--out", a]);
    assert.equal(whole.code, 0, whole.stderr);

    const b = join(dir, "b");
    // Killed with runs finished, one under way and some not started: each kind resumes its own way.
    await killWhen([...args, "--out", b], () => {
      const [done, under] = held(`${b}.ckpt`);
      return done >= 1 && under >= 1 && done + under < 6;
    });
    const [done, under] = held(`${b}.ckpt`);
    // A run may finish between the look and the kill (on a busy machine, several), and start the last ones;
    // runs under way resume in the next test too (a sweep killed before any run finished).
    assert.ok(done >= 1 && done + under <= 6, `the checkpoint holds ${done} + ${under} runs`);
    assert.ok(!existsSync(`${b}.json`), "no results were written before the kill");

    const r = runCli([...args, "--out", b, "--resume"]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!existsSync(`${b}.ckpt`), "the checkpoint is removed once the results are written");
    const figures = (base: string) =>
      JSON.parse(readFileSync(`${base}.json`, "utf8")).runs.map(
        ({ seconds: _, ...run }: { seconds: number }) => run,
      );
    assert.deepEqual(figures(b), figures(a));
    assert.match(
      readFileSync(`${b}.md`, "utf8"),
      new RegExp(`Resumed from a checkpoint with ${done} of 6 runs`),
    );

    const other = runCli([...args, "--epochs", "13", "--out", join(dir, "c"), "--resume"]);
    assert.equal(other.code, 2);
    assert.match(other.stderr, /no checkpoint at .*c\.ckpt/);
  });
});

test("a sweep resumed before any run had finished counts the interrupted process's wall time and says so", async () => {
  await withTmpDirAsync(async (dir) => {
    twoTasks(dir, 3000);
    // As above: the moment (a run under way, none finished) should last seconds.
    const args = ["babi", "--tasks", "1", "--data", dir, "--repeats", "2", "--epochs", "300"];
    args.push("--ls-rule", "fixed", "--ls-epochs", "2", "--workers", "2", "--quiet", "--out", join(dir, "b"));
    const t0 = Date.now();
    await killWhen(args, () => {
      const [done, under] = held(join(dir, "b.ckpt"));
      return done === 0 && under >= 1;
    });
    const before = (Date.now() - t0) / 1000;
    const [done] = held(join(dir, "b.ckpt"));
    assert.equal(done, 0);
    const ckptWall = JSON.parse(readFileSync(join(dir, "b.ckpt"), "utf8")).wallSeconds as number;
    assert.ok(ckptWall > 0 && ckptWall <= before, `${ckptWall} s recorded of ${before} s`);
    const r = runCli([...args, "--resume"]);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(readFileSync(join(dir, "b.json"), "utf8"));
    assert.ok(result.wall_seconds >= ckptWall, `${result.wall_seconds} ≥ ${ckptWall}`);
    assert.match(
      readFileSync(join(dir, "b.md"), "utf8"),
      /Resumed from a checkpoint with 0 of 2 runs finished; the wall time counts every process's part/,
    );
  });
});

test("a run a results file chose is retrained bit for bit from what the file prints", () => {
  withTmpDir((dir) => {
    twoTasks(dir, 1500);
    const options = ["--data", dir, "--epochs", "6", "--ls-rule", "fixed", "--ls-epochs", "2"];
    const out = join(dir, "sweep");
    const sweep = runCli([
      "babi",
      "--tasks",
      "20",
      "--repeats",
      "3",
      "--seed",
      "4",
      ...options,
      "--out",
      out,
      "--quiet",
    ]);
    assert.equal(sweep.code, 0, sweep.stderr);
    const md = readFileSync(`${out}.md`, "utf8");
    const m = /`(--task 20 --seed (\d+) --split-seed 4 --repeats 1)`/.exec(md);
    assert.ok(m, md);
    const result = JSON.parse(readFileSync(`${out}.json`, "utf8"));
    const chosen = result.runs.find((r: { seed: number }) => r.seed === Number(m[2]));
    const again = runCli(["train", ...m[1].split(" "), ...options, "--json"]);
    assert.equal(again.code, 0, again.stderr);
    const j = again.json as { train_error: number; valid_error: number; test_error: number; epochs: number };
    assert.deepEqual(
      [j.train_error, j.valid_error, j.test_error, j.epochs],
      [chosen.train_error, chosen.valid_error, chosen.test_error, chosen.epochs],
    );
  });
});

test("a sweep run as three shards in separate processes and merged gives the one-process sweep's results", async () => {
  await withTmpDirAsync(async (dir) => {
    twoTasks(dir, 1200);
    const args = [
      "babi",
      "--tasks",
      "1,20",
      "--data",
      dir,
      "--repeats",
      "3",
      "--epochs",
      "3",
      "--ls-epochs",
      "1",
      "--quiet",
    ];
    const whole = runCli([...args, "--out", join(dir, "whole")]);
    assert.equal(whole.code, 0, whole.stderr);
    await Promise.all(
      [1, 2, 3].map(
        (k) =>
          new Promise<void>((resolve, reject) => {
            const child = spawn(
              process.execPath,
              cliArgs(...args, "--shard", `${k}/3`, "--out", join(dir, "s")),
              { cwd: ROOT, stdio: "ignore" },
            );
            child.on("exit", (code) =>
              code === 0 ? resolve() : reject(new Error(`shard ${k}: exit ${code}`)),
            );
          }),
      ),
    );
    const parts = [1, 2, 3].map((k) => join(dir, `s.part-${k}-of-3.json`));
    const missing = runCli(["babi", "merge", parts[0], parts[2], "--out", join(dir, "merged")]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^error: babi merge: shard 2 of 3 missing\n$/);
    // Forged or damaged parts: one line naming the file and the field, exit 2, nothing written.
    const part = (k: number) => JSON.parse(readFileSync(parts[k - 1], "utf8"));
    const forged = (name: string, edit: (p: Record<string, unknown> & { reports: unknown[] }) => unknown) => {
      const p = part(2);
      edit(p);
      const f = join(dir, `${name}.json`);
      writeFileSync(f, JSON.stringify(p));
      return [parts[0], f, parts[2]];
    };
    const cases: [string, (p: Record<string, unknown> & { reports: unknown[] }) => unknown, RegExp][] = [
      ["lost", (p) => p.reports.pop(), /babi merge: the parts do not cover every run \(run \d+ is missing\)/],
      [
        "stolen",
        (p) => ((p.reports[0] as { index: number }).index = (part(1).reports[0] as { index: number }).index),
        /stolen\.json: reports\.0\.index: run \d+ is not in shard 2 of 3/,
      ],
      ["twice", (p) => p.reports.push(p.reports[0]), /twice\.json: reports\.\d+\.index: run \d+ given twice/],
      [
        "proto",
        (p) => ((p.reports[0] as { index: unknown }).index = "__proto__"),
        /proto\.json: reports\.0\.index: /,
      ],
      ["half", (p) => ((p.reports[0] as { index: number }).index = 1.5), /half\.json: reports\.0\.index: /],
      ["past", (p) => (p.shard = [3, 2]), /past\.json: shard: must be \[k, n\] with 1 ≤ k ≤ n/],
      ["wall", (p) => (p.wall_seconds = "12"), /wall\.json: wall_seconds: /],
      ["workers", (p) => delete p.workers, /workers\.json: workers: /],
      [
        "error",
        (p) => ((p.reports[0] as { report: { testError: unknown } }).report.testError = null),
        /error\.json: reports\.0\.report\.testError: /,
      ],
    ];
    // The checks run in this process (the merge's own function); the command's one line and exit 2 once.
    for (const [name, edit, want] of cases) {
      assert.throws(() => mergeParts(forged(name, edit), SWEEP_PARTS, join(dir, "forged")), want, name);
    }
    const r = runCli([
      "babi",
      "merge",
      ...forged("lost2", (p) => p.reports.pop()),
      "--out",
      join(dir, "forged"),
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^error: babi merge: the parts do not cover every run \(run \d+ is missing\)\n$/);
    assert.ok(!existsSync(join(dir, "forged.json")));
    const merged = runCli(["babi", "merge", ...parts, "--out", join(dir, "merged")]);
    assert.equal(merged.code, 0, merged.stderr);
    const read = (base: string) => JSON.parse(readFileSync(join(dir, `${base}.json`), "utf8"));
    const [a, b] = [read("whole"), read("merged")];
    const runs = (r: { runs: { seconds: number }[] }) => r.runs.map(({ seconds: _, ...x }) => x);
    assert.deepEqual(runs(b), runs(a));
    for (const k of ["tasks", "mean_error", "failed", "config", "seeds", "skipped", "paper_mean"])
      assert.deepEqual(b[k], a[k], k);
    assert.equal(b.command, a.command.replace("whole", "merged"), "the sweep's command");
    const md = (base: string) =>
      readFileSync(join(dir, `${base}.md`), "utf8")
        .replace(/Wall time.*\n/, "")
        .replace(/\n- Run as 3 shards.*\n/, "\n");
    assert.equal(md("merged").replaceAll("merged", "whole"), md("whole"));
  });
});
