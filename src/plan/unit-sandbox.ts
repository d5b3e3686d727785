/**
 * Where a systemd unit's own sandbox hides files from the service it starts: ProtectHome= makes
 * /home, /root and /run/user empty (or read-only), PrivateTmp= gives it empty /tmp and /var/tmp.
 * An ExecStart= that points into one of them can never start.
 */
function settingOf(unit: string, key: string): string | null {
  let value: string | null = null;
  for (const line of unit.split("\n")) {
    const match = new RegExp(`^\\s*${key}\\s*=\\s*(.*?)\\s*$`).exec(line);
    // a later assignment wins, as in systemd
    if (match !== null) value = (match[1] ?? "").toLowerCase();
  }
  return value;
}

const TRUE = new Set(["yes", "true", "on", "1"]);

function hiddenDirs(unit: string): { dirs: string[]; by: string }[] {
  const out: { dirs: string[]; by: string }[] = [];
  const home = settingOf(unit, "ProtectHome");
  // read-only leaves the files there to run
  if (home !== null && (TRUE.has(home) || home === "tmpfs")) {
    out.push({ dirs: ["/home", "/root", "/run/user"], by: `ProtectHome=${home}` });
  }
  const tmp = settingOf(unit, "PrivateTmp");
  if (tmp !== null && TRUE.has(tmp)) out.push({ dirs: ["/tmp", "/var/tmp"], by: `PrivateTmp=${tmp}` });
  return out;
}

/** Why the unit's sandbox hides this absolute path from the service, or null when it does not. */
export function hiddenBySandbox(unit: string, path: string): string | null {
  for (const { dirs, by } of hiddenDirs(unit)) {
    const dir = dirs.find((d) => path === d || path.startsWith(`${d}/`));
    if (dir !== undefined) return `${by} hides ${dir} from the daemon`;
  }
  return null;
}

/**
 * The refusal for a unit whose ExecStart= words (the executable, or node and the bundle) lie
 * where its sandbox hides them; null when the daemon can start.
 */
export function hiddenExecutable(unit: string, command: readonly string[]): string | null {
  for (const word of command) {
    const why = hiddenBySandbox(unit, word);
    if (why !== null) {
      return `refusing to install a unit that cannot start: it would run ${word}, but its sandbox (${why}); install the .deb, or copy mapectl to /usr/local/bin and run install from there`;
    }
  }
  return null;
}
