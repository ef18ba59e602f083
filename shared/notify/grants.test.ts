import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSecretGrants, secretRefusal } from './grants.ts';

describe('notifier secret grants', () => {
  const grants = {
    'payments-slack': { matchLabels: { team: 'payments' } },
    'shop-hook': { targets: ['shop-api', 'shop-web'] },
  };

  it('lets a target use the secrets mapped to its name or its labels', () => {
    expect(
      secretRefusal(grants, { name: 'billing', labels: { team: 'payments' } }, 'payments-slack'),
    ).toBeUndefined();
    expect(secretRefusal(grants, { name: 'shop-web', labels: {} }, 'shop-hook')).toBeUndefined();
  });

  it("refuses another team's secret, and a secret nobody mapped, saying why and what to change", () => {
    expect(secretRefusal(grants, { name: 'shop-api', labels: { team: 'shop' } }, 'payments-slack')).toBe(
      'secret "payments-slack" belongs to other targets (labels team=payments), not to target shop-api: use a secret of this target\'s own, or ask the installation to map this one to it in SWITCHYARD_NOTIFY_SECRET_GRANTS',
    );
    expect(secretRefusal(grants, { name: 'shop-api', labels: {} }, 'unmapped')).toMatch(
      /^secret "unmapped" is not mapped to any target: .* SWITCHYARD_NOTIFY_SECRET_GRANTS$/,
    );
    expect(secretRefusal(grants, { name: 'x', labels: {} }, 'constructor')).toMatch(/not mapped/);
  });

  it('reads the mapping inline or from a file, and says what is wrong with a bad one', async () => {
    expect(await loadSecretGrants(JSON.stringify(grants))).toEqual(grants);
    const dir = mkdtempSync(join(tmpdir(), 'grants-'));
    writeFileSync(join(dir, 'g.json'), JSON.stringify(grants));
    expect(await loadSecretGrants(join(dir, 'g.json'))).toEqual(grants);
    await expect(loadSecretGrants('{"a": {}}')).rejects.toThrow(
      'SWITCHYARD_NOTIFY_SECRET_GRANTS: a: a grant names targets or matchLabels',
    );
    await expect(loadSecretGrants(join(dir, 'missing.json'))).rejects.toThrow(/cannot read the file/);
  });
});
