import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { repoHome, type Paths } from '../config/paths.js';
import type { MountConfig } from '../config/schema.js';
import type { ConfigStore } from '../config/store.js';
import { JjfsError, messageOf } from '../errors.js';
import { FuseMount, type FuseMountOptions } from '../fs/mount.js';
import { allowOtherProblem } from '../fs/fuse-preflight.js';
import { listFuseMounts } from '../fs/unmount.js';
import type { BackingChange } from '../fs/announce.js';
import { MountAnnouncer } from '../fs/mount-announcer.js';
import type { Notifier } from '../fs/notifier.js';
import { MountGate } from '../fs/write-gate.js';

export type { FuseAvailability, MountServiceInit, MountSync } from './mount-deps.js';
import type { Logger } from '../log.js';
import type { CommitRef, MountInfo, UnsyncedReport } from '../rpc/protocol.js';
import { describeUnsynced } from '../rpc/unsynced-text.js';
import type { FuseAvailability, MountRepos, MountServiceInit, MountSync, OpenRequest, ServedMount, VersionResolver } from './mount-deps.js';
import { KeyedMutex } from '../util/mutex.js';
import { allMountPoints, backingRoot, isWritable, prepareSubtree, subtreeOf } from './mount-layout.js';
import { checkOpenTarget } from './open-target.js';
import { moveOut, rescueMountPoint } from './rescue.js';

interface LiveMount {
  config: MountConfig;
  fuse?: ServedMount;
  gate?: MountGate;
  announcer?: MountAnnouncer;
  error?: string;
}

/**
 * Opens, closes and restores mounts: a jj workspace per mount, a FUSE pass-through over it, the
 * sync engine attached, and config.json kept in step. Every change to the mount table runs under
 * one lock; a failed open undoes what it did.
 *
 * A read-only mount of a past state (`open --at`, `MountConfig.at` = the commit) is backed by a jj
 * workspace created at that commit which the sync engine never attaches: nothing is committed from
 * it, nothing moves it, and its FUSE mount answers EROFS to every write. jj checks the tree out
 * exactly (conflict markers, symlinks, executable bits) and the mount shares every code path of a
 * live one (list, close, restart); its working-copy commit is an empty child of that commit, off
 * main, and goes away when `close` forgets the workspace.
 */
export class MountService {
  private readonly live = new Map<string, LiveMount>();
  private readonly lock = new KeyedMutex();

  private readonly paths: Paths;
  private readonly config: ConfigStore;
  private readonly repos: MountRepos;
  private readonly hub: MountSync;
  private readonly fuse: FuseAvailability;
  private readonly notifier: Notifier | undefined;
  private readonly log: Logger;
  private readonly resolveVersion: VersionResolver;
  private readonly serve: (options: FuseMountOptions) => ServedMount;
  private readonly kernelCache: boolean;

  constructor(init: MountServiceInit) {
    this.serve = init.serve ?? ((options) => new FuseMount(options));
    this.paths = init.paths;
    this.config = init.config;
    this.repos = init.repos;
    this.hub = init.sync;
    this.fuse = init.fuse;
    this.notifier = init.notifier;
    this.log = init.log;
    this.resolveVersion = init.resolveVersion;
    this.kernelCache = init.kernelCache ?? false;
  }

  /**
   * Changes seen in a mount's backing directory: replayed through the mount so its watchers get
   * the events a direct write would have raised (fs/announce.ts). Never touches the mount from
   * here: the notifier child does.
   */
  backingChanged(id: string, events: BackingChange[]): void {
    const m = this.live.get(id);
    if (!m?.announcer || !m.fuse?.mounted) return;
    // The watcher reports workspace-relative paths; a subtree mount shows only its folder.
    const prefix = m.config.subtree === undefined ? '' : `${m.config.subtree}/`;
    const shown = prefix === '' ? events : events.filter((e) => e.path.startsWith(prefix)).map((e) => ({ ...e, path: e.path.slice(prefix.length) }));
    if (shown.length > 0) void m.announcer.changed(shown);
  }

