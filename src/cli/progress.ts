import { Transform } from 'node:stream';

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${n.toFixed(1)} ${units[i]}`;
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  s = Math.ceil(s);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** One progress report: bytes done (of total), rate, ETA. The bar is drawn only on a terminal. */
export function progressLine(label: string, done: number, total: number | undefined, seconds: number, bar: boolean, width = 24): string {
  const rate = seconds > 0 ? done / seconds : 0;
  const parts = [label];
  if (total) {
    const frac = Math.min(1, done / total);
    if (bar) parts.push(`[${'#'.repeat(Math.round(frac * width)).padEnd(width, '-')}]`);
    parts.push(`${Math.floor(frac * 100)}%`.padStart(bar ? 4 : 0), `${formatBytes(done)}/${formatBytes(total)}`);
  } else parts.push(formatBytes(done));
  parts.push(`${formatBytes(Math.round(rate))}/s`);
  if (total && done < total) parts.push(`ETA ${rate > 0 ? formatSeconds((total - done) / rate) : '?'}`);
  return parts.join(' ');
}

/**
 * Counts the bytes flowing through and reports them on `out` (stderr): a redrawn bar on a
 * terminal, else a plain line at most every `every` ms, and a last line when done.
 */
export function progressMeter(label: string, total: number | undefined, out: NodeJS.WriteStream = process.stderr, every = 2000): Transform & { finish(): void } {
  const tty = !!out.isTTY;
  const start = Date.now();
  let done = 0;
  let last = start;
  const draw = (final: boolean) => {
    const line = progressLine(label, done, total, (Date.now() - start) / 1000, tty);
    if (tty) out.write(`\r${line}\x1b[K${final ? '\n' : ''}`);
    else out.write(`${line}\n`);
  };
  let finished = false;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      done += chunk.length;
      const now = Date.now();
      if (now - last >= (tty ? 100 : every)) {
        last = now;
        draw(false);
      }
      cb(null, chunk);
    },
  }) as Transform & { finish(): void };
  meter.finish = () => {
    if (finished) return;
    finished = true;
    draw(true);
  };
  return meter;
}
