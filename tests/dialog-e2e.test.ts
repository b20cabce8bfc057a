// End to end on a slice of the real Dialog bAbI task 1: train with the CLI, test on the OOV set, then chat
// through a conversation of the test set and check the API call the bot makes; and an interrupted dialog
// training resumes to the same weights.
import assert from "node:assert/strict";
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseDialogs } from "../src/data/dialog.js";
import { killAtEpoch, runCli, SHARED_DATA, withTmpDir, withTmpDirAsync } from "./helpers.js";

const SRC = join(SHARED_DATA, "dialog-babi");
const FILES = {
  trn: "dialog-babi-task1-API-calls-trn.txt",
  dev: "dialog-babi-task1-API-calls-dev.txt",
  tst: "dialog-babi-task1-API-calls-tst.txt",
  oov: "dialog-babi-task1-API-calls-tst-OOV.txt",
};

/** The first n dialogs of a file (dialogs end with a blank line). */
function firstDialogs(file: string, n: number): string {
  const blocks = readFileSync(join(SRC, file), "utf8").split("\n\n");
  return `${blocks.slice(0, n).join("\n\n")}\n\n`;
}

function makeSlice(dir: string): void {
  writeFileSync(join(dir, FILES.trn), firstDialogs(FILES.trn, 250));
  writeFileSync(join(dir, FILES.dev), firstDialogs(FILES.dev, 60));
  writeFileSync(join(dir, FILES.tst), firstDialogs(FILES.tst, 200));
  writeFileSync(join(dir, FILES.oov), firstDialogs(FILES.oov, 200));
  for (const f of ["dialog-babi-candidates.txt", "dialog-babi-kb-all.txt"])
    copyFileSync(join(SRC, f), join(dir, f));
}

/** Accuracy of always giving the training set's most frequent response. */
function mostFrequentBaseline(dir: string): number {
  const responses = (file: string) =>
    parseDialogs(readFileSync(join(dir, file), "utf8"), file).flatMap((d) =>
      d.lines.flatMap((l) => (l.kind === "turn" ? [l.bot.join(" ")] : [])),
    );
  const counts = new Map<string, number>();
  for (const r of responses(FILES.trn)) counts.set(r, (counts.get(r) ?? 0) + 1);
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0];
  const tst = responses(FILES.tst);
  return tst.filter((r) => r === top).length / tst.length;
}

interface DialogJson {
  task: number;
  per_response_accuracy: number;
  per_dialog_accuracy: number;
  config: { epochs: number; dim: number };
}

