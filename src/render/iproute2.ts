// The iproute2 argv builders live in src/plan/iproute2.ts: reconcile builds its actions from them and
// src/plan never imports src/render. Renderers and doctor fixes use them through this module.
export * from "../plan/iproute2.ts";
