// The HTTP service: routes and their JSON schemas over the library's face (Model.answer, DialogBot), the
// Open Inference Protocol (KServe v2) mapping, metrics, limits and errors. Every answer is the same call
// with the same bits as in the terminal; nothing a client sends reaches a 500 or a stack trace: bad input
// is a 4xx whose JSON names the field.

import { timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import fastifyCors from "@fastify/cors";
import fastifyRateLimit from "@fastify/rate-limit";
import fastifySwagger from "@fastify/swagger";
import fastifySwaggerUi from "@fastify/swagger-ui";
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from "fastify";
import { type BotReply, CONVERSATION_WINDOW } from "../api/dialog.js";
import { loadLM, MAX_NEXT_CHARS } from "../api/lm.js";
import { DONT_KNOW } from "../api/model.js";
import { FieldError } from "../data/errors.js";
import { fieldErrors, HttpError, writeRawError } from "./errors.js";
import type { Metrics } from "./metrics.js";
import { inferRoutes } from "./oip.js";
import { isPagePath, type PageSettings, pageRoutes } from "./page.js";
import { LocalRateCounter, type RateCounter, rateStore } from "./rate.js";
import { infoOf, type Registry, type Served } from "./registry.js";
import { type Session, SessionLimitError, type SessionStore } from "./sessions.js";

export interface ServerOptions {
  registry: Registry;
  sessions: SessionStore;
  /** The rate limit's counts (a cluster's workers share the primary's); default: this process's own. */
  rateCounter?: RateCounter;
  metrics: Metrics;
  /** The metrics text to serve (the sum over workers, with several); default: this process's. */
  metricsText?: () => Promise<string>;
  /** Reloads the model files (in every worker); throws when a file fails, the old models serving on. */
  reload?: () => Promise<void>;
  token?: string;
  cors?: string;
  bodyLimit: number;
  maxSentenceChars: number;
  /** Requests per minute per client address; off when absent. */
  rateLimit?: number;
  logLevel: string;
  version: string;
  /** The web page and its data files; absent: neither is served. */
  page?: PageSettings;
  /** True once the server drains (SIGTERM): responses then close their connections. */
  isClosing?: () => boolean;
}

/** The most of an over-limit body read and dropped so that its 413 reaches the client, and for how long. */
const DRAIN_BYTES = 64 * 2 ** 20;
const DRAIN_MS = 10_000;

/** Reads a request to its end, dropping it; resolves at the end, on close, or once a bound is reached. */
function drain(req: IncomingMessage): Promise<void> {
  return new Promise((resolve) => {
    let bytes = 0;
    const done = () => {
      clearTimeout(timer);
      req.removeListener("data", onData);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > DRAIN_BYTES) done();
    };
    const timer = setTimeout(done, DRAIN_MS);
    req.on("data", onData);
    req.once("end", done);
    req.once("close", done);
    req.resume();
  });
}

/** The most sentences a story (or lines a history) may have in one request; the memory keeps the last M. */
export const MAX_LINES = 10_000;
const TOP_MAX = 100;

const error400 = (field: string, message: string) => new HttpError(400, field, message);

