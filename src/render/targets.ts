import type { MarkedBlock } from "./marked-block.ts";

export interface RenderedFile {
  /** Where the file belongs on the router; a relative path is text to paste, not a file to install. */
  readonly path: string;
  readonly mode: number;
  readonly content: string;
  /** A file that may hold the user's own lines: only this block is mapectl's, merged into what is there. */
  readonly block?: MarkedBlock;
}

export interface Rendered {
  readonly files: readonly RenderedFile[];
  /** Things the user must know before using the files (also printed on stderr by the CLI). */
  readonly warnings: readonly string[];
}

export const RENDER_TARGETS = ["vyos", "nftables", "shell", "systemd-networkd", "systemd-unit"] as const;
export type RenderTarget = (typeof RENDER_TARGETS)[number];

/** Targets whose output does not depend on the line, so no plan is needed. */
export function needsPlan(target: RenderTarget): boolean {
  return target !== "systemd-unit";
}

export function octalMode(mode: number): string {
  return `0${mode.toString(8).padStart(3, "0")}`;
}

/** One file as it is; several one after another, each under a line naming its path and mode. */
export function formatRendered(rendered: Rendered): string {
  const [only] = rendered.files;
  if (rendered.files.length === 1 && only !== undefined) return only.content;
  return rendered.files
    .map((f) => `# ==> ${f.path} (mode ${octalMode(f.mode)}) <==\n${f.content}`)
    .join("\n");
}
