/**
 * Batch progress: a bar with images/s and ETA redrawn in place on a terminal, plain lines
 * otherwise; JSON lines (one object per image, then a summary) with --json.
 */
import { basename } from 'node:path';

/** Labels come from config.json (untrusted): no control characters reach the terminal. */
export const printable = (s: string): string => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');

export function fmtSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** `[=======>      ] 3/10  0.84 img/s  ETA 8.3s  name` (rate and ETA from the images done so far). */
export function progressLine(done: number, total: number, elapsedS: number, current: string, width = 24): string {
  const filled = total > 0 ? Math.round((width * done) / total) : width;
  const bar = done >= total ? '='.repeat(width) : `${'='.repeat(Math.max(0, filled - 1))}>${' '.repeat(width - Math.max(1, filled))}`;
  const rate = done > 0 && elapsedS > 0 ? done / elapsedS : Number.NaN;
  const eta = Number.isNaN(rate) ? '?' : fmtSeconds((total - done) / rate);
  return `[${bar}] ${done}/${total}  ${Number.isNaN(rate) ? '-' : rate.toFixed(rate < 10 ? 2 : 1)} img/s  ETA ${eta}  ${printable(current)}`;
}

/** JSON with NaN as null (semantic scores). */
export const jsonLine = (v: unknown): string => JSON.stringify(v, (_, x: unknown) => (typeof x === 'number' && !Number.isFinite(x) ? null : x));

export interface Sinks {
  /** stdout */
  out(line: string): void;
  /** stderr, without a newline added */
  err(text: string): void;
  /** stderr is a terminal */
  readonly tty: boolean;
  /** Terminal width, when known: the bar is cut to fit one line. */
  readonly columns?: number;
  readonly now: () => number;
}

export const processSinks = (): Sinks => ({
  out: (l) => process.stdout.write(`${l}\n`),
  err: (t) => process.stderr.write(t),
  tty: process.stderr.isTTY === true,
  ...(process.stderr.columns ? { columns: process.stderr.columns } : {}),
  now: () => performance.now(),
});

/** Draws progress; the bar lives on stderr and is cleared before any line is printed. */
export class Progress {
  private t0 = 0;
  private done = 0;
  private barShown = false;

  constructor(private readonly sinks: Sinks, private readonly total: number) {}

  start(): void {
    this.t0 = this.sinks.now();
    this.draw('');
  }

  /** Before an image: the bar names it. */
  begin(name: string): void {
    this.draw(name);
  }

  /** A line for stdout (human mode) that must not be mixed into the bar. */
  line(text: string): void {
    this.clear();
    this.sinks.out(text);
  }

  /** A line for stderr (failures). */
  warn(text: string): void {
    this.clear();
    this.sinks.err(`${text}\n`);
  }

  /** After an image (ok or not). */
  end(): void {
    this.done++;
    this.draw('');
  }

  elapsed(): number {
    return (this.sinks.now() - this.t0) / 1000;
  }

  finish(): void {
    this.clear();
  }

  private clear(): void {
    if (this.barShown) this.sinks.err('\r\u001b[2K');
    this.barShown = false;
  }

  private draw(current: string): void {
    if (!this.sinks.tty) return;
    const line = progressLine(this.done, this.total, this.elapsed(), basename(current));
    const cols = this.sinks.columns;
    this.sinks.err(`\r\u001b[2K${cols && line.length >= cols ? line.slice(0, cols - 1) : line}`);
    this.barShown = true;
  }
}
