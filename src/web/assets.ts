/**
 * The browser bundles, put here by scripts/build.mjs as string constants. Only the serve path
 * imports this module, so `mapectl calc` never evaluates them.
 */
import { calcPage, statusPage, type Page } from "./pages.ts";

declare const MAPECTL_WEB_STATUS_JS: string | undefined;
declare const MAPECTL_WEB_CALC_JS: string | undefined;

// Run from source (tsx) there is no bundle: say so in the page instead of failing.
const UNBUILT = `document.body.append("The browser code is built into dist/mapectl.cjs only: run npm run build and use the built CLI.")`;

export interface WebPages {
  readonly status: Page;
  readonly calc: Page;
}

export function webPages(): WebPages {
  return {
    status: statusPage(typeof MAPECTL_WEB_STATUS_JS === "string" ? MAPECTL_WEB_STATUS_JS : UNBUILT),
    calc: calcPage(typeof MAPECTL_WEB_CALC_JS === "string" ? MAPECTL_WEB_CALC_JS : UNBUILT),
  };
}
