import type { JsonDocument } from "./json-output.ts";

/** stdout carries results (text or one JSON document); stderr carries diagnostics. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

export const processOutput: Output = {
  out: (text) => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith("\n") ? text : `${text}\n`),
};

/** Prints one --json document; the types in json-output.ts say what each command prints. */
export function printJson(output: Output, value: JsonDocument): void {
  output.out(JSON.stringify(value, null, 2));
}

/** Two aligned columns of label and value, as `ip` and `tailscale status` print them. */
export function formatFields(rows: readonly (readonly [string, string])[], indent = "  "): string {
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${indent}${label.padEnd(width)}  ${value}`).join("\n");
}

/** Cells laid out in right-aligned columns, `perRow` to a line. */
export function formatGrid(cells: readonly string[], perRow: number, indent = "    "): string {
  const width = Math.max(...cells.map((c) => c.length));
  const lines: string[] = [];
  for (let i = 0; i < cells.length; i += perRow) {
    lines.push(
      indent +
        cells
          .slice(i, i + perRow)
          .map((c) => c.padStart(width))
          .join("  "),
    );
  }
  return lines.join("\n");
}
