// The folder rules of ARCHITECTURE.md, checked on every import of every file under src/: static and
// dynamic imports, `import type`, `export … from` and `typeof import(…)` alike.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

interface Import {
  readonly specifier: string;
  /** True when nothing of the module is left at run time (import type, typeof import(…)). */
  readonly typeOnly: boolean;
}

/** The pure core: no I/O, so none of it may reach the host, the daemon or the command line. */
const CORE = ["base", "text", "mape", "rules", "provision", "plan", "render", "diagnose"] as const;

interface FolderRule {
  /** Other src folders this one may import (itself always). */
  readonly may: readonly string[];
  /** Folders it may take types from but no code. */
  readonly typesFrom?: readonly string[];
  /** Node built-ins ("node:…"): I/O, so only the host side uses them. */
  readonly builtins: boolean;
  /** npm packages. */
  readonly packages: boolean;
}

/** Keyed by folder under src/ (src/web/browser apart from the rest of src/web). src/cli may import anything. */
const RULES: Readonly<Record<string, FolderRule>> = {
  // Escapers and validators of the text formats mapectl writes (shell, VyOS, INI, nft, TOML, log
  // lines): every layer, down to the core's error messages, keeps a value on its line through them.
  // The error model every layer throws (one base class, each error with its exit category).
  base: { may: [], builtins: false, packages: false },
  text: { may: ["base"], builtins: false, packages: false },
  mape: { may: ["base", "text"], builtins: false, packages: false },
  rules: { may: ["base", "text", "mape"], builtins: false, packages: true },
  provision: { may: ["base", "text", "mape", "rules"], builtins: false, packages: true },
  plan: { may: ["base", "text", "mape", "rules", "provision"], builtins: false, packages: true },
  render: { may: ["base", "text", "mape", "rules", "provision", "plan"], builtins: false, packages: true },
  diagnose: {
    may: ["base", "text", "mape", "rules", "provision", "plan", "render"],
    builtins: false,
    packages: true,
  },
  host: { may: [...CORE], builtins: true, packages: true },
  // The pages show the daemon's status report, so they share its type, never its code.
  web: { may: [...CORE, "web/browser"], typesFrom: ["daemon"], builtins: true, packages: true },
  "web/browser": { may: [...CORE, "web"], typesFrom: ["daemon"], builtins: false, packages: false },
  daemon: { may: [...CORE, "host", "web"], builtins: true, packages: true },
};

/** Every module specifier in a source text, with whether it is only a type reference. */
export function importsOf(fileName: string, text: string): Import[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: Import[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const named = clause?.namedBindings;
      const allTypes =
        clause !== undefined &&
        clause.name === undefined &&
        named !== undefined &&
        ts.isNamedImports(named) &&
        named.elements.length > 0 &&
        named.elements.every((e) => e.isTypeOnly);
      found.push({
        specifier: node.moduleSpecifier.text,
        typeOnly: clause?.phaseModifier === ts.SyntaxKind.TypeKeyword || allTypes,
      });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined) {
      if (ts.isStringLiteral(node.moduleSpecifier)) {
        const clause = node.exportClause;
        const allTypes =
          clause !== undefined &&
          ts.isNamedExports(clause) &&
          clause.elements.length > 0 &&
          clause.elements.every((e) => e.isTypeOnly);
        found.push({ specifier: node.moduleSpecifier.text, typeOnly: node.isTypeOnly || allTypes });
      }
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [first] = node.arguments;
      // A computed specifier cannot be checked: report it so it gets a literal.
      const specifier = first !== undefined && ts.isStringLiteralLike(first) ? first.text : "<computed>";
      found.push({ specifier, typeOnly: false });
    } else if (ts.isImportTypeNode(node)) {
      const arg = node.argument;
      if (ts.isLiteralTypeNode(arg) && ts.isStringLiteral(arg.literal)) {
        found.push({ specifier: arg.literal.text, typeOnly: true });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The folder rule a file of src/ falls under, or null outside src/. */
export function folderOf(path: string): string | null {
  const parts = relative(join(ROOT, "src"), path).split("/");
  if (parts[0] === ".." || parts.length < 2) return null;
  if (parts[0] === "web" && parts[1] === "browser" && parts.length > 2) return "web/browser";
  return parts[0] ?? null;
}

/** Why an import breaks the rules, or null when it is allowed. */
export function ruleBroken(file: string, imp: Import): string | null {
  const from = folderOf(file);
  const rule = from === null ? undefined : RULES[from];
  if (from === null || rule === undefined) return null;
  const { specifier } = imp;
  if (specifier.startsWith("node:")) return rule.builtins ? null : `src/${from} uses no Node built-in (I/O)`;
  if (!specifier.startsWith(".")) {
    if (specifier === "<computed>") return "a dynamic import needs a literal path";
    return rule.packages ? null : `src/${from} uses no npm package`;
  }
  const to = folderOf(resolve(dirname(file), specifier));
  if (to === null) return `src/${from} imports nothing outside src/`;
  if (to === from || rule.may.includes(to)) return null;
  if (imp.typeOnly && rule.typesFrom?.includes(to) === true) return null;
  const typesOnly = rule.typesFrom?.includes(to) === true ? " (types only: use import type)" : "";
  return `src/${from} may not import src/${to}${typesOnly}`;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|cts)$/.test(entry.name) ? [path] : [];
  });
}

