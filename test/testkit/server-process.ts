import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = new URL('../..', import.meta.url).pathname;

export interface ServerProcess {
  process: ChildProcess;
  /** http://127.0.0.1:<port>, taken from the "ready at" log line (start with PORT=0 for a free port). */
  baseUrl: string;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  exited: Promise<number | string>;
  /** Sends `signal` (SIGTERM by default) unless it has exited, and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/** The production start, `node dist/index.js` (built by test/global-setup.ts). */
const COMPILED_START = [process.execPath, join(ROOT, 'dist/index.js')];

/**
 * The server as its own process (the compiled start unless `command` says otherwise, e.g. `npm start`'s
 * tsx), with only the given environment (plus PATH and HOME). Resolves once it logs that it listens.
 */
export async function startServerProcess(
  env: Record<string, string>,
  { timeoutMs = 90_000, command = COMPILED_START }: { timeoutMs?: number; command?: string[] } = {},
): Promise<ServerProcess> {
  const [executable, ...args] = command as [string, ...string[]];
  const child = spawn(executable, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /ready at (http:\/\/[^/\s"]+)\/graphql/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  }).catch((error) => {
    if (child.exitCode === null) child.kill('SIGKILL');
    throw error;
  });
  return {
    process: child,
    baseUrl,
    output: () => output,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
