// A client error over HTTP: its status and the field it is about; the error handler writes it as JSON.

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