test("dialog task 1 on a slice: far above the most-frequent-response baseline; chat makes the right API call", () => {
  withTmpDir((dir) => {
    makeSlice(dir);
    const baseline = mostFrequentBaseline(dir);
    assert.ok(baseline > 0.1 && baseline < 0.3, `baseline ${baseline}`);
    const model = join(dir, "m.json");
    const r = runCli([
      "dialog",
      "train",
      "--task",
      "1",
      "--match-type",
      "--data",
      dir,
      "--epochs",
      "6",
      "--dim",
      "20",
      "--out",
      model,
      "--json",
      "--workers",
      "1",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const j = r.json as DialogJson;
    assert.equal(j.task, 1);
    assert.equal(j.config.epochs, 6);
    assert.equal(j.config.dim, 20);
    assert.ok(
      j.per_response_accuracy > 0.9,
      `per-response ${j.per_response_accuracy} (baseline ${baseline})`,
    );
    assert.ok(j.per_response_accuracy > baseline + 0.6);
    assert.ok(j.per_dialog_accuracy > 0.5, `per-dialog ${j.per_dialog_accuracy}`);

    const t = runCli(["dialog", "test", "--model", model, "--oov", "--data", dir, "--json"]);
    assert.equal(t.code, 0, t.stderr);
    const o = t.json as DialogJson & { set: string };
    assert.equal(o.set, "tst-OOV");
    // The OOV set's restaurants never occur in training; match types carry the model over them.
    assert.ok(o.per_response_accuracy > 0.8, `OOV per-response ${o.per_response_accuracy}`);

    // A test-set conversation, the user's words only (no empty lines: the bot goes on by itself where the
    // data's users say nothing); the bot's API call must name the user's wishes.
    const dialog = parseDialogs(readFileSync(join(dir, FILES.tst), "utf8"), FILES.tst)[3];
    const turns = dialog.lines.flatMap((l) => (l.kind === "turn" ? [l] : []));
    const call = turns.findIndex((l) => l.bot[0] === "api_call");
    assert.ok(call > 0);
    const said = turns.slice(0, call + 1).filter((l) => l.user[0] !== "<silence>");
    assert.ok(said.length < call + 1, "the data's user says nothing somewhere before the call");
    writeFileSync(join(dir, "script.txt"), `${said.map((l) => l.user.join(" ")).join("\n")}\n`);
    const c = runCli(["chat", "--model", model, "--script", join(dir, "script.txt"), "--show-attention"]);
    assert.equal(c.code, 0, c.stderr);
    const replies = c.stdout.split("\n").filter((l) => l.startsWith("bot: "));
    assert.deepEqual(
      replies,
      turns.slice(0, call + 1).map((l) => `bot: ${l.bot.join(" ")}`),
    );
    assert.match(c.stdout, /hop 1: \d\.\d\d "/);
  });
});

test("chat: a missing model file is one error line, exit 2", () => {
  const r = runCli(["chat", "--model", "/nonexistent/m.json"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^error: .*m\.json/);
});

test("dialog train killed with SIGKILL resumes from its checkpoint to the same weights", async () => {
  await withTmpDirAsync(async (dir) => {
    makeSlice(dir);
    const args = [
      "dialog",
      "train",
      "--task",
      "1",
      "--data",
      dir,
      "--epochs",
      "10",
      "--dim",
      "16",
      "--quiet",
    ];
    const a = runCli([...args, "--out", join(dir, "a.json")]);
    assert.equal(a.code, 0, a.stderr);
    assert.ok(!existsSync(join(dir, "a.json.ckpt")), "the checkpoint is removed once the model is written");
    const out = join(dir, "b.json");
    const ckpt = `${out}.ckpt`;
    const killedAt = await killAtEpoch([...args, "--out", out], ckpt, 2);
    assert.ok(killedAt >= 2 && killedAt < 10, `killed at epoch ${killedAt}`);
    assert.ok(!existsSync(out), "no model was written before the kill");
    const r = runCli([...args, "--out", out, "--resume"]);
    assert.equal(r.code, 0, r.stderr);
    const wa = JSON.parse(readFileSync(join(dir, "a.json"), "utf8"));
    const wb = JSON.parse(readFileSync(out, "utf8"));
    assert.deepEqual(wb.weights, wa.weights);
    assert.deepEqual(wb.dialog, wa.dialog);
  });
});

test("dialog run: both variants of a task, results files beside the paper's figures", () => {
  withTmpDir((dir) => {
    makeSlice(dir);
    const out = join(dir, "res", "dialog");
    const r = runCli([
      "dialog",
      "run",
      "--tasks",
      "1",
      "--data",
      dir,
      "--epochs",
      "2",
      "--out",
      out,
      "--quiet",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(readFileSync(`${out}.json`, "utf8")) as {
      command: string;
      runs: { task: number; match_type: boolean; tests: { set: string; per_response_accuracy: number }[] }[];
    };
    assert.match(j.command, /^memn2n dialog run --tasks 1 /);
    assert.deepEqual(
      j.runs.map((x) => [x.task, x.match_type]),
      [
        [1, false],
        [1, true],
      ],
    );
    for (const x of j.runs)
      assert.deepEqual(
        x.tests.map((t) => t.set),
        ["tst", "tst-OOV"],
      );
    const md = readFileSync(`${out}.md`, "utf8");
    // Task 1's row: ours, then the paper's 99.9 (99.6) without and 100 (100) with match type.
    assert.match(md, /\| 1 \| [\d.]+ \| 99\.9 \| [\d.]+ \| 99\.6 \| [\d.]+ \| 100\.0 \| [\d.]+ \| 100\.0 \|/);
    assert.match(md, /## Out-of-vocabulary test sets/);
  });
});

test("a dialog model is refused by ask and test, a bAbI model by chat, each with one error line", () => {
  withTmpDir((dir) => {
    const babi = join(dir, "b.json");
    const t = runCli([
      "train",
      "--task",
      "1",
      "--epochs",
      "1",
      "--no-linear-start",
      "--out",
      babi,
      "--quiet",
    ]);
    assert.equal(t.code, 0, t.stderr);
    const c = runCli(["chat", "--model", babi]);
    assert.equal(c.code, 2);
    assert.match(c.stderr, /^error: .*b\.json: not a dialog model/);
    makeSlice(dir);
    const dlg = join(dir, "d.json");
    const d = runCli([
      "dialog",
      "train",
      "--task",
      "1",
      "--data",
      dir,
      "--epochs",
      "1",
      "--out",
      dlg,
      "--quiet",
    ]);
    assert.equal(d.code, 0, d.stderr);
    for (const args of [
      ["ask", "--model", dlg, "where?"],
      ["test", "--model", dlg],
    ]) {
      const r = runCli(args);
      assert.equal(r.code, 2, args[0]);
      assert.match(r.stderr, /^error: .*d\.json: a dialog model: use `memn2n chat`/);
    }
  });
});

test("dialog run as two shards, merged, gives the one-process run's results", () => {
  withTmpDir((dir) => {
    makeSlice(dir);
    const args = ["dialog", "run", "--tasks", "1", "--data", dir, "--epochs", "1", "--quiet"];
    const whole = runCli([...args, "--out", join(dir, "whole")]);
    assert.equal(whole.code, 0, whole.stderr);
    for (const k of [1, 2]) {
      const s = runCli([...args, "--shard", `${k}/2`, "--out", join(dir, "s")]);
      assert.equal(s.code, 0, s.stderr);
      assert.match(s.stdout, new RegExp(`shard ${k}/2: 1 of 2 runs`));
    }
    const parts = [1, 2].map((k) => join(dir, `s.part-${k}-of-2.json`));
    assert.equal(runCli(["dialog", "merge", parts[1], "--out", join(dir, "m")]).code, 2);
    const merged = runCli(["dialog", "merge", ...parts, "--out", join(dir, "merged")]);
    assert.equal(merged.code, 0, merged.stderr);
    const read = (b: string) => JSON.parse(readFileSync(join(dir, `${b}.json`), "utf8"));
    const runs = (r: { runs: { seconds: number }[] }) => r.runs.map(({ seconds: _, ...x }) => x);
    assert.deepEqual(runs(read("merged")), runs(read("whole")));
    assert.equal(read("merged").command, read("whole").command.replace("whole", "merged"));
  });
});
