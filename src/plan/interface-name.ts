/** What the kernel accepts as a link name (IFNAMSIZ 16 with the NUL), and nothing a shell or file would read twice. */
const IFNAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,14}$/;

export function isInterfaceName(name: string): boolean {
  return IFNAME.test(name);
}

/** The one wording every front end uses, so a flag and a file key are refused alike. */
export function interfaceNameProblem(what: string, name: string): string | null {
  return isInterfaceName(name)
    ? null
    : `${what} "${name}" is not a valid interface name (1–15 letters, digits, _ . - @)`;
}
