import { spawn } from 'node:child_process';
import type { Finding } from '../common/findings';
import type { HookConfig } from '../config';
import type { Hook, HookContext, HookEvent } from './types';
import { DomainError } from '../common/errors';

/**
 * Operator hooks from the config file (ARCHITECTURE §6). A command hook gets the event as JSON on
 * stdin and `{dir}` replaced by the unpacked content's folder; exit 0 accepts, anything else
 * rejects, and stdout may carry `{"findings": [...]}`. A module hook is a JS/TS file whose default
 * (or `hook`) export is a Hook.
 */
export function commandHook(cfg: HookConfig): Hook {
  return (ctx) =>
    new Promise<Finding[]>((resolve) => {
      const argv = cfg.command!.map((a) => a.replace('{dir}', ctx.dir ?? '').replace('{id}', ctx.artifact.id));
      const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      const cap = 1 << 20;
      child.stdout.on('data', (d) => (out.length < cap ? (out += d) : undefined));
      child.stderr.on('data', (d) => (err.length < cap ? (err += d) : undefined));
      const timer = setTimeout(() => child.kill('SIGKILL'), cfg.timeoutSeconds * 1000);
      const where = `hook ${cfg.command![0]}`;
      child.on('error', (e) => {
        clearTimeout(timer);
        resolve([{ rule: 'HOOK-FAILED', severity: 'error', message: `${where} could not run: ${e.message}` }]);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        let findings: Finding[] = [];
        try {
          const parsed = out.trim() ? JSON.parse(out) : undefined;
          if (Array.isArray(parsed?.findings)) {
            findings = parsed.findings.map((f: any) => ({
              rule: String(f.rule ?? 'HOOK-FINDING'),
              severity: f.severity === 'warning' ? 'warning' : 'error',
              message: String(f.message ?? ''),
              ...(f.file && { file: String(f.file) }),
              ...(Number.isInteger(f.line) && { line: f.line }),
              ...(Number.isInteger(f.column) && { column: f.column }),
            }));
          }
        } catch {
          // Free-form output is allowed; it is only used as the message below.
        }
        if (code !== 0 && !findings.some((f) => f.severity === 'error')) {
          const why = signal ? `was stopped (${signal === 'SIGKILL' ? `timeout after ${cfg.timeoutSeconds}s` : signal})` : `exited with ${code}`;
          findings.push({ rule: 'HOOK-REJECTED', severity: 'error', message: `${where} ${why}${err.trim() ? `: ${err.trim().slice(0, 500)}` : out.trim() ? `: ${out.trim().slice(0, 500)}` : ''}` });
        }
        resolve(findings);
      });
      child.stdin.on('error', () => undefined);
      child.stdin.end(JSON.stringify({ event: ctx.event, artifact: { id: ctx.artifact.id, type_name: ctx.artifact.type_name, name: ctx.artifact.name, version: ctx.artifact.version, owner: ctx.artifact.owner }, field: ctx.field, path: ctx.path, dir: ctx.dir }));
    });
}

export function moduleHook(cfg: HookConfig): Hook {
  let loaded: Hook | undefined;
  return async (ctx) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded ??= (() => { const m = require(require('node:path').resolve(cfg.module!)); return (m.default ?? m.hook) as Hook; })();
    return loaded(ctx);
  };
}

/** Built-in hooks of a type followed by the operator's, per event. */
export class HookChain {
  constructor(private readonly builtin: Partial<Record<HookEvent, Hook[]>>, private readonly configured: HookConfig[]) {}

  hooksFor(event: HookEvent): Hook[] {
    const ops = this.configured.filter((h) => h.event === event).map((h) => (h.command ? commandHook(h) : moduleHook(h)));
    return [...(this.builtin[event] ?? []), ...ops];
  }

  /** Runs every hook (so all findings are collected at once) and returns the findings. */
  async run(ctx: HookContext): Promise<Finding[]> {
    const all: Finding[] = [];
    for (const hook of this.hooksFor(ctx.event)) {
      try {
        all.push(...((await hook(ctx)) ?? []));
      } catch (e: any) {
        // A hook that answers with a domain error (e.g. FORBIDDEN) means exactly that, not a finding.
        if (e instanceof DomainError) throw e;
        all.push({ rule: 'HOOK-FAILED', severity: 'error', message: `hook failed: ${e?.message ?? e}` });
      }
    }
    return all;
  }
}
