import { DecodeError } from "./errors.ts";

/**
 * A cursor over received bytes in which every read is bounds-checked and names its field, so a
 * truncated or lying length becomes a DecodeError saying which field ran out, never a RangeError or
 * a silently short value.
 */
export class ByteReader {
  readonly #bytes: Uint8Array;
  readonly #field: string;
  #offset = 0;

  constructor(bytes: Uint8Array, field: string) {
    this.#bytes = bytes;
    this.#field = field;
  }

  get remaining(): number {
    return this.#bytes.length - this.#offset;
  }

  get offset(): number {
    return this.#offset;
  }

  fail(name: string, reason: string): DecodeError {
    return new DecodeError("dhcpv6", name === "" ? this.#field : `${this.#field}.${name}`, reason);
  }

  #need(count: number, name: string): void {
    if (count > this.remaining) {
      throw this.fail(
        name,
        `needs ${count} byte${count === 1 ? "" : "s"} at offset ${this.#offset} but only ${this.remaining} remain`,
      );
    }
  }

  u8(name: string): number {
    this.#need(1, name);
    return this.#bytes[this.#offset++] ?? 0;
  }

  u16(name: string): number {
    this.#need(2, name);
    const value = ((this.#bytes[this.#offset] ?? 0) << 8) | (this.#bytes[this.#offset + 1] ?? 0);
    this.#offset += 2;
    return value;
  }

  u24(name: string): number {
    this.#need(3, name);
    const b = this.#bytes;
    const o = this.#offset;
    this.#offset += 3;
    return ((b[o] ?? 0) << 16) | ((b[o + 1] ?? 0) << 8) | (b[o + 2] ?? 0);
  }

  u32(name: string): number {
    this.#need(4, name);
    const high = this.u16(name);
    return high * 0x10000 + this.u16(name);
  }

  bytes(count: number, name: string): Uint8Array {
    this.#need(count, name);
    const out = this.#bytes.subarray(this.#offset, this.#offset + count);
    this.#offset += count;
    return out;
  }

  rest(): Uint8Array {
    const out = this.#bytes.subarray(this.#offset);
    this.#offset = this.#bytes.length;
    return out;
  }

  /** Fixed-size structures must not carry extra bytes: a longer option is as wrong as a shorter one. */
  end(name: string): void {
    if (this.remaining !== 0) {
      throw this.fail(
        name,
        `${this.remaining} unexpected byte${this.remaining === 1 ? "" : "s"} after the last field`,
      );
    }
  }
}

/** Big-endian output; only ever fed values this code produced, so it checks ranges, not lengths. */
export class ByteWriter {
  readonly #chunks: number[] = [];

  u8(value: number): this {
    this.#chunks.push(value & 0xff);
    return this;
  }

  u16(value: number): this {
    return this.u8(value >>> 8).u8(value);
  }

  u24(value: number): this {
    return this.u8(value >>> 16).u16(value & 0xffff);
  }

  u32(value: number): this {
    return this.u16(Math.floor(value / 0x10000) & 0xffff).u16(value % 0x10000);
  }

  bytes(data: Uint8Array): this {
    for (const b of data) this.#chunks.push(b);
    return this;
  }

  /** A TLV option: 16-bit code, 16-bit length, data. */
  option(code: number, data: Uint8Array): this {
    if (data.length > 0xffff) throw new RangeError(`option ${code} is ${data.length} bytes, more than 65535`);
    return this.u16(code).u16(data.length).bytes(data);
  }

  toBytes(): Uint8Array {
    return Uint8Array.from(this.#chunks);
  }
}

export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Hex with "#" comments and any whitespace, as the annotated test fixtures are written. */
export function fromHex(text: string): Uint8Array {
  const digits = text.replace(/#[^\n]*/g, "").replace(/\s+/g, "");
  if (!/^([0-9a-fA-F]{2})*$/.test(digits))
    throw new RangeError("hex text has an odd length or a non-hex digit");
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return out;
}
