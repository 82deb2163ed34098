import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { encodings } from './integration/harness.js';

describe('npm run demo', () => {
  it('runs the operator end to end with no cluster and no account, shows create then update, and exits 0', async () => {
    const { stdout, stderr } = await promisify(execFile)('npx', ['tsx', 'scripts/demo.ts'], { encoding: 'utf8', timeout: 90_000 });
    const audit = stdout.split('\n').filter((l) => l.includes('outcome='));
    const created = audit.findIndex((l) => l.startsWith('POST /v1/organizations/secrets') && l.includes('outcome=created'));
    const updated = audit.findIndex((l) => l.startsWith('PUT ') && l.includes('outcome=updated'));
    expect(created).toBeGreaterThanOrEqual(0);
    expect(updated).toBeGreaterThan(created);
    expect(stdout).toContain('"reason": "Synced"');
    expect(stdout).toContain('operator exited 0');
    // The demo's values all start with sk_demo_; none may be printed, on either stream, as text or inside base64.
    for (const { encoding, text } of encodings('sk_demo_')) {
      expect(stdout.includes(text), `stdout holds a value (${encoding})`).toBe(false);
      expect(stderr.includes(text), `stderr holds a value (${encoding})`).toBe(false);
    }
  }, 120_000);
});
