// A client error over HTTP: its status and the field it is about; the error handler writes it as JSON.

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}
