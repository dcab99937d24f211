/** The stream is not a sequence of JSON values; `offset` counts characters from the start of the stream. */
export class JsonStreamError extends Error {
  override name = 'JsonStreamError';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at stream offset ${offset}`);
  }
}

/**
 * OVSDB's JSON-RPC (RFC 7047 §4) sends JSON values back to back with no
 * delimiter. This splitter finds where each top-level value ends by tracking
 * brackets outside strings, so one message can span many socket reads.
 */
export class JsonValueSplitter {
  private text = '';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private scanned = 0;
  private start = 0;
  /** Characters of the stream dropped from `text` so far (for error offsets). */
  private consumed = 0;

  constructor(private readonly maxBytes = 64 * 1024 * 1024) {}

  /** Feeds a chunk; returns the complete top-level JSON texts it finishes. */
  push(chunk: string): string[] {
    this.text += chunk;
    const out: string[] = [];
    for (let i = this.scanned; i < this.text.length; i++) {
      const c = this.text.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c) this.escaped = true;
        else if (c === 0x22) this.inString = false;
        continue;
      }
      if (c === 0x22) this.inString = true;
      else if (c === 0x7b || c === 0x5b) {
        if (this.depth === 0) this.start = i;
        this.depth++;
      } else if (c === 0x7d || c === 0x5d) {
        this.depth--;
        if (this.depth < 0) throw new JsonStreamError(`unbalanced "${String.fromCharCode(c)}" in the JSON-RPC stream`, this.consumed + i);
        if (this.depth === 0) out.push(this.text.slice(this.start, i + 1));
      }
    }
    if (this.depth === 0) {
      this.consumed += this.text.length;
      this.text = '';
      this.scanned = 0;
    } else {
      this.consumed += this.start;
      this.text = this.text.slice(this.start);
      this.scanned = this.text.length;
      this.start = 0;
      if (this.text.length > this.maxBytes) throw new JsonStreamError(`JSON-RPC message larger than ${this.maxBytes} bytes`, this.consumed);
    }
    return out;
  }
}
