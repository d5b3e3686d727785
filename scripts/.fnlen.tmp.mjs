// Longest functions in the given files, by line span (TypeScript compiler API).
import ts from "typescript";
import { readFileSync } from "node:fs";
const out = [];
for (const file of process.argv.slice(2)) {
  const src = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
  const visit = (n) => {
    if (ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n) || ts.isArrowFunction(n) || ts.isFunctionExpression(n)) {
      const a = src.getLineAndCharacterOfPosition(n.getStart()).line, b = src.getLineAndCharacterOfPosition(n.getEnd()).line;
      const name = n.name?.getText() ?? (ts.isVariableDeclaration(n.parent) ? n.parent.name.getText() : "<anon>");
      out.push([b - a + 1, `${file}:${a + 1} ${name}`]);
    }
    ts.forEachChild(n, visit);
  };
  visit(src);
}
out.sort((x, y) => y[0] - x[0]);
for (const [n, w] of out.slice(0, Number(process.env.TOP ?? 8))) console.log(n, w);
