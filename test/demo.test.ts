import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

describe('npm run demo', () => {
  it('runs the operator end to end with no cluster and no account, shows create then update, and exits 0', async () => {
    const { stdout } = await promisify(execFile)('npx', ['tsx', 'scripts/demo.ts'], { encoding: 'utf8', timeout: 90_000 });
    const audit = stdout.split('\n').filter((l) => l.includes('outcome='));
    const created = audit.findIndex((l) => l.startsWith('POST /v1/organizations/secrets') && l.includes('outcome=created'));
    const updated = audit.findIndex((l) => l.startsWith('PUT ') && l.includes('outcome=updated'));
    expect(created).toBeGreaterThanOrEqual(0);
    expect(updated).toBeGreaterThan(created);
    expect(stdout).toContain('"reason": "Synced"');
    expect(stdout).toContain('operator exited 0');
    // The demo's values all start with sk_demo_; none may be printed.
    expect(stdout).not.toMatch(/sk_demo_/);
  }, 120_000);
});
