import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** One pass of `PRAGMA wal_checkpoint(PASSIVE)`: frames in the WAL, and how many of them are in the database file. */
export interface CheckpointPass {
  log: number;
  checkpointed: number;
}

export interface CheckpointerOptions {
  /** The database file, opened again on the thread with its own connection. */
  path: string;
  /** The thread opened the file and runs passes: the caller can stop checkpointing on its own connection. */
  onReady: () => void;
  /**
   * The WAL has gone `restartFrames` without starting over: the writer should copy what the thread has not (a short
   * tail while the thread keeps up, more when writes outrun it), so its next write starts the WAL over.
   */
  onRestart: (pass: CheckpointPass) => void;
  /** The thread failed or exited; the caller goes back to checkpointing on its own connection. */
  onStopped: (error: unknown) => void;
  /** Frames after which the WAL should start over (default 4096, 16 MiB of 4 KiB pages). */
  restartFrames?: number;
  /** Pause between passes while writes are coming in, ms (default 20). */
  busyIntervalMs?: number;
  /**
   * Pause between passes while nothing is written, ms (default 50), doubling with each further idle pass up to
   * `maxIdleIntervalMs` (default 1,000): how soon a burst of writes is noticed, against how often an idle store wakes.
   */
  idleIntervalMs?: number;
  maxIdleIntervalMs?: number;
}

/**
 * The thread's code (CommonJS, evaluated). A PASSIVE checkpoint never waits for and never blocks the writer or readers;
 * it copies what it can. Near the restart threshold a pass that left many frames (the writer kept appending) goes again
 * at once, so the tail left to the writer is short; past it, the writer is asked to copy that tail (`restart`).
 */
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
// A checkpoint syncs the WAL before copying and the database after, as the writer's own checkpoints did.
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 0');
db.pragma('wal_autocheckpoint = 0');
let timer;
let closed = false;
let idleFor = 0;
const pass = () => db.pragma('wal_checkpoint(PASSIVE)')[0];
function tick(previousLog) {
  if (closed) return;
  let { log, checkpointed } = pass();
  for (let again = 0; again < workerData.catchUpPasses && log >= workerData.restartFrames && log - checkpointed > workerData.tailFrames; again++) {
    ({ log, checkpointed } = pass());
  }
  if (log >= workerData.restartFrames && log > checkpointed) parentPort.postMessage({ type: 'restart', log, checkpointed });
  const idle = log === checkpointed && log === previousLog;
  idleFor = idle ? idleFor + 1 : 0;
  const idleMs = Math.min(workerData.maxIdleIntervalMs, workerData.idleIntervalMs * 2 ** Math.min(idleFor - 1, 16));
  timer = setTimeout(tick, idle ? idleMs : workerData.busyIntervalMs, log);
}
parentPort.on('message', (message) => {
  if (message !== 'close') return;
  closed = true;
  clearTimeout(timer);
  db.close();
  parentPort.close();
});
parentPort.postMessage({ type: 'ready' });
tick(-1);
`;

/**
 * Checkpoints a WAL database on a worker thread, so the event loop never waits for the fsyncs a checkpoint needs.
 *
 * With SQLite's automatic checkpoints, the commit that crosses 1,000 WAL frames copies them into the database and
 * syncs both files before it returns: on the dispatcher's send path that was about half of what a finish cost. The
 * thread copies frames as they come. But the WAL only starts over when every frame has been copied at the moment a
 * write begins, which a thread racing a busy writer never sees, and a thread that falls behind must slow the writer
 * as inline checkpoints did, or the WAL grows without bound. So past `restartFrames` the thread asks the writer
 * (`onRestart`) to copy the rest itself: a short tail when the thread keeps up, all the backlog when it does not.
 *
 * Durability is unchanged: commits are in the WAL (a killed process loses none), and each checkpoint syncs as before.
 */
export class BackgroundCheckpointer {
  readonly #worker: Worker;
  #stopped = false;
  #closing: Promise<void> | undefined;

  constructor(options: CheckpointerOptions) {
    const restartFrames = options.restartFrames ?? 4096;
    this.#worker = new Worker(THREAD_SOURCE, {
      eval: true,
      workerData: {
        driver: resolveDriver(),
        path: options.path,
        restartFrames,
        // Near the threshold, passes repeat (at most catchUpPasses more) until the writer is left this few frames.
        tailFrames: 32,
        catchUpPasses: 4,
        busyIntervalMs: options.busyIntervalMs ?? 20,
        idleIntervalMs: options.idleIntervalMs ?? 50,
        maxIdleIntervalMs: Math.max(options.idleIntervalMs ?? 50, options.maxIdleIntervalMs ?? 1_000),
      },
    });
    this.#worker.on('message', (message: { type: string } & CheckpointPass) => {
      if (this.#stopped) return;
      if (message.type === 'ready') options.onReady();
      else if (message.type === 'restart') options.onRestart({ log: message.log, checkpointed: message.checkpointed });
    });
    const stop = (error: unknown) => {
      if (this.#stopped) return;
      this.#stopped = true;
      options.onStopped(error);
    };
    this.#worker.on('error', stop);
    this.#worker.on('exit', (code) => stop(new Error(`The checkpoint thread exited with code ${code}.`)));
    // Listeners first: adding a 'message' listener refs the worker again. Unref'd, it never keeps the process alive.
    this.#worker.unref();
  }

  /** Stops the thread and closes its connection; resolves once it has exited. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      if (this.#stopped) return resolve();
      this.#stopped = true;
      this.#worker.once('exit', () => resolve());
      // Unref'd, the thread would not keep the process alive while we wait for it to exit.
      this.#worker.ref();
      this.#worker.postMessage('close');
      // A thread stuck in a long pass still ends: terminate takes effect when the pass returns.
      setTimeout(() => void this.#worker.terminate(), 1_000).unref();
    });
    return this.#closing;
  }
}

/** The better-sqlite3 entry this module itself loads, for the thread to load the same copy. */
function resolveDriver(): string {
  const from = typeof __filename === 'string' ? __filename : import.meta.url;
  return createRequire(from).resolve('better-sqlite3');
}
