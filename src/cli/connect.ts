import type { Paths } from '../config/paths.js';
import { JjfsError } from '../errors.js';
import { RpcClient } from '../rpc/client.js';
import { PROTOCOL_VERSION } from '../rpc/wire-constants.js';
import { VERSION } from '../version.js';
import type { Launch } from './service-control.js';

/**
 * Connects to the daemon and checks that it speaks our protocol. With `autoStart`, a missing
 * daemon is started first (through the service manager when a service is installed).
 */
export async function connectDaemon(paths: Paths, opts: { autoStart: boolean }): Promise<RpcClient> {
  const first = await tryConnect(paths);
  if (first) return handshake(first);
  if (!opts.autoStart) {
    throw new JjfsError('daemon-unavailable', 'jjfsd is not running. Start it with: jjfs start');
  }
  return (await startAndConnect(paths)).client;
}

/** Starts the daemon (see `launchDaemon` in service-control.ts) and connects to it. */
export async function startAndConnect(paths: Paths): Promise<{ client: RpcClient; launch: Launch }> {
  // Loaded only when no daemon answers: `jjfs list` against a running daemon never pays for it.
  const { launchDaemon } = await import('./service-control.js');
  let client: RpcClient | undefined;
  const launch = await launchDaemon(paths, async () => {
    client = await tryConnect(paths);
    return client !== undefined;
  });
  if (!client) throw new JjfsError('daemon-unavailable', 'jjfsd started but does not answer.');
  return { client: await handshake(client), launch };
}

/** A connection, or undefined when nothing listens on the socket. */
export async function tryConnect(paths: Paths): Promise<RpcClient | undefined> {
  try {
    return await RpcClient.connect(paths.socket);
  } catch (error) {
    if (error instanceof JjfsError && error.kind === 'daemon-unavailable') return undefined;
    throw error;
  }
}

async function handshake(client: RpcClient): Promise<RpcClient> {
  let daemon: { version: string; protocol: number } | undefined;
  try {
    daemon = await client.request('hello', { client: VERSION, protocol: PROTOCOL_VERSION });
  } catch (error) {
    client.close();
    if (error instanceof JjfsError && error.kind !== 'version-mismatch') throw error;
  }
  if (!daemon || daemon.protocol !== PROTOCOL_VERSION) {
    client.close();
    const theirs = daemon ? `version ${daemon.version}, protocol ${daemon.protocol}` : 'an older version';
    throw new JjfsError(
      'version-mismatch',
      `The running jjfsd (${theirs}) does not match this jjfs (version ${VERSION}, protocol ${PROTOCOL_VERSION}). ` +
        'Restart jjfsd: jjfs stop && jjfs start',
    );
  }
  return client;
}
