import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isToken } from "../provision/hb46pp-request.ts";
import { stateDir } from "./state-store.ts";

/** What HB46PP keeps between queries: the server's token, and how many empty orders came in a row. */
export interface Hb46ppMemory {
  readonly token: string | null;
  readonly emptyOrders: number;
}

export const FRESH_MEMORY: Hb46ppMemory = { token: null, emptyOrders: 0 };

export interface Hb46ppMemoryStore {
  load(): Hb46ppMemory;
  save(memory: Hb46ppMemory): void;
}

function memoryPath(): string {
  return join(stateDir(), "hb46pp.json");
}

/**
 * The memory in the state directory, so a restart keeps the token the server gave. A damaged or
 * unreadable file is a fresh start, not an error: the token only helps the server place this CE.
 */
export function fileMemoryStore(): Hb46ppMemoryStore {
  return {
    load: () => {
      try {
        const doc = JSON.parse(readFileSync(memoryPath(), "utf8")) as Partial<Hb46ppMemory>;
        return {
          token: typeof doc.token === "string" && isToken(doc.token) ? doc.token : null,
          emptyOrders:
            typeof doc.emptyOrders === "number" && Number.isInteger(doc.emptyOrders) && doc.emptyOrders >= 0
              ? doc.emptyOrders
              : 0,
        };
      } catch {
        return FRESH_MEMORY;
      }
    },
    save: (memory) => {
      try {
        mkdirSync(stateDir(), { recursive: true, mode: 0o755 });
        const tmp = `${memoryPath()}.tmp`;
        writeFileSync(tmp, `${JSON.stringify(memory)}\n`, { mode: 0o600 });
        renameSync(tmp, memoryPath());
      } catch {
        // a read-only state directory (a rehearsal) costs only the token's help
      }
    },
  };
}

/** Memory kept in the process only (tests, one-shot commands that must not write state). */
export function memoryStore(initial: Hb46ppMemory = FRESH_MEMORY): Hb46ppMemoryStore & {
  current: Hb46ppMemory;
} {
  const store = {
    current: initial,
    load: () => store.current,
    save: (memory: Hb46ppMemory) => {
      store.current = memory;
    },
  };
  return store;
}