export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: { level: opts.logLevel, stream: process.stderr } as never,
    // Requests are logged once, when answered (onResponse below), not twice at info.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.bodyLimit,
    // JSON bodies nest little; a deep or huge one is refused rather than walked.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    return503OnClosing: true,
    // The router's own refusals (a bad %-escape, a path parameter over 100 characters) in the one error
    // shape, with the URL cut short rather than echoed whole.
    frameworkErrors: (err, _req, reply) => {
      const tooLong = err.code === "FST_ERR_MAX_PARAM_LENGTH";
      const message = tooLong
        ? "a name or id in the path is longer than 100 characters"
        : "not a valid URL (a bad %-escape)";
      (reply as FastifyReply).code(tooLong ? 414 : 400).send({ error: { field: "url", message } });
    },
    // On close, idle keep-alive connections go at once; requests in flight finish.
    forceCloseConnections: "idle",
  });

  // A body announced over the limit with `Expect: 100-continue` is refused before it is sent: the client
  // reads a 413, rather than sending it into a connection that will be reset.
  app.server.on("checkContinue", (req: IncomingMessage, res: ServerResponse) => {
    const length = Number(req.headers["content-length"]);
    if (Number.isFinite(length) && length > opts.bodyLimit) {
      writeRawError(res, 413, "body", `larger than the limit of ${opts.bodyLimit} bytes (--body-limit)`);
      return;
    }
    res.writeContinue();
    app.server.emit("request", req, res);
  });

  // Bodies: JSON only, strict UTF-8 (a replaced byte would change the words silently).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    ["application/json"],
    { parseAs: "buffer", bodyLimit: opts.bodyLimit },
    (req: FastifyRequest, body: Buffer, done: (err: Error | null, value?: unknown) => void) => {
      // A DELETE (or GET) has nothing to say in a body: a client's habitual content type is no error.
      if (body.length === 0 && (req.method === "DELETE" || req.method === "GET")) {
        done(null, undefined);
        return;
      }
      let text: string;
      try {
        text = new TextDecoder("utf-8", { fatal: true }).decode(body);
      } catch {
        done(error400("body", "not valid UTF-8"));
        return;
      }
      if (text.trim() === "") {
        done(error400("body", "empty: expected a JSON object"));
        return;
      }
      try {
        done(null, JSON.parse(text));
      } catch {
        done(error400("body", "not valid JSON"));
      }
    },
  );

  app.setErrorHandler(async (err: FastifyError | HttpError, req, reply) => {
    // A body over the limit that is still arriving is read to its end (and dropped) before the 413 goes out:
    // Node closes a connection whose request was not read, and the bytes still in flight would then reset
    // it under the client's reader before it sees the 413. Bounded: past DRAIN_BYTES the connection closes.
    if ((err as FastifyError).code === "FST_ERR_CTP_BODY_TOO_LARGE" && !req.raw.complete) {
      reply.header("connection", "close");
      await drain(req.raw);
    }
    return sendError(err, req, reply);
  });
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split("?")[0];
    const shown = path.length > 100 ? `${path.slice(0, 100)}…` : path;
    return sendError(new HttpError(404, "url", `no route ${req.method} ${shown}`), req, reply);
  });

  if (opts.token) {
    const want = Buffer.from(opts.token);
    app.addHook("onRequest", async (req, reply) => {
      const path = req.url.split("?")[0];
      if (path === "/v1/health" || path.startsWith("/v2/health/") || isPagePath(path)) return;
      // The API's documentation, and a browser's CORS preflight (which never carries credentials).
      if (path === "/docs" || path.startsWith("/docs/")) return;
      if (opts.cors && req.method === "OPTIONS" && req.headers["access-control-request-method"]) return;
      // The scheme is case-insensitive (RFC 7235); the token is compared in constant time.
      const m = /^\s*bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
      const got = Buffer.from(m?.[1] ?? "");
      if (got.length !== want.length || !timingSafeEqual(got, want)) {
        reply.header("www-authenticate", 'Bearer realm="memn2n"');
        throw new HttpError(401, "authorization", "expected the header Authorization: Bearer <token>");
      }
    });
  }
  // While draining, a keep-alive client is told the connection ends with this response, so that its next
  // request opens a new connection (to another process) instead of meeting a reset.
  app.addHook("onSend", async (_req, reply, payload) => {
    if (opts.isClosing?.()) reply.header("connection", "close");
    return payload;
  });
  app.addHook("onResponse", async (req, reply) => {
    const route = req.routeOptions.url ?? "(no route)";
    opts.metrics.observe(req.method, route, reply.statusCode, reply.elapsedTime / 1000);
    const level = reply.statusCode >= 500 ? "error" : reply.statusCode >= 400 ? "info" : "debug";
    if (!(req.log as unknown as { isLevelEnabled(l: string): boolean }).isLevelEnabled(level)) return;
    req.log[level](
      { method: req.method, url: req.url, status: reply.statusCode, ms: reply.elapsedTime },
      "request",
    );
  });
  if (opts.cors)
    await app.register(fastifyCors, {
      origin: opts.cors,
      methods: ["GET", "HEAD", "POST", "DELETE"],
      allowedHeaders: ["authorization", "content-type"],
    });
  if (opts.rateLimit) {
    await app.register(fastifyRateLimit, {
      max: opts.rateLimit,
      timeWindow: "1 minute",
      store: rateStore(opts.rateCounter ?? new LocalRateCounter()),
      allowList: (req) => req.url.startsWith("/v2/health/") || req.url === "/v1/health",
      errorResponseBuilder: (_req, ctx) =>
        new HttpError(
          429,
          "rate",
          `more than ${ctx.max} requests a minute from this client: try again in ${ctx.after}`,
        ),
    });
  }
  await app.register(fastifySwagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "memn2n",
        description:
          "End-To-End Memory Networks: answer questions about a story (bAbI models) and hold goal-oriented conversations (dialog models). Also the Open Inference Protocol (KServe v2).",
        version: opts.version,
      },
      ...(opts.token
        ? {
            components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
            security: [{ bearer: [] }],
          }
        : {}),
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: "/docs" });

  const served = (name: string, kind?: "babi" | "dialog"): Served => {
    const s = opts.registry.get(name);
    if (!s) {
      const names = opts.registry.all().map((m) => m.name);
      throw new HttpError(404, "name", `no model named ${name} (served: ${names.join(", ") || "none"})`);
    }
    if (kind && s.kind !== kind) {
      const other = s.kind === "babi" ? "answer" : "reply";
      throw error400(
        "name",
        `${name} is a ${s.kind === "babi" ? "bAbI" : "dialog"} model: POST /v1/models/${name}/${other}`,
      );
    }
    return s;
  };

  const nameParam = {
    type: "object",
    properties: { name: { type: "string", maxLength: 200 } },
    required: ["name"],
  } as const;
  const ranked = {
    type: "array",
    items: {
      type: "object",
      properties: { answer: { type: "string" }, probability: { type: "number" } },
    },
  } as const;
  const matrix = { type: "array", items: { type: "array", items: { type: "number" } } } as const;
  const strings = { type: "array", items: { type: "string" } } as const;
  // What an answer and a reply both hold.
  const common = {
    probability: { type: "number" },
    top: ranked,
    attention: matrix,
    memory: strings,
    truncated: { type: "integer" },
    unknownWords: strings,
  } as const;
  const errorSchema = {
    type: "object",
    properties: {
      error: { type: "object", properties: { field: { type: "string" }, message: { type: "string" } } },
    },
  } as const;
  const errors = { 400: errorSchema, 404: errorSchema };
  const line = { type: "string", maxLength: opts.maxSentenceChars } as const;
  // The library checks the same bounds again, so what passes here is what `ask` and the page accept too.
  const inputLimits = { maxLineChars: 2 * opts.maxSentenceChars, maxStoryLines: MAX_LINES };

  app.get(
    "/v1/health",
    {
      schema: {
        tags: ["v1"],
        summary: "liveness",
        response: { 200: { type: "object", properties: { status: { type: "string" } } } },
      },
    },
    async () => ({ status: "ok" }),
  );
  app.get(
    "/v1/models",
    { schema: { tags: ["v1"], summary: "the models served: name, kind, config, sizes, training figures" } },
    async () => ({ models: opts.registry.all().map(infoOf) }),
  );
  app.get<{ Params: { name: string } }>(
    "/v1/models/:name",
    { schema: { tags: ["v1"], summary: "one model", params: nameParam, response: { 404: errorSchema } } },
    async (req) => infoOf(served(req.params.name)),
  );

  // The shipped language models: the next words after a text, the computation `memn2n lm next` and the
  // page's Next word tab make.
  // Each file is read once: its bytes go to the page (/models/NAME.safetensors), its model answers here.
  const shippedLMs = (opts.page?.languageModels ?? []).map((l) => {
    const body = readFileSync(l.file);
    return { name: l.name, body, model: loadLM(body, l.file) };
  });
  const lms = new Map(shippedLMs.map((l) => [l.name, l.model]));
  app.post<{ Params: { name: string }; Body: { text: string; topK?: number } }>(
    "/v1/lm/:name/next",
    {
      schema: {
        tags: ["v1"],
        summary: "a language model: the likeliest next words after a text, and each hop's attention over it",
        params: nameParam,
        body: {
          type: "object",
          required: ["text"],
          additionalProperties: false,
          properties: {
            text: { type: "string", maxLength: MAX_NEXT_CHARS },
            topK: { type: "integer", minimum: 1, maximum: 100 },
          },
        },
        response: { ...errors },
      },
    },
    async (req) => {
      const m = lms.get(req.params.name);
      if (!m)
        throw new HttpError(
          404,
          "name",
          `no language model ${req.params.name} (served: ${[...lms.keys()].join(", ") || "none"})`,
        );
      return fieldErrors(() => m.next(req.body.text, req.body.topK ?? 10));
    },
  );

  app.post<{ Params: { name: string }; Body: { story: string | string[]; question: string; topK?: number } }>(
    "/v1/models/:name/answer",
    {
      schema: {
        tags: ["v1"],
        summary: "bAbI models: answer a question about a story",
        params: nameParam,
        body: {
          type: "object",
          required: ["story", "question"],
          additionalProperties: false,
          properties: {
            story: {
              description: "sentences, oldest first: a list, or one string of lines",
              anyOf: [
                { type: "array", maxItems: MAX_LINES, items: line },
                { type: "string", maxLength: MAX_LINES * opts.maxSentenceChars },
              ],
            },
            question: line,
            topK: { type: "integer", minimum: 1, maximum: TOP_MAX },
          },
        },
        response: {
          200: {
            type: "object",
            properties: {
              answer: { type: "string" },
              ...common,
              dontKnow: {
                type: ["string", "null"],
                description:
                  "when no word of the question (or of the story) is known: say this, not the answer",
              },
            },
          },
          ...errors,
        },
      },
    },
    async (req) => {
      const s = served(req.params.name, "babi");
      const { question, topK } = req.body;
      const story = storyLines(req.body.story, opts.maxSentenceChars);
      if (question.trim() === "") throw error400("question", "empty");
      const a = fieldErrors(() => s.model!.answer(story, question, { topK, limits: inputLimits }));
      return {
        answer: a.answer,
        probability: a.probability,
        top: a.top,
        attention: a.attention,
        memory: a.sentences,
        truncated: a.dropped,
        unknownWords: a.unknownWords,
        dontKnow: a.dontKnow === null ? null : DONT_KNOW[a.dontKnow],
      };
    },
  );

  const turn = {
    type: "object",
    properties: { response: { type: "string" }, ...common, apiResults: strings },
  } as const;
  const replySchema = {
    200: {
      type: "object",
      properties: {
        response: { type: "string" },
        ...common,
        apiResults: strings,
        opening: { ...turn, description: "the bot's greeting before this reply, where its data opens so" },
        followUps: {
          type: "array",
          items: turn,
          description:
            "the replies the bot went on with by itself (after 'i'm on it', an api_call...), in order",
        },
        history: strings,
        session: { type: "string" },
      },
    },
    ...errors,
  };
  const { history: _h, session: _s, ...replyProps } = replySchema[200].properties;
  const sessionReplySchema = {
    200: {
      type: "object",
      properties: {
        ...replyProps,
        session: { type: "string" },
        lines: { ...strings, description: "the lines this reply added to the transcript" },
        length: { type: "integer", description: "lines in the whole transcript (GET /v1/sessions/ID)" },
      },
    },
    ...errors,
  };
  const turnOf = (r: BotReply) => ({
    response: r.response,
    probability: r.probability,
    top: r.top,
    attention: r.attention,
    memory: r.memory,
    truncated: r.dropped,
    unknownWords: r.unknownWords,
    ...(r.apiResults ? { apiResults: r.apiResults } : {}),
  });
  const replyOf = (r: BotReply) => ({
    ...turnOf(r),
    ...(r.opening ? { opening: turnOf(r.opening) } : {}),
    ...(r.followUps ? { followUps: r.followUps.map(turnOf) } : {}),
    history: r.history,
  });

  app.post<{ Params: { name: string }; Body: { history?: string[]; user: string; topK?: number } }>(
    "/v1/models/:name/reply",
    {
      schema: {
        tags: ["v1"],
        summary:
          "dialog models: the bot's reply to the user's line after the conversation so far (stateless; send back the returned history)",
        params: nameParam,
        body: {
          type: "object",
          required: ["user"],
          additionalProperties: false,
          properties: {
            history: {
              description:
                "the earlier lines as the data writes them: `user<TAB>bot` turns and API result lines",
              type: "array",
              maxItems: MAX_LINES,
              items: { type: "string", maxLength: 2 * opts.maxSentenceChars },
            },
            user: { ...line, description: "the user's line; empty: the user says nothing" },
            topK: { type: "integer", minimum: 1, maximum: TOP_MAX },
          },
        },
        response: replySchema,
      },
    },
    async (req) => {
      const s = served(req.params.name, "dialog");
      return replyOf(
        fieldErrors(() =>
          s.bot!.replyTo(req.body.history ?? [], req.body.user, { topK: req.body.topK, limits: inputLimits }),
        ),
      );
    },
  );

  app.post<{ Body: { model: string } }>(
    "/v1/sessions",
    {
      schema: {
        tags: ["v1"],
        summary: "start a server-kept conversation with a dialog model",
        body: {
          type: "object",
          required: ["model"],
          additionalProperties: false,
          properties: { model: { type: "string", maxLength: 200 } },
        },
        response: {
          201: { type: "object", properties: { id: { type: "string" }, model: { type: "string" } } },
          ...errors,
        },
      },
    },
    async (req, reply) => {
      served(req.body.model, "dialog");
      let session: Session;
      try {
        session = await opts.sessions.create(req.body.model, req.ip);
      } catch (e) {
        if (e instanceof SessionLimitError) throw new HttpError(429, "sessions", e.message);
        throw e;
      }
      reply.code(201);
      return { id: session.id, model: session.model };
    },
  );
  const idParam = {
    type: "object",
    properties: { id: { type: "string", maxLength: 100 } },
    required: ["id"],
  } as const;
  app.post<{ Params: { id: string }; Body: { user: string; topK?: number } }>(
    "/v1/sessions/:id/reply",
    {
      schema: {
        tags: ["v1"],
        summary: "the bot's reply in a server-kept conversation",
        params: idParam,
        body: {
          type: "object",
          required: ["user"],
          additionalProperties: false,
          properties: { user: line, topK: { type: "integer", minimum: 1, maximum: TOP_MAX } },
        },
        response: sessionReplySchema,
      },
    },
    async (req) => {
      // One reply at a time per session, in the order they came: each reads the lines the last one wrote.
      const session = await opts.sessions.acquire(req.params.id, CONVERSATION_WINDOW);
      if (!session) throw new HttpError(404, "id", `no session ${req.params.id} (it may have expired)`);
      let added: string[] | null = null;
      try {
        const s = served(session.model, "dialog");
        const r = fieldErrors(() =>
          s.bot!.replyTo(session.lines, req.body.user, { topK: req.body.topK, limits: inputLimits }),
        );
        added = r.history.slice(session.lines.length);
        const { history: _, ...rest } = replyOf(r);
        return { ...rest, session: session.id, lines: added, length: session.length + added.length };
      } finally {
        await opts.sessions.release(session.id, added);
      }
    },
  );
  app.get<{ Params: { id: string } }>(
    "/v1/sessions/:id",
    {
      schema: {
        tags: ["v1"],
        summary: "a server-kept conversation's whole transcript",
        params: idParam,
        response: {
          200: {
            type: "object",
            properties: {
              id: { type: "string" },
              model: { type: "string" },
              lines: { type: "array", items: { type: "string" } },
            },
          },
          ...errors,
        },
      },
    },
    async (req) => {
      const t = await opts.sessions.transcript(req.params.id);
      if (!t) throw new HttpError(404, "id", `no session ${req.params.id} (it may have expired)`);
      return { id: t.id, model: t.model, lines: t.lines };
    },
  );
  app.delete<{ Params: { id: string } }>(
    "/v1/sessions/:id",
    { schema: { tags: ["v1"], summary: "end a server-kept conversation", params: idParam } },
    async (req, reply) => {
      if (!(await opts.sessions.delete(req.params.id)))
        throw new HttpError(404, "id", `no session ${req.params.id}`);
      reply.code(204);
    },
  );

  app.post(
    "/admin/reload",
    {
      schema: {
        tags: ["admin"],
        summary: "reload the model files (needs --token); a failed reload keeps the old models",
      },
    },
    async () => {
      if (!opts.token)
        throw new HttpError(403, "authorization", "admin routes need the server started with --token");
      if (!opts.reload) throw new HttpError(403, "reload", "this server cannot reload");
      try {
        await opts.reload();
      } catch (e) {
        throw new HttpError(422, "models", `reload failed, the old models serve on: ${(e as Error).message}`);
      }
      return { reloaded: opts.registry.all().map((m) => m.name) };
    },
  );

  app.get("/metrics", { schema: { tags: ["ops"], summary: "Prometheus metrics" } }, async (_req, reply) => {
    reply.type("text/plain; version=0.0.4; charset=utf-8");
    return opts.metricsText ? opts.metricsText() : opts.metrics.registry.metrics();
  });
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  pageRoutes(
    app,
    opts.page ?? { page: null, data: null },
    opts.registry,
    opts.token !== undefined,
    shippedLMs,
  );
  inferRoutes(app, opts.registry, {
    maxLines: MAX_LINES,
    maxSentenceChars: opts.maxSentenceChars,
    version: opts.version,
  });
  return app;
}