test("the import parser sees static, dynamic, type-only, re-exported and typeof imports", () => {
  const text = [
    'import { a } from "./a.ts";',
    'import type { B } from "./b.ts";',
    'import { type C, type D } from "./c.ts";',
    'import { type E, e } from "./e.ts";',
    'import "./side-effect.ts";',
    'export { f } from "./f.ts";',
    'export type { G } from "./g.ts";',
    'export * from "./h.ts";',
    'const i = await import("./i.ts");',
    'type J = typeof import("./j.ts");',
    "const k = await import(name);",
  ].join("\n");
  assert.deepEqual(importsOf("x.ts", text), [
    { specifier: "./a.ts", typeOnly: false },
    { specifier: "./b.ts", typeOnly: true },
    { specifier: "./c.ts", typeOnly: true },
    { specifier: "./e.ts", typeOnly: false },
    { specifier: "./side-effect.ts", typeOnly: false },
    { specifier: "./f.ts", typeOnly: false },
    { specifier: "./g.ts", typeOnly: true },
    { specifier: "./h.ts", typeOnly: false },
    { specifier: "./i.ts", typeOnly: false },
    { specifier: "./j.ts", typeOnly: true },
    { specifier: "<computed>", typeOnly: false },
  ]);
});

test("the folder rules refuse what ARCHITECTURE.md forbids and allow what it allows", () => {
  const src = (path: string) => join(ROOT, "src", path);
  const value = (specifier: string): Import => ({ specifier, typeOnly: false });
  const type = (specifier: string): Import => ({ specifier, typeOnly: true });
  for (const core of CORE) {
    for (const outer of ["host", "cli", "daemon"]) {
      assert.equal(
        ruleBroken(src(`${core}/x.ts`), type(`../${outer}/y.ts`)),
        `src/${core} may not import src/${outer}`,
      );
    }
  }
  assert.equal(ruleBroken(src("mape/x.ts"), value("../rules/y.ts")), "src/mape may not import src/rules");
  assert.equal(ruleBroken(src("mape/x.ts"), value("zod")), "src/mape uses no npm package");
  assert.equal(ruleBroken(src("plan/x.ts"), value("../render/y.ts")), "src/plan may not import src/render");
  assert.equal(
    ruleBroken(src("provision/x.ts"), value("node:dgram")),
    "src/provision uses no Node built-in (I/O)",
  );
  assert.equal(ruleBroken(src("host/x.ts"), value("../cli/y.ts")), "src/host may not import src/cli");
  assert.equal(
    ruleBroken(src("web/browser/x.ts"), value("../../daemon/y.ts")),
    "src/web/browser may not import src/daemon (types only: use import type)",
  );
  assert.equal(
    ruleBroken(src("web/browser/x.ts"), value("node:fs")),
    "src/web/browser uses no Node built-in (I/O)",
  );
  assert.equal(
    ruleBroken(src("plan/x.ts"), value("../../lab/y.ts")),
    "src/plan imports nothing outside src/",
  );
  assert.equal(ruleBroken(src("render/x.ts"), value("../plan/y.ts")), null);
  assert.equal(ruleBroken(src("render/x.ts"), value("./y.ts")), null);
  assert.equal(ruleBroken(src("web/browser/x.ts"), type("../../daemon/y.ts")), null);
  assert.equal(ruleBroken(src("host/x.ts"), value("../diagnose/y.ts")), null);
  assert.equal(ruleBroken(src("cli/x.ts"), value("../../lab/y.ts")), null);
});

test("no file under src/ imports a folder it must not (ARCHITECTURE.md)", () => {
  const files = sourceFiles(join(ROOT, "src"));
  assert.ok(files.length > 50, `only ${files.length} source files found`);
  const offences: string[] = [];
  for (const file of files) {
    for (const imp of importsOf(file, readFileSync(file, "utf8"))) {
      const broken = ruleBroken(file, imp);
      if (broken !== null) offences.push(`${relative(ROOT, file)}: "${imp.specifier}" — ${broken}`);
    }
  }
  assert.equal(offences.length, 0, `imports against ARCHITECTURE.md:\n${offences.join("\n")}`);
});
