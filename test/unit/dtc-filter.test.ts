import { describe, expect, it } from 'vitest';
import {
  describeFilter,
  dtcFilterSql,
  normaliseName,
  parseCategories,
  parseFilterTime,
} from '../../src/model/dtc-filter.ts';
import { exportableColumns, isExportableTable, scrubJson } from '../../src/model/privacy.ts';

describe('export filter flags', () => {
  it('parses category letters', () => {
    expect(parseCategories('p, b,C')).toEqual(['P', 'B', 'C']);
    expect(() => parseCategories('X')).toThrow(/P, B, C, U/);
    expect(() => parseCategories('')).toThrow(/--category/);
  });

  it('reads dates as whole UTC days and timestamps as given', () => {
    expect(parseFilterTime('--since', '2024-01-01', false).toISOString()).toBe('2024-01-01T00:00:00.000Z');
    expect(parseFilterTime('--until', '2024-06-30', true).toISOString()).toBe('2024-06-30T23:59:59.999Z');
    expect(parseFilterTime('--since', '2024-01-01T10:00:00+02:00', false).toISOString()).toBe(
      '2024-01-01T08:00:00.000Z',
    );
    expect(() => parseFilterTime('--since', 'yesterday', false)).toThrow(/--since/);
  });

  it('folds case and accents in manufacturer names', () => {
    expect(normaliseName(' Škoda ')).toBe('skoda');
  });

  it('builds one parameterised SQL condition', () => {
    const { where, params } = dtcFilterSql({ categories: ['P'], manufacturer: 'Toyota', translated: true });
    expect(where).toMatch(/\$1.*\$2.*\$3/s);
    expect(params).toEqual([['P'], ['powertrain'], 'toyota']);
    expect(dtcFilterSql({}).where).toBe('TRUE');
    expect(describeFilter({ categories: ['P', 'B'], translated: false })).toBe('category P,B; untranslated');
  });
});

describe('privacy rules', () => {
  it('never exports secrets and exports PII only when asked', () => {
    const columns = ['id', 'email', 'hashed_password', 'reset_token', 'totp_secret', 'role', 'last_login_ip'];
    expect(exportableColumns('users', columns, { includePii: false })).toEqual(['role']);
    expect(exportableColumns('users', columns, { includePii: true })).toEqual([
      'id',
      'email',
      'role',
      'last_login_ip',
    ]);
    expect(isExportableTable('users', { includePii: false })).toBe(false);
    expect(isExportableTable('dtc_codes', { includePii: false })).toBe(true);
  });

  it('scrubs nested JSON by exact key names (an "author" key stays)', () => {
    const value = {
      author: 'Kiss Ádám',
      vehicle: { vin: 'WVWZZZ1JZXW000001', make: 'VW' },
      list: [{ user_id: 'u', password: 'x' }],
    };
    expect(scrubJson(value, { includePii: false })).toEqual({
      author: 'Kiss Ádám',
      vehicle: { make: 'VW' },
      list: [{}],
    });
    expect(scrubJson(value, { includePii: true })).toEqual({
      author: 'Kiss Ádám',
      vehicle: { vin: 'WVWZZZ1JZXW000001', make: 'VW' },
      list: [{ user_id: 'u' }],
    });
  });
});
