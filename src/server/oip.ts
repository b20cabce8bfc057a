// The Open Inference Protocol (KServe v2 REST) over the same models: server and model metadata, health,
// and infer with BYTES tensors. bAbI models take `story` [n] and `question` [1]; dialog models take
// `history` [n] (lines as /v1/.../reply takes them) and `user` [1]. Both answer `answer` (BYTES [1]),
// `probability` (FP32 [1]) and `attention` (FP32 [hops, n], row-major); bAbI models also `dont_know` (BYTES
// [1]: why the model does not know, or ""). Errors are {"error": "..."}.

import type { FastifyInstance } from "fastify";
import { DONT_KNOW } from "../api/model.js";
import { fieldErrors, HttpError } from "./errors.js";
import type { Registry, Served } from "./registry.js";

interface InferInput {
  name: string;
  shape: number[];
  datatype: string;
  data: unknown[];
}

const SIGNATURES = {
  babi: { inputs: ["story", "question"], many: "story", one: "question" },
  dialog: { inputs: ["history", "user"], many: "history", one: "user" },
} as const;

export function inferRoutes(
  app: FastifyInstance,
  registry: Registry,
  limits: { maxLines: number; maxSentenceChars: number; version: string },
): void {
  const model = (name: string): Served => {
    const s = registry.get(name);
    if (!s) throw new HttpError(404, "model", `no model named ${name}`);
    return s;
  };
  const tags = ["v2 (Open Inference Protocol)"];
  app.get("/v2", { schema: { tags, summary: "server metadata" } }, async () => ({
    name: "memn2n",
    version: limits.version,
    extensions: [],
  }));
  app.get("/v2/health/live", { schema: { tags, summary: "liveness" } }, async () => ({ live: true }));
  app.get("/v2/health/ready", { schema: { tags, summary: "readiness: every model loaded" } }, async () => ({
    ready: registry.all().length > 0,
  }));
  app.get<{ Params: { name: string } }>(
    "/v2/models/:name",
    { schema: { tags, summary: "model metadata" } },
    async (req) => {
      const s = model(req.params.name);
      const sig = SIGNATURES[s.kind];
      return {
        name: s.name,
        versions: ["1"],
        platform: "memn2n",
        inputs: [
          { name: sig.many, datatype: "BYTES", shape: [-1] },
          { name: sig.one, datatype: "BYTES", shape: [1] },
        ],
        outputs: outputsOf(s),
      };
    },
  );
  app.get<{ Params: { name: string } }>(
    "/v2/models/:name/ready",
    { schema: { tags, summary: "model readiness" } },
    async (req) => ({ name: model(req.params.name).name, ready: true }),
  );
  app.post<{ Params: { name: string }; Body: unknown }>(
    "/v2/models/:name/infer",
    {
      schema: {
        tags,
        summary: "inference: BYTES inputs story [n] and question [1] (dialog: history [n], user [1])",
        body: {
          type: "object",
          required: ["inputs"],
          properties: {
            id: { type: "string", maxLength: 200 },
            inputs: {
              type: "array",
              maxItems: 10,
              items: {
                type: "object",
                required: ["name", "shape", "datatype", "data"],
                properties: {
                  name: { type: "string", maxLength: 100 },
                  shape: { type: "array", maxItems: 4, items: { type: "integer", minimum: 0 } },
                  datatype: { type: "string", maxLength: 20 },
                  data: { type: "array", maxItems: limits.maxLines },
                },
              },
            },
            outputs: {
              type: "array",
              maxItems: 10,
              items: {
                type: "object",
                required: ["name"],
                properties: { name: { type: "string", maxLength: 100 } },
              },
            },
          },
        },
      },
    },
    async (req) => {
      const s = model(req.params.name);
      const body = req.body as { id?: string; inputs: InferInput[]; outputs?: { name: string }[] };
      const sig = SIGNATURES[s.kind];
      const byName = new Map(body.inputs.map((i) => [i.name, i]));
      // The same input twice would leave one of them unread, silently.
      if (byName.size !== body.inputs.length) {
        const twice = body.inputs.find((i, k) => body.inputs.findIndex((j) => j.name === i.name) !== k)!;
        throw new HttpError(400, `inputs.${twice.name}`, "given twice");
      }
      // Only the outputs there are may be asked for.
      const known = outputsOf(s).map((o) => o.name);
      for (const o of body.outputs ?? []) {
        if (!known.includes(o.name))
          throw new HttpError(
            400,
            `outputs.${o.name}`,
            `not an output of this model (it has ${known.join(", ")})`,
          );
      }
      for (const i of body.inputs) {
        if (!(sig.inputs as readonly string[]).includes(i.name)) {
          throw new HttpError(
            400,
            `inputs.${i.name}`,
            `not an input of this model (it takes ${sig.inputs.join(" and ")})`,
          );
        }
      }
      const strings = (name: string, exactlyOne: boolean): string[] => {
        const t = byName.get(name);
        if (!t) {
          if (!exactlyOne) return [];
          throw new HttpError(400, `inputs.${name}`, "missing");
        }
        if (t.datatype !== "BYTES")
          throw new HttpError(400, `inputs.${name}.datatype`, `expected BYTES, got ${t.datatype}`);
        const count = t.shape.reduce((a, b) => a * b, 1);
        if (t.shape.length !== 1 || count !== t.data.length || (exactlyOne && count !== 1)) {
          throw new HttpError(
            400,
            `inputs.${name}.shape`,
            `expected [${exactlyOne ? 1 : t.data.length}] for ${t.data.length} values`,
          );
        }
        return t.data.map((x, k) => {
          if (typeof x !== "string")
            throw new HttpError(400, `inputs.${name}.data.${k}`, "expected a string");
          // A history line holds a user's line and the bot's (twice the room); a sentence or a question one.
          const most = name === "history" ? 2 * limits.maxSentenceChars : limits.maxSentenceChars;
          if (x.length > most) {
            throw new HttpError(400, `inputs.${name}.data.${k}`, `longer than ${most} characters`);
          }
          return x;
        });
      };
      const many = strings(sig.many, false);
      const [one] = strings(sig.one, true);
      let answer: string;
      let probability: number;
      let attention: number[][];
      // bAbI models: "I don't know" and why, or "" when the model knows words of the question and story.
      let dontKnow: string | null = null;
      if (s.kind === "babi") {
        if (one.trim() === "") throw new HttpError(400, "inputs.question", "empty");
        const story = many.map((x) => x.trim()).filter((x) => x !== "");
        if (story.length === 0) throw new HttpError(400, "inputs.story", "no sentences");
        const a = s.model!.answer(story, one);
        ({ answer, probability, attention } = a);
        dontKnow = a.dontKnow === null ? "" : DONT_KNOW[a.dontKnow];
      } else {
        const r = fieldErrors(() => s.bot!.replyTo(many, one), "inputs.");
        ({ response: answer, probability, attention } = r);
      }
      const n = attention[0]?.length ?? 0;
      return {
        model_name: s.name,
        model_version: "1",
        ...(body.id !== undefined ? { id: body.id } : {}),
        outputs: [
          { name: "answer", datatype: "BYTES", shape: [1], data: [answer] },
          { name: "probability", datatype: "FP32", shape: [1], data: [Math.fround(probability)] },
          {
            name: "attention",
            datatype: "FP32",
            shape: [attention.length, n],
            data: attention.flat().map(Math.fround),
          },
          ...(dontKnow !== null
            ? [{ name: "dont_know", datatype: "BYTES", shape: [1], data: [dontKnow] }]
            : []),
        ],
      };
    },
  );
}

/** A model's outputs, as its metadata lists them and as an inference request may ask for them. */
function outputsOf(s: Served): { name: string; datatype: string; shape: number[] }[] {
  return [
    { name: "answer", datatype: "BYTES", shape: [1] },
    { name: "probability", datatype: "FP32", shape: [1] },
    { name: "attention", datatype: "FP32", shape: [s.trained.config.hops, -1] },
    ...(s.kind === "babi" ? [{ name: "dont_know", datatype: "BYTES", shape: [1] }] : []),
  ];
}
