/**
 * The host is not in a state mapectl may act on (another mapectl holds the lock, the state file
 * is damaged, a path it would write is a symbolic link): exit status 5, like the host not being
 * ready. Matched by name (see isHostError): errors cross between the CLI's lazily loaded bundles.
 */
export class HostRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HostRefusal";
  }
}
