/** Keeps the last `maxBytes` bytes written to it, however much is written. */
export class TailBuffer {
  readonly #maxBytes: number;
  #chunks: Buffer[] = [];
  #size = 0;
  #dropped = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Bytes written but no longer kept. */
  get dropped(): number {
    return this.#dropped;
  }

  push(chunk: Buffer): void {
    if (this.#maxBytes <= 0) {
      this.#dropped += chunk.length;
      return;
    }
    if (chunk.length >= this.#maxBytes) {
      this.#dropped += this.#size + chunk.length - this.#maxBytes;
      this.#chunks = [Buffer.from(chunk.subarray(chunk.length - this.#maxBytes))];
      this.#size = this.#maxBytes;
      return;
    }
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    while (this.#size > this.#maxBytes) {
      const first = this.#chunks[0] as Buffer;
      const excess = this.#size - this.#maxBytes;
      if (first.length <= excess) {
        this.#chunks.shift();
        this.#size -= first.length;
        this.#dropped += first.length;
      } else {
        this.#chunks[0] = first.subarray(excess);
        this.#size -= excess;
        this.#dropped += excess;
      }
    }
  }

  /** The kept bytes as UTF-8, without a character cut in half at the start. */
  toString(): string {
    let bytes = Buffer.concat(this.#chunks, this.#size);
    if (this.#dropped > 0) {
      let skip = 0;
      while (skip < bytes.length && skip < 3 && ((bytes[skip] as number) & 0xc0) === 0x80) skip += 1;
      bytes = bytes.subarray(skip);
    }
    return bytes.toString("utf8");
  }
}
