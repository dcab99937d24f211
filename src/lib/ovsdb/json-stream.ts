/** The stream is not a sequence of JSON values; `offset` counts bytes from the start of the stream. */
export class JsonStreamError extends Error {
  override name = 'JsonStreamError';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at stream offset ${offset}`);
  }
}

export interface JsonValueSplitterOptions {
  /** Largest JSON text accepted, in bytes (default 64 MiB); a larger one throws JsonStreamError. */
  maxBytes?: number;
  /**
   * Bytes between values that cannot start one (anything but whitespace, `{`
   * and `[`) are skipped up to the next value; this hears about each run of
   * them once. The values after them are still delivered.
   */
  onGarbage?: (err: JsonStreamError) => void;
}

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/**
 * OVSDB's JSON-RPC (RFC 7047 §4) sends JSON values back to back with no
 * delimiter. This splitter finds where each top-level value ends by tracking
 * brackets outside strings, so one message can span many socket reads.
 *
 * It works on bytes: every byte it tracks (`{}[]"\`) is ASCII, and UTF-8
 * never uses an ASCII value inside a multi-byte character, so a chunk may end
 * anywhere. Each byte is looked at once and a value's pieces are joined once,
 * when it ends: the cost is linear in the stream (a string grown by `+=` and
 * rescanned made a 32 MiB value take 20 s). Between values only `{` or `[`
 * may start one: anything else (a stray `"`, an unbalanced `}`) is skipped
 * and reported, so one bad byte cannot shift every later message.
 */
export class JsonValueSplitter {
  private readonly maxBytes: number;
  private readonly onGarbage: ((err: JsonStreamError) => void) | undefined;
  /** Pieces of the value being read (it started in an earlier chunk). */
  private pieces: Buffer[] = [];
  private pieceBytes = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Bytes of the stream before the current chunk (for error offsets). */
  private streamOffset = 0;
  /** Inside a run of bytes that cannot start a value (already reported). */
  private inGarbage = false;

  constructor(options: JsonValueSplitterOptions = {}) {
    this.maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    this.onGarbage = options.onGarbage;
  }

  /** Feeds a chunk; returns the complete top-level JSON texts it finishes. */
  push(chunk: Buffer | string): string[] {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    const out: string[] = [];
    // Where the value being read starts in this chunk (0 if it began earlier).
    let start = 0;
    for (let i = 0; i < buf.length; i++) {
      const c = buf[i]!;
      if (this.depth === 0) {
        if (c === OPEN_BRACE || c === OPEN_BRACKET) {
          this.depth = 1;
          this.inGarbage = false;
          start = i;
        } else if (!isWhitespace(c) && !this.inGarbage) {
          this.inGarbage = true;
          this.onGarbage?.(new JsonStreamError(`unexpected ${JSON.stringify(String.fromCharCode(c))} between JSON-RPC messages, skipped to the next "{"`, this.streamOffset + i));
        }
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) this.inString = false;
        continue;
      }
      if (c === QUOTE) this.inString = true;
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) this.depth++;
      else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        this.depth--;
        if (this.depth === 0) {
          const tail = buf.subarray(start, i + 1);
          this.checkSize(this.pieceBytes + tail.length, i);
          out.push(this.pieces.length === 0 ? tail.toString('utf8') : Buffer.concat([...this.pieces, tail]).toString('utf8'));
          this.pieces = [];
          this.pieceBytes = 0;
        }
      }
    }
    if (this.depth > 0) {
      const tail = buf.subarray(start);
      this.checkSize(this.pieceBytes + tail.length, buf.length - 1);
      // Copied, so the chunk it came from is not kept whole for a small tail.
      this.pieces.push(Buffer.from(tail));
      this.pieceBytes += tail.length;
    }
    this.streamOffset += buf.length;
    return out;
  }

  private checkSize(bytes: number, at: number): void {
    if (bytes <= this.maxBytes) return;
    const valueStart = this.streamOffset + at + 1 - bytes;
    throw new JsonStreamError(`JSON-RPC message larger than ${this.maxBytes} bytes`, valueStart);
  }
}
