import { spawn } from 'node:child_process';

/**
 * Tells the person at the desk that a conflict appeared, with the desktop's own notifier:
 * `notify-send` on Linux, `osascript` on macOS. Never required: a missing notifier, no desktop
 * session, or a notifier that fails changes nothing (the conflict is listed by `jjfs conflicts`
 * either way). The child is detached and not waited for, so it can never hold up a round.
 */
export function notifyDesktop(title: string, body: string): void {
  const [command, args]: [string, string[]] =
    process.platform === 'darwin'
      ? ['osascript', ['-e', `display notification ${JSON.stringify(body)} with title ${JSON.stringify(title)}`]]
      : ['notify-send', ['--app-name=jjfs', title, body]];
  try {
    const child = spawn(command, args, { stdio: 'ignore', detached: true });
    child.on('error', () => undefined); // not installed: nothing to tell
    child.unref();
  } catch {
    // spawn itself failed (e.g. no such binary on some platforms): nothing to tell
  }
}
