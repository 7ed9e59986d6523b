/**
 * The CLI without a GPU: every argument is checked before a device is requested or a model
 * loaded; --help, --version; unknown flags are usage errors with the usage text; --images DIR;
 * output names; the progress line; labels cleaned of control characters; the missing-build
 * message and the README agree on how to build the CLI.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listImages, outputNames, parseSegmentArgs, UsageError } from '../../src/cli/args.ts';
import { main } from '../../src/cli/main.ts';
import { printable, progressLine, type Sinks } from '../../src/cli/progress.ts';
import { REPO } from '../fixture-files.ts';

function capture(): Sinks & { stdout: string[]; stderr: string } {
  const s = { stdout: [] as string[], stderr: '', tty: false, now: () => performance.now(), out: (l: string) => void s.stdout.push(l), err: (t: string) => void (s.stderr += t) };
  return s;
}

describe('maskgpu segment arguments are refused up front', () => {
  const bad: [string[], RegExp][] = [
    [['--image', 'a.png', '--threshold', 'abc'], /--threshold must be a number, got 'abc'/],
    [['--image', 'a.png', '--threshold', '2'], /--threshold must be between 0 and 1, got 2/],
    [['--image', 'a.png', '--opacity', '5'], /--opacity must be between 0 and 1, got 5/],
    [['--image', 'a.png', '--mask-threshold', ''], /--mask-threshold must be a number, got ''/],
    [['--image', 'a.png', '--fuse=-3,99'], /--fuse takes label ids \(integers >= 0\) separated by commas, got '-3,99'/],
    [['--image', 'a.png', '--fuse', '-3,99'], /^Option '--fuse' argument is ambiguous\. .*'--fuse=-XYZ'\.?$/],
    [['--image', 'a.png', '--fuse', '1,,2'], /--fuse takes label ids/],
    [['--image', 'a.png', '--task', 'depth'], /--task must be panoptic, instance or semantic, got 'depth'/],
    [['--image', 'a.png', '--max-pixels', '1e3.5'], /--max-pixels must be a positive integer/],
    [['--image', 'a.png', '--exif-orientation', 'rotate'], /--exif-orientation must be ignore or apply/],
    [['--image', 'a.png', '--precision', 'f16'], /--precision must be auto or f32, got 'f16'/],
    [['--image', 'a.png', '--bogus'], /Unknown option '--bogus'/],
    [[], /no images: give --image FILE/],
    [['--images', '/nonexistent-dir'], /--images \/nonexistent-dir: no such directory/],
  ];
  for (const [args, msg] of bad) {
    it(`${args.join(' ') || '(nothing)'}`, () => {
      expect(() => parseSegmentArgs(args)).toThrow(UsageError);
      expect(() => parseSegmentArgs(args)).toThrow(msg);
    });
  }
  it('main() reports a usage error in one line plus the usage text, exit code 1, without starting a GPU', async () => {
    const s = capture();
    const t0 = performance.now();
    expect(await main(['segment', '--image', 'a.png', '--opacity', '5'], s)).toBe(1);
    expect(s.stderr.split('\n')[0]).toBe('maskgpu: UsageError: --opacity must be between 0 and 1, got 5');
    expect(s.stderr).toContain('usage: maskgpu segment');
    expect(performance.now() - t0).toBeLessThan(2000);
  });
  it('an unwritable --out-dir is an OutputError before any model is loaded', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maskgpu-cli-'));
    writeFileSync(join(dir, 'file'), 'x');
    const s = capture();
    expect(await main(['segment', '--image', 'a.png', '--out-dir', join(dir, 'file', 'sub')], s)).toBe(1);
    expect(s.stderr.trim()).toMatch(/^maskgpu: OutputError: cannot write .*file\/sub: a parent path is a file, not a directory \(ENOTDIR\)$/);
  });
  it('unknown command, no command: usage errors', async () => {
    const s = capture();
    expect(await main(['segmnet'], s)).toBe(1);
    expect(s.stderr).toMatch(/^maskgpu: UsageError: unknown command 'segmnet'\n\nusage: maskgpu <command>/);
    expect(await main([], capture())).toBe(1);
  });
});

describe('maskgpu segment arguments', () => {
  it('--image takes several files, positionals too; defaults as HF', () => {
    const a = parseSegmentArgs(['--image', 'a.jpg', 'b.png', '--image', 'c.jpeg', 'd.png', '--fuse', '1, 2']);
    expect(a.images).toEqual(['a.jpg', 'c.jpeg', 'b.png', 'd.png']);
    expect([a.task, a.threshold, a.maskThreshold, a.overlap, a.opacity, a.exifOrientation, a.precision, a.json]).toEqual(['panoptic', 0.5, 0.5, 0.8, 0.55, 'ignore', 'auto', false]);
    expect(a.fuse).toEqual([1, 2]);
    expect(parseSegmentArgs(['--image', 'a.png', '--precision', 'f32']).precision).toBe('f32');
  });
  it('--images DIR lists PNG / JPEG files (not folders), sorted; not with --image', () => {
    const dir = mkdtempSync(join(tmpdir(), 'maskgpu-imgs-'));
    for (const f of ['b.JPG', 'a.png', 'notes.txt', 'c.jpeg']) writeFileSync(join(dir, f), '');
    mkdirSync(join(dir, 'sub.png'));
    expect(listImages(dir).map((p) => p.slice(dir.length + 1))).toEqual(['a.png', 'b.JPG', 'c.jpeg']);
    expect(() => parseSegmentArgs(['--images', dir, '--image', 'x.png'])).toThrow('give either --image FILE ... or --images DIR, not both');
  });
  it('output names are the file stems, made unique when they collide', () => {
    expect(outputNames(['x/a.jpg', 'y/b.png', 'z/a.png', 'w/a.png'])).toEqual(['a_jpg', 'b', 'a_png', 'a_2']);
  });
  it('--help and --version', async () => {
    const s = capture();
    expect(await main(['segment', '--help'], s)).toBe(0);
    expect(s.stdout.join('\n')).toMatch(/^usage: maskgpu segment \(--image FILE \[FILE \.\.\.\] \| --images DIR\)/);
    const i = capture();
    expect(await main(['infer', '--help'], i)).toBe(0);
    expect(i.stdout.join('\n')).toMatch(/^usage: maskgpu infer --model DIR/);
    const v = capture();
    expect(await main(['--version'], v)).toBe(0);
    expect(v.stdout).toEqual([(JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version]);
  });
});

describe('progress and terminal output', () => {
  it('progress line: bar, count, images/s, ETA', () => {
    expect(progressLine(0, 4, 0, 'a.jpg', 8)).toBe('[>       ] 0/4  - img/s  ETA ?  a.jpg');
    expect(progressLine(1, 4, 2, 'b.jpg', 8)).toBe('[=>      ] 1/4  0.50 img/s  ETA 6.0s  b.jpg');
    expect(progressLine(4, 4, 100, '', 8)).toBe('[========] 4/4  0.04 img/s  ETA 0.0s  ');
    expect(progressLine(30, 1000, 60, 'x', 8)).toBe('[>       ] 30/1000  0.50 img/s  ETA 32m20s  x');
  });
  it('labels from config.json lose control characters (an ANSI escape cannot rewrite the terminal)', () => {
    expect(printable('cat\u001b[2J\u001b[H\u0007\u009b')).toBe('cat?[2J?[H??');
  });
});

describe('building the CLI', () => {
  it('the missing-build message and the README give the same build command', () => {
    const dir = mkdtempSync(join(tmpdir(), 'maskgpu-bin-'));
    mkdirSync(join(dir, 'bin'));
    copyFileSync(join(REPO, 'bin/maskgpu.mjs'), join(dir, 'bin/maskgpu.mjs'));
    const r = spawnSync(process.execPath, [join(dir, 'bin/maskgpu.mjs'), '--version'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    const cmd = /`(npm run [\w:]+)`/.exec(r.stderr)?.[1];
    console.log(`missing-build message: ${r.stderr.trim()}`);
    expect(cmd).toBe('npm run build:lib');
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const cli = readme.slice(readme.indexOf('### CLI'), readme.indexOf('### Demo page'));
    expect(cli).toContain(`\`${cmd}\``);
  });
});
