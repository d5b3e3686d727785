import { ByteReader } from "./bytes.ts";
import { DecodeError } from "./errors.ts";

/** One TLV option as it came off the wire: 16-bit code, then its data (RFC 8415 §21.1). */
export interface RawOption {
  readonly code: number;
  readonly data: Uint8Array;
}

/**
 * How often an option may appear in one list, which also decides its field path in errors:
 * "once" — a second copy is a DecodeError; path NAME.
 * "list" — every copy is kept in order; path NAME[n].
 * "last" — every copy is decoded, the last one wins (lists where the RFCs set no limit); path NAME.
 */
export type Repeat = "once" | "list" | "last";

export interface OptionSpec<T, R extends Repeat = Repeat> {
  readonly code: number;
  readonly repeat: R;
  /** Decodes one copy; `field` is its full path, for the DecodeError it throws. */
  readonly decode: (data: Uint8Array, field: string) => T;
}

export function once<T>(code: number, decode: (data: Uint8Array, field: string) => T): OptionSpec<T, "once"> {
  return { code, repeat: "once", decode };
}

export function list<T>(code: number, decode: (data: Uint8Array, field: string) => T): OptionSpec<T, "list"> {
  return { code, repeat: "list", decode };
}

export function last<T>(code: number, decode: (data: Uint8Array, field: string) => T): OptionSpec<T, "last"> {
  return { code, repeat: "last", decode };
}

/** What a container may carry, by the name its decoded value goes under. */
export type OptionSpecs = Readonly<Record<string, OptionSpec<unknown>>>;

/** A "list" option gives an array, the others the value or null when absent. */
export type WalkedValues<S extends OptionSpecs> = {
  -readonly [K in keyof S]: S[K] extends OptionSpec<infer T, "list">
    ? T[]
    : S[K] extends OptionSpec<infer T>
      ? T | null
      : never;
};

export interface Walked<S extends OptionSpecs> {
  readonly values: WalkedValues<S>;
  /** Codes the specs do not name, in order: reported by callers rather than failing the reply. */
  readonly ignored: number[];
  readonly options: RawOption[];
}

export interface OptionList {
  /** Field path of the list itself, for errors in the option headers. */
  readonly field: string;
  /** Names codes in field paths, including codes the specs do not decode. */
  readonly nameOf: (code: number) => string;
  /** Where a decoded option's path starts: the list's field unless given ("" for a message's top level). */
  readonly prefix?: string;
}

/** The TLV walk shared by messages and containers: every length is checked against what remains. */
export function readOptionList(
  bytes: Uint8Array,
  field: string,
  nameOf: (code: number) => string,
): RawOption[] {
  const reader = new ByteReader(bytes, field);
  const out: RawOption[] = [];
  while (reader.remaining > 0) {
    const at = reader.offset;
    if (reader.remaining < 4) {
      throw reader.fail(
        "",
        `${reader.remaining} trailing byte${reader.remaining === 1 ? "" : "s"} at offset ${at} are too few for an option header (4)`,
      );
    }
    const code = reader.u16("option-code");
    const length = reader.u16("option-len");
    if (length > reader.remaining) {
      throw reader.fail(
        nameOf(code),
        `option-len ${length} at offset ${at} points past the end (${reader.remaining} bytes remain)`,
      );
    }
    out.push({ code, data: reader.bytes(length, nameOf(code)) });
  }
  return out;
}

/**
 * Reads a whole option list first (so a broken header anywhere is reported before any option is
 * decoded), then decodes each option its spec names, in wire order, enforcing "once".
 */
export function walkOptions<S extends OptionSpecs>(
  bytes: Uint8Array,
  where: OptionList,
  specs: S,
): Walked<S> {
  const options = readOptionList(bytes, where.field, where.nameOf);
  const byCode = new Map<number, [string, OptionSpec<unknown>]>();
  const values: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(specs)) {
    byCode.set(spec.code, [key, spec]);
    values[key] = spec.repeat === "list" ? [] : null;
  }
  const prefix = where.prefix ?? where.field;
  const seen = new Set<number>();
  const ignored: number[] = [];
  for (const { code, data } of options) {
    const entry = byCode.get(code);
    if (entry === undefined) {
      ignored.push(code);
      continue;
    }
    const [key, spec] = entry;
    const name = prefix === "" ? where.nameOf(code) : `${prefix}.${where.nameOf(code)}`;
    if (spec.repeat === "list") {
      const found = values[key] as unknown[];
      found.push(spec.decode(data, `${name}[${found.length}]`));
      continue;
    }
    if (spec.repeat === "once" && seen.has(code))
      throw new DecodeError("dhcpv6", name, "appears more than once");
    seen.add(code);
    values[key] = spec.decode(data, name);
  }
  return { values: values as WalkedValues<S>, ignored, options };
}
