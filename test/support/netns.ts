import { execFileSync } from 'node:child_process';

/**
 * A network namespace joined to this host by a veth pair, with addresses of a private range on the pair
 * only, so a process run inside it reaches this host over a link the test can take down (a real network
 * cut: packets dropped, not connections refused). Needs root (or CAP_NET_ADMIN) and `ip`.
 */
export interface NetnsLink {
  namespace: string;
  /** The host's end: a `verity serve` listens here, and `down()` takes it down. */
  hostAddress: string;
  nsAddress: string;
  /** The command that runs a process inside the namespace. */
  wrap: string[];
  down(): void;
  up(): void;
  remove(): void;
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });

function describeFailure(error: unknown): string {
  const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
  return stderr || (error as Error).message;
}

/** Why this machine cannot make a namespace, or undefined when it can (checked by making one and removing it). */
export function netnsUnavailable(): string | undefined {
  const probe = `verity-probe-${process.pid}`;
  try {
    ip('netns', 'add', probe);
  } catch (error) {
    return `ip netns is not permitted here: ${describeFailure(error)}`;
  }
  try {
    ip('netns', 'del', probe);
  } catch {
    // made, so permitted; a leftover probe is harmless and the next run's name differs
  }
  return undefined;
}

/** Makes the namespace and the veth pair; on any failure undoes what it made. */
export function createNetnsLink(label: string): NetnsLink {
  const tag = `${label}${process.pid % 10_000}`;
  const namespace = `verity-${tag}`;
  // Interface names are at most 15 characters.
  const hostIf = `v${tag}h`.slice(0, 15);
  const nsIf = `v${tag}n`.slice(0, 15);
  // A /30 of 10.213.0.0/16 not in use on this host.
  const used = ip('-4', '-o', 'addr', 'show').toString();
  let subnet = process.pid % 250;
  while (used.includes(` 10.213.${subnet}.`)) subnet = (subnet + 1) % 250;
  const hostAddress = `10.213.${subnet}.1`;
  const nsAddress = `10.213.${subnet}.2`;
  const remove = () => {
    try {
      ip('netns', 'del', namespace);
    } catch {
      // not made, or gone
    }
    try {
      // Gone with the namespace (its peer went with it), unless the namespace was never reached.
      ip('link', 'del', hostIf);
    } catch {
      // gone already
    }
  };
  try {
    ip('netns', 'add', namespace);
    ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf);
    ip('link', 'set', nsIf, 'netns', namespace);
    ip('addr', 'add', `${hostAddress}/30`, 'dev', hostIf);
    ip('link', 'set', hostIf, 'up');
    ip('netns', 'exec', namespace, 'ip', 'addr', 'add', `${nsAddress}/30`, 'dev', nsIf);
    ip('netns', 'exec', namespace, 'ip', 'link', 'set', nsIf, 'up');
    ip('netns', 'exec', namespace, 'ip', 'link', 'set', 'lo', 'up');
  } catch (error) {
    remove();
    throw new Error(`could not set up the namespace ${namespace}: ${describeFailure(error)}`, { cause: error });
  }
  return {
    namespace,
    hostAddress,
    nsAddress,
    wrap: ['ip', 'netns', 'exec', namespace],
    down: () => void ip('link', 'set', hostIf, 'down'),
    up: () => void ip('link', 'set', hostIf, 'up'),
    remove,
  };
}
