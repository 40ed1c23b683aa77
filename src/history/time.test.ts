import { describe, expect, it } from 'vitest';
import { JjfsError } from '../errors.js';
import { isIsoInstant, parseAt, parseTime, requireTime } from './time.js';

const NOW = new Date('2026-11-20T12:00:00.000Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();

describe('parseTime', () => {
  it.each([
    ['90s', ago(90_000)],
    ['10m', ago(600_000)],
    ['2h', ago(7_200_000)],
    ['3d', ago(3 * 86_400_000)],
    ['1w', ago(7 * 86_400_000)],
    ['10 minutes ago', ago(600_000)],
    ['2 hours ago', ago(7_200_000)],
    ['now', NOW.toISOString()],
    ['2026-11-20T10:00:00Z', '2026-11-20T10:00:00.000Z'],
    ['2026-11-20T11:00:00+01:00', '2026-11-20T10:00:00.000Z'],
    ['2026-11-20T10:00:00.250Z', '2026-11-20T10:00:00.250Z'],
  ])('reads %j', async (text, iso) => {
    expect((await parseTime(text, NOW))?.toISOString()).toBe(iso);
  });

  it('reads yesterday as a day earlier and "yesterday 5pm" as that hour', async () => {
    const y = await parseTime('yesterday', NOW);
    expect(y).toBeDefined();
    expect(NOW.getTime() - (y as Date).getTime()).toBeGreaterThanOrEqual(12 * 3_600_000);
    expect(NOW.getTime() - (y as Date).getTime()).toBeLessThanOrEqual(36 * 3_600_000);
    const five = (await parseTime('yesterday 5pm', NOW)) as Date;
    expect(five.getHours()).toBe(17);
  });

  it.each(['3f2a9c1e', 'deadbeef0123', 'kxztykkz', 'main', 'main-', 'abc(', '', 'yesterday-ish', '2h foo', '5'])(
    'does not read %j as a time',
    async (text) => {
      expect(await parseTime(text, NOW)).toBeUndefined();
    },
  );

  it.each(['tomorrow 10am', 'in 5 minutes', '2026-12-01T00:00:00Z'])('refuses the future %j', async (text) => {
    await expect(parseTime(text, NOW)).rejects.toThrow(/in the future/);
  });
});

describe('parseAt / requireTime / isIsoInstant', () => {
  it('sends times as ISO instants and revisions as typed', async () => {
    expect((await parseAt('2h', '--at', NOW)).at).toBe(ago(7_200_000));
    expect(await parseAt('3f2a9c1e', '--at', NOW)).toEqual({ at: '3f2a9c1e' });
    expect(await parseAt(' main- ', '--at', NOW)).toEqual({ at: 'main-' });
    await expect(parseAt('  ', '--at', NOW)).rejects.toThrow(JjfsError);
  });

  it('requireTime names the accepted forms', async () => {
    await expect(requireTime('whenever', '--since', NOW)).rejects.toThrow(/ISO 8601.*10m, 2h/);
    expect((await requireTime('1h', '--since', NOW)).toISOString()).toBe(ago(3_600_000));
  });

  it('isIsoInstant accepts only instants with a zone', () => {
    expect(isIsoInstant('2026-11-20T10:00:00Z')).toBe(true);
    expect(isIsoInstant('2026-11-20T10:00:00.123+02:00')).toBe(true);
    expect(isIsoInstant('2026-11-20T10:00:00')).toBe(false);
    expect(isIsoInstant('2026-11-20')).toBe(false);
    expect(isIsoInstant('2026-13-45T10:00:00Z')).toBe(false);
    expect(isIsoInstant('main')).toBe(false);
  });
});
