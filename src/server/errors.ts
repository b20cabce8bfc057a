// A client error over HTTP: its status and the field it is about; the error handler writes it as JSON.

import type { ServerResponse } from "node:http";
import { DataError, FieldError } from "../data/errors.js";

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** The library's errors about its input as 400s, their fields under `prefix` (e.g. "inputs."). */
export function fieldErrors<T>(fn: () => T, prefix = ""): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof FieldError) throw new HttpError(400, `${prefix}${e.field}`, e.detail);
    if (e instanceof DataError) throw new HttpError(400, `${prefix}model`, e.message);
    throw e;
  }
}

/**
 * An error written straight to Node's response, for the refusals made before fastify has the request (a body
 * announced too large, a request not arrived in time): the one error shape, and the connection closed.
 */
export function writeRawError(res: ServerResponse, status: number, field: string, message: string): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", connection: "close" });
  res.end(JSON.stringify({ error: { field, message } }));
}
