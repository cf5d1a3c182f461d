/**
 * Progress of a long command (an import, a backup) for whoever runs it: on a terminal one line
 * redrawn in place a few times a second; otherwise (a log file, a pipe, a job runner) one plain line
 * every few seconds, so the log shows it moving without flooding it. Written to standard error:
 * standard output keeps only the summary, for scripts.
 */
export interface ProgressOptions {
  /** What is counted, already in both languages ("wiersze / rows"). */
  unit: string;
  /** The words for "time left", in both languages. */
  left: string;
  out?: NodeJS.WriteStream;
  /** Lines in a log: every this many ms (default 5 s). */
  logEveryMs?: number;
  now?: () => number;
}

export function createProgress(opts: ProgressOptions) {
  const out = opts.out ?? process.stderr;
  const tty = Boolean(out.isTTY);
  const now = opts.now ?? (() => performance.now());
  const started = now();
  const every = tty ? 200 : (opts.logEveryMs ?? 5_000);
  let shownAt = started;
  let drawn = false;
  const fmt = (n: number) => n.toLocaleString('pl-PL');
  const line = (done: number, total: number | undefined) => {
    const seconds = (now() - started) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const parts = [total ? `${fmt(done)}/${fmt(total)} ${opts.unit} (${Math.floor((done / total) * 100)}%)` : `${fmt(done)} ${opts.unit}`, `${fmt(Math.round(rate))}/s`];
    if (total && rate > 0 && done < total) parts.push(`${opts.left} ${clock((total - done) / rate)}`);
    return parts.join(', ');
  };
  return {
    /** Shows the count if enough time has passed since it was last shown. */
    update(done: number, total?: number) {
      if (now() - shownAt < every) return;
      shownAt = now();
      if (tty) {
        out.write(`\r\x1b[K${line(done, total)}`);
        drawn = true;
      } else out.write(`${line(done, total)}\n`);
    },
    /** The last count, on its own line. */
    finish(done: number, total?: number) {
      if (tty && drawn) out.write(`\r\x1b[K${line(done, total)}\n`);
      else if (now() - started >= every) out.write(`${line(done, total)}\n`);
    },
  };
}

/** Seconds as m:ss (or h:mm:ss). */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}