  /**
   * Mounts `repo` at `target` (absolute), creating the repo when it does not exist yet; with `at`,
   * mounts the repo's state at that revision or instant read-only (the repo must exist).
   */
  open(request: OpenRequest): Promise<{ mount: MountInfo; createdRepo: boolean; version?: CommitRef }> {
    const { repo, path: target, at, readOnly = false, allowOther = false } = request;
    return this.lock.run('mounts', async () => {
      this.repos.validateName(repo);
      if (allowOther) {
        const problem = await allowOtherProblem();
        if (problem) throw new JjfsError('environment', problem);
      }
      // Checked before anything is created: never trusted from the wire.
      const subtree = request.subtree === undefined ? undefined : subtreeOf(request.subtree);
      let version: CommitRef | undefined;
      if (at !== undefined) {
        this.repos.require(repo); // a past state of a repo that does not exist is an error, not a new repo
        version = await this.resolveVersion(repo, at);
      }
      const where = path.resolve(target);
      const { create } = await checkOpenTarget(where, {
        paths: this.paths,
        mounts: this.config.snapshot().mounts,
        systemMounts: await listFuseMounts(),
        allMountPoints: await allMountPoints(),
      });
      this.requireFuse();
      const createdRepo = this.config.snapshot().repos[repo] === undefined;
      if (subtree && !createdRepo) {
        // The folder, or a folder on its way, must not be a file in the repo (checked before anything is made).
        const parts = subtree.split('/');
        const files = await this.hub.filesAt(repo, parts.map((_, i) => parts.slice(0, i + 1).join('/')), version?.commit);
        if (files.length > 0) {
          throw new JjfsError('invalid-input', `${files[0]!} is a file in repo "${repo}", not a folder; open the folder that holds it, or the whole repo.`);
        }
      }
      if (createdRepo) await this.repos.init(repo);
      const id = randomUUID();
      const mount: MountConfig = {
        id,
        repo,
        path: where,
        workspace: path.join(repoHome(this.paths, repo), 'workspaces', id),
        created_at: new Date().toISOString(),
        ...(version ? { at: version.commit } : {}),
        // A past state is read-only already; `read_only` marks a live view.
        ...(readOnly && !version ? { read_only: true as const } : {}),
        ...(subtree ? { subtree } : {}),
        ...(allowOther ? { allow_other: true as const } : {}),
      };
      const undo: Array<() => Promise<unknown>> = [];
      try {
        await this.hub.createWorkspace(repo, id, mount.workspace, version?.commit, subtree);
        undo.push(() => this.hub.forgetWorkspace(repo, id), () => rm(mount.workspace, { recursive: true, force: true }));
        if (subtree) await prepareSubtree(mount.workspace, subtree, repo);
        if (create) {
          try {
            await mkdir(where, { mode: 0o755 });
          } catch (error) {
            throw new JjfsError('environment', `Cannot create ${where} (${messageOf(error)}). Check the permissions of its parent.`);
          }
          undo.push(() => rmdir(where));
        }
        const liveMount = version ? await this.mountReadOnly(mount) : await this.mountAndAttach(mount);
        undo.push(() => this.unmountAndDetach(liveMount));
        await this.config.update((draft) => {
          draft.mounts.push(mount);
        });
        this.live.set(id, liveMount);
        this.log.info('opened', { repo, path: where, id, ...(version ? { at: version.commit } : {}) });
        return { mount: this.info(liveMount), createdRepo, ...(version ? { version } : {}) };
      } catch (error) {
        for (const step of undo.reverse()) await step().catch(() => undefined);
        throw error;
      }
    });
  }