/** A story as sentences: the list given, or the lines of one string; blank lines dropped. */
function storyLines(story: string | string[], maxChars: number): string[] {
  const lines = typeof story === "string" ? story.split(/\r?\n/) : story;
  const out: string[] = [];
  lines.forEach((l, i) => {
    if (l.length > maxChars)
      throw error400(`story.${i}`, `longer than ${maxChars} characters (--max-sentence-chars)`);
    if (l.trim() !== "") out.push(l.trim());
  });
  // Sentences are counted, not blank lines (a story pasted with blank lines between its sentences).
  if (out.length > MAX_LINES) throw error400("story", `more than ${MAX_LINES} sentences`);
  return out;
}

function sendError(err: FastifyError | HttpError, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  let status = err.statusCode ?? 500;
  let field = err instanceof HttpError ? err.field : "request";
  let message = err.message;
  if (err instanceof FieldError) {
    status = 400;
    field = err.field;
    message = err.detail;
  }
  const e = err as FastifyError;
  if (e.validation && e.validation.length > 0) {
    status = 400;
    const v = e.validation[0];
    const path = v.instancePath.replace(/^\//, "").replaceAll("/", ".");
    const params = v.params as Record<string, string>;
    if (v.keyword === "required") {
      field = [path, params.missingProperty].filter(Boolean).join(".");
      message = "missing";
    } else if (v.keyword === "additionalProperties") {
      field = [path, params.additionalProperty].filter(Boolean).join(".");
      message = "not a field of this request";
    } else {
      field = path || (e.validationContext ?? "body");
      const whole = v.schemaPath.includes("anyOf") && !/\/\d+$/.test(v.instancePath);
      message = whole ? "must be a list of strings or a string" : (v.message ?? "invalid");
    }
    if (e.validationContext && e.validationContext !== "body" && !field.startsWith(e.validationContext)) {
      field = `${e.validationContext}.${field}`;
    }
  } else if (e.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
    field = "body";
    message = `larger than the limit of ${reply.server.initialConfig.bodyLimit} bytes (--body-limit)`;
  } else if (e.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
    field = "content-type";
    message = `expected application/json, got ${req.headers["content-type"] ?? "none"}`;
  } else if (e.code === "FST_ERR_CTP_EMPTY_JSON_BODY" || e.code === "FST_ERR_CTP_INVALID_CONTENT_LENGTH") {
    status = 400;
    field = "body";
  }
  if (status >= 500) {
    req.log.error({ err }, "internal error");
    field = "server";
    message = "internal error (logged)";
  } else if (status < 400) {
    status = 400;
  }
  reply.code(status);
  if (req.url.startsWith("/v2")) return reply.send({ error: `${field}: ${message}` });
  return reply.send({ error: { field, message } });
}
