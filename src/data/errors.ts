// Errors about what a user gave us. The CLI prints them as one line and exits 2; anything else is a bug.

/** Bad input at a file and line: printed as `error: <file>:<line>: <message>`. */
export class DataError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | null,
    readonly detail: string,
  ) {
    super(line === null ? `${file}: ${detail}` : `${file}:${line}: ${detail}`);
    this.name = "DataError";
  }
}

/** A bad value in a named field (a model file's field, a CLI option): `error: <field>: <message>`. */
export class FieldError extends Error {
  constructor(
    readonly field: string,
    readonly detail: string,
  ) {
    super(`${field}: ${detail}`);
    this.name = "FieldError";
  }
}