  /**
   * Unmounts (lazily: works with a shell inside), records the mount's last changes in jj, forgets
   * its workspace and deletes the backing directory. If the last changes cannot be recorded, the
   * workspace is kept and the error says where.
   */
  close(target: string, force = false): Promise<{ mount: MountInfo; rescued?: string }> {
    return this.lock.run('mounts', async () => {
      const where = path.resolve(target);
      const found = [...this.live.values()].find((m) => m.config.path === where);
      if (!found) {
        throw new JjfsError('not-found', `${where} is not a jjfs mount. See the mounts with: jjfs list`);
      }
      const info = this.info(found);
      // Paths that exist only in this mount would be deleted with its workspace: refuse, or with
      // --force move them out first (a rename inside JJFS_HOME: every byte kept, nothing copied).
      const only = isWritable(found.config) ? (await this.hub.unsynced(found.config.repo, found.config.id)).paths : [];
      const rescue = path.join(this.paths.home, 'rescued', `${found.config.repo}-${path.basename(where)}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
      if (only.length > 0 && !force) {
        const list = only.slice(0, 20).map((p) => `  ${p.path} (${describeUnsynced(p)})`);
        throw new JjfsError(
          'conflict',
          `${where} holds ${only.length} path(s) that exist only in this mount and are not in history:\n${list.join('\n')}${only.length > 20 ? '\n  …' : ''}\n` +
            `Move them elsewhere first, or close with --force to move them to ${path.join(this.paths.home, 'rescued')}/.`,
          { paths: only },
        );
      }
      // Freeze first: a process that stays inside after the lazy unmount gets EROFS rather than
      // writing into a workspace that the final round below records and then deletes.
      found.fuse?.freeze();
      await found.fuse?.unmount();
      // After the unmount (nothing writes there any more), before the final round deletes the
      // workspace: these paths are untracked, so moving them changes nothing in history.
      if (only.length > 0) await moveOut(found.config.workspace, only.map((p) => p.path), rescue);
      try {
        if (found.config.at !== undefined) {
          // Read-only: nothing to record. Forget the workspace, then delete its files.
          await this.hub.forgetWorkspace(found.config.repo, found.config.id);
          await rm(found.config.workspace, { recursive: true, force: true });
        } else {
          await this.hub.remove(found.config.repo, found.config.id);
        }
      } catch (error) {
        found.error = `close failed: ${messageOf(error)}`;
        throw new JjfsError(
          'internal',
          `Could not record the last changes of ${where}; its workspace is kept at ${found.config.workspace}: ${messageOf(error)}`,
        );
      }
      this.hub.unregisterGate(found.config.id, found.gate);
      await this.config.update((draft) => {
        draft.mounts = draft.mounts.filter((m) => m.id !== found.config.id);
      });
      this.live.delete(found.config.id);
      await rmdir(where).catch(() => undefined); // only if empty; a lingering shell may keep it
      this.log.info('closed', { repo: found.config.repo, path: where, ...(only.length > 0 ? { rescued: rescue } : {}) });
      return { mount: { ...info, state: 'unmounted' }, ...(only.length > 0 ? { rescued: rescue } : {}) };
    });
  }

  /** What live mounts hold that history does not: those of `repo`, or the one at `target`. */
  async unsynced(filter: { repo?: string; path?: string }): Promise<Array<{ repo: string; path: string; report: UnsyncedReport }>> {
    const where = filter.path === undefined ? undefined : path.resolve(filter.path);
    const chosen = [...this.live.values()].filter(
      (m) => isWritable(m.config) && (filter.repo === undefined || m.config.repo === filter.repo) && (where === undefined || m.config.path === where),
    );
    if (where !== undefined && chosen.length === 0) throw new JjfsError('not-found', `${where} is not a jjfs mount. See the mounts with: jjfs list`);
    return Promise.all(chosen.map(async (m) => ({ repo: m.config.repo, path: m.config.path, report: await this.hub.unsynced(m.config.repo, m.config.id) })));
  }

  /** Remounts every mount in config.json (after a restart, clean or not). */
  async remountAll(): Promise<void> {
    await this.lock.run('mounts', async () => {
      for (const config of this.config.snapshot().mounts) {
        const entry: LiveMount = { config };
        this.live.set(config.id, entry);
        if (!existsSync(config.workspace)) {
          entry.error = `backing workspace ${config.workspace} is missing; recreate the mount: jjfs close ${config.path} && jjfs open ${config.repo} ${config.path}`;
          this.log.error('cannot restore mount', { path: config.path, error: entry.error });
          continue;
        }
        try {
          if (!this.fuse.ok) throw new Error(`FUSE is unavailable: ${this.fuse.detail}`);
          Object.assign(entry, config.at !== undefined ? await this.mountReadOnly(config) : await this.mountAndAttach(config));
          this.log.info('restored', { repo: config.repo, path: config.path });
        } catch (error) {
          entry.error = messageOf(error);
          this.log.error('cannot restore mount', { path: config.path, error: entry.error });
        }
      }
    });
  }

  /**
   * Every mount with its state; reads /proc/mounts to notice mounts removed behind our back. With
   * `unsynced`, each live mount also says what it holds that history does not.
   */
  async list(opts: { unsynced?: boolean } = {}): Promise<MountInfo[]> {
    const mounted = new Set((await listFuseMounts()).map((m) => m.path));
    return Promise.all(
      [...this.live.values()].map(async (m) => {
        const info = this.info(m);
        if (info.state === 'mounted' && !mounted.has(m.config.path)) {
          return { ...info, state: 'stale' as const, error: 'the mount was removed outside jjfs; restart jjfsd to remount it' };
        }
        if (!opts.unsynced || !isWritable(m.config)) return info;
        const report = await this.hub.unsynced(m.config.repo, m.config.id).catch(() => undefined);
        return report && report.paths.length > 0 ? { ...info, unsynced: report } : info;
      }),
    );
  }

  /** Repos that have at least one live (not read-only) mount: the ones with something to sync. */
  mountedRepos(): string[] {
    return [...new Set([...this.live.values()].filter((m) => m.config.at === undefined).map((m) => m.config.repo))];
  }

  /**
   * Shutdown: unmount everything (writes stop), then the caller runs a last round so every change
   * is recorded. Config keeps the mounts, so the next start remounts them.
   */
  async unmountAll(): Promise<void> {
    await Promise.all(
      [...this.live.values()].map(async (m) => {
        try {
          await m.fuse?.unmount();
        } catch (error) {
          this.log.error('unmount failed', { path: m.config.path, error: messageOf(error) });
        }
      }),
    );
  }

  private async mountAndAttach(config: MountConfig): Promise<LiveMount> {
    const gate = new MountGate({ log: this.log.child('fuse') });
    this.hub.registerGate(config.id, gate);
    const announcer = this.notifier && new MountAnnouncer(config.path, backingRoot(config), gate, this.notifier, this.log.child('fuse'));
    const fuse = this.serve({
      mountPath: config.path,
      backingDir: backingRoot(config),
      gate,
      ...(this.kernelCache ? { kernelCache: true } : {}),
      ...(announcer ? { announce: announcer.state } : {}),
      log: this.log.child('fuse'),
      beforeMutation: (relPath) => announcer?.noteOwnWrite(relPath),
      onMutation: (relPath, before) => {
        announcer?.noteOwnWrite(relPath, before);
        this.hub.markDirty(config.id);
      },
      beforeMount: () => this.rescue(config),
      ...(config.allow_other ? { allowOther: true } : {}),
      // A live read-only view refuses writes in the pass-through, not with the kernel's `ro`: the
      // notifier's replays (the events of synced changes) must still reach its watchers.
      ...(config.read_only ? { refuseWrites: true } : {}),
    });
    try {
      await fuse.mount();
    } catch (error) {
      this.hub.unregisterGate(config.id, gate);
      throw new JjfsError('environment', `Cannot mount ${config.path}: ${messageOf(error)}`);
    }
    try {
      await this.hub.attach(config.repo, { id: config.id, dir: config.workspace, label: config.path, ...(config.read_only ? { readOnly: true } : {}) });
    } catch (error) {
      await fuse.unmount().catch(() => undefined);
      this.hub.unregisterGate(config.id, gate);
      throw error;
    }
    return { config, fuse, gate, ...(announcer ? { announcer } : {}) };
  }

  /** A read-only mount of a past state: FUSE with EROFS, no gate registered, nothing attached. */
  private async mountReadOnly(config: MountConfig): Promise<LiveMount> {
    const gate = new MountGate({ log: this.log.child('fuse') });
    const fuse = this.serve({ mountPath: config.path, backingDir: backingRoot(config), readOnly: true, gate, log: this.log.child('fuse'), ...(config.allow_other ? { allowOther: true } : {}) });
    try {
      await fuse.mount();
    } catch (error) {
      throw new JjfsError('environment', `Cannot mount ${config.path}: ${messageOf(error)}`);
    }
    return { config, fuse };
  }

  /**
   * Moves files written into the bare mount point while it was not mounted (daemon stopped or
   * killed) into the workspace: otherwise the mount fails ("not empty") or would hide them. Skipped
   * when something is mounted there: the daemon never looks inside a mount.
   */
  private async rescue(config: MountConfig): Promise<void> {
    if ((await allMountPoints()).has(config.path)) return;
    const report = await rescueMountPoint(config.path, backingRoot(config));
    if (report.moved.length + report.renamed.length + report.duplicates.length === 0) return;
    this.log.warn('moved files written into the mount point while it was not mounted into the mount', {
      path: config.path,
      moved: report.moved,
      keptBeside: report.renamed.map(([from, to]) => `${from} -> ${to}`),
      identical: report.duplicates,
    });
  }

  private async unmountAndDetach(m: LiveMount): Promise<void> {
    if (m.config.at === undefined) await this.hub.detach(m.config.repo, m.config.id).catch(() => undefined);
    await m.fuse?.unmount();
    this.hub.unregisterGate(m.config.id, m.gate);
  }

  private info(m: LiveMount): MountInfo {
    const ws = this.hub.status(m.config.repo)?.workspaces.find((w) => w.id === m.config.id);
    const lastRound = this.hub.status(m.config.repo)?.lastRound?.startedAt;
    const unhealthy = m.error ?? (ws && !ws.healthy ? (ws.lastError ?? 'jj failed in this workspace') : undefined);
    return {
      id: m.config.id,
      repo: m.config.repo,
      path: m.config.path,
      workspace: m.config.workspace,
      state: unhealthy ? 'unhealthy' : m.fuse?.mounted ? 'mounted' : 'unmounted',
      ...(m.config.at ? { at: m.config.at } : {}),
      ...(m.config.read_only ? { readOnly: true as const } : {}),
      ...(m.config.subtree ? { subtree: m.config.subtree } : {}),
      ...(m.config.allow_other ? { allowOther: true as const } : {}),
      ...(m.fuse?.mounted && m.fuse.cacheMode ? { kernelCache: m.fuse.cacheMode } : {}),
      ...(lastRound ? { lastSync: lastRound } : {}),
      ...(unhealthy ? { error: unhealthy } : {}),
    };
  }

  private requireFuse(): void {
    if (!this.fuse.ok) throw new JjfsError('environment', `FUSE is not usable on this machine: ${this.fuse.detail}`);
  }
}
