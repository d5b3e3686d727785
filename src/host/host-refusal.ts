import { MapectlError } from "../base/mapectl-error.ts";

/**
 * The host is not in a state mapectl may act on (another mapectl holds the lock, the state file
 * is damaged, a path it would write is a symbolic link): exit status 5, like the host not being
 * ready.
 */
export class HostRefusal extends MapectlError {
  constructor(message: string) {
    super("environment", message);
    this.name = "HostRefusal";
  }
}
