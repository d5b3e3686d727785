import assert from "node:assert/strict";
import { test } from "node:test";
import { MapectlError } from "../../../src/mape/errors.ts";
import { withMarkedBlock, withoutMarkedBlock } from "../../../src/render/marked-block.ts";

const marks = { begin: "# BEGIN mapectl", end: "# END mapectl" };
const block = { ...marks, text: "# BEGIN mapectl: new\nnft -f x\n# END mapectl\n" };

test("the block is added at the end of a file of the user's, and taken out again byte for byte", () => {
  const mine = "#!/bin/sh\nip link set eth3 up\n";
  const merged = withMarkedBlock(mine, block, "boot");
  assert.equal(merged, `${mine}${block.text}`);
  assert.equal(withoutMarkedBlock(merged, marks, "boot"), mine);
  assert.equal(withMarkedBlock("#!/bin/sh", block, "boot"), `#!/bin/sh\n${block.text}`);
});

test("an old block is replaced where it stands: the user's lines before and after it stay", () => {
  const old = "#!/bin/sh\nbefore\n# BEGIN mapectl: old\nnft -f old\n# END mapectl\nafter\n";
  const merged = withMarkedBlock(old, block, "boot");
  assert.equal(merged, `#!/bin/sh\nbefore\n${block.text}after\n`);
  assert.equal(withMarkedBlock(merged, block, "boot"), merged, "merging twice changes nothing");
});

test("a BEGIN without its END is refused rather than guessing where mapectl's lines stop", () => {
  const broken = "#!/bin/sh\n# BEGIN mapectl\nmine\n";
  for (const merge of [
    () => withMarkedBlock(broken, block, "/config/scripts/boot"),
    () => withoutMarkedBlock(broken, marks, "/config/scripts/boot"),
  ]) {
    assert.throws(merge, (err: unknown) => {
      assert.ok(err instanceof MapectlError);
      assert.equal(err.category, "config");
      assert.match(err.message, /^\/config\/scripts\/boot has a "# BEGIN mapectl" line without/);
      return true;
    });
  }
});
