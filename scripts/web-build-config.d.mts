import type { BuildOptions } from "esbuild";

export declare const webBuildOptions: BuildOptions & {
  readonly entryPoints: Readonly<Record<"status" | "calc", string>>;
  readonly write: false;
};
