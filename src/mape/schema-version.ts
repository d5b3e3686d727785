/**
 * The version of every JSON document mapectl prints or stores (--json output, the state file, the
 * install manifest, the web API). Raise it when a field changes meaning or goes away; adding a field
 * keeps it.
 */
export const SCHEMA_VERSION = 1;
