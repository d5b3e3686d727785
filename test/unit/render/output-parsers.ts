/**
 * Readers of the rendered formats, written from the formats' own rules rather than from the
 * renderers, so a test can say what a program reading the file would find in it.
 */

export interface IniEntry {
  readonly section: string;
  readonly key: string;
  readonly value: string;
}

/**
 * systemd's reading of a unit, .netdev, .network or sysctl.d file: `#`/`;` comments, `[Section]`
 * headers, `Key=Value` assignments, a backslash at the end of a line joining it with the next. A
 * line that is none of these is returned as an error, as systemd would log it.
 */
export function parseIni(text: string): { entries: IniEntry[]; errors: string[] } {
  const entries: IniEntry[] = [];
  const errors: string[] = [];
  let section = "";
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    let line = (lines[i] ?? "").trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    while (line.endsWith("\\") && i + 1 < lines.length)
      line = `${line.slice(0, -1)} ${(lines[++i] ?? "").trim()}`;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header !== null) {
      section = header[1] ?? "";
      continue;
    }
    const eq = line.indexOf("=");
    if (eq <= 0) {
      errors.push(`line ${i + 1}: ${JSON.stringify(line)}`);
      continue;
    }
    entries.push({ section, key: line.slice(0, eq).trim(), value: line.slice(eq + 1).trim() });
  }
  return { entries, errors };
}

/** "Section.Key" of every assignment, in order: the shape of the file without its values. */
export function iniShape(entries: readonly IniEntry[]): string[] {
  return entries.map((e) => `${e.section}.${e.key}`);
}

/**
 * ExecStart=/ReadWritePaths= words as systemd splits them: whitespace separates, double quotes
 * group with backslash escapes, and `%%` and `$$` stand for a literal `%` and `$`.
 */
export function unitWords(value: string): string[] {
  const words: string[] = [];
  for (const m of value.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) {
    const raw = m[1] === undefined ? (m[2] ?? "") : m[1].replace(/\\(.)/g, "$1");
    words.push(raw.replace(/%%/g, "%").replace(/\$\$/g, "$"));
  }
  return words;
}

/** Lines that are neither blank nor `#` comments: what a shell, nft or VyOS would act on. */
export function statementLines(text: string): string[] {
  return text.split("\n").filter((l) => l.trim() !== "" && !l.trimStart().startsWith("#"));
}

/** The shell script without the nft here-document, and the here-document itself. */
export function splitHeredoc(script: string, delimiter: string): { shell: string; heredoc: string | null } {
  const start = `\tcat <<'${delimiter}'\n`;
  const at = script.indexOf(start);
  if (at < 0) return { shell: script, heredoc: null };
  const body = at + start.length;
  const end = script.indexOf(`\n${delimiter}\n`, body);
  if (end < 0) return { shell: script, heredoc: null };
  return {
    shell: script.slice(0, at) + script.slice(end + delimiter.length + 2),
    heredoc: `${script.slice(body, end)}\n`,
  };
}
