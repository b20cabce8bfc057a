import { DataError } from "./errors.js";

const strict = new TextDecoder("utf-8", { fatal: true });

/** Decodes UTF-8, naming the line of the first byte that is not UTF-8 instead of replacing it silently. */
export function decodeUtf8(bytes: Uint8Array, file: string): string {
  try {
    return strict.decode(bytes);
  } catch {
    let line = 1;
    let start = 0;
    for (let i = 0; i <= bytes.length; i++) {
      if (i === bytes.length || bytes[i] === 0x0a) {
        try {
          strict.decode(bytes.subarray(start, i));
        } catch {
          throw new DataError(file, line, "not valid UTF-8 text");
        }
        line++;
        start = i + 1;
      }
    }
    throw new DataError(file, null, "not valid UTF-8 text");
  }
}
