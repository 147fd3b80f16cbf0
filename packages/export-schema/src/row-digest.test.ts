import { describe, expect, it } from 'vitest';
import { customFieldType, fieldType, RowDigest } from './index.js';

const digestOf = (rows: Record<string, unknown>[]) => {
  const digest = new RowDigest();
  for (const row of rows) digest.add(row as Record<string, string>);
  return digest.toJSON();
};

describe('RowDigest', () => {
  const a = { UserId: 9007199254740993n, EventType: 'click', PageIp: '' };
  const b = { UserId: '12', EventStart: new Date('2026-01-01T00:00:00Z'), Price: 6.75 };

  it('ignores row order and the form a value arrived in', () => {
    const fromJson = digestOf([a, b]);
    const fromCsv = digestOf([
      { EventStart: '2026-01-01T00:00:00.000Z', UserId: '12', Price: '6.75' },
      { EventType: 'click', UserId: '9007199254740993' },
    ]);
    expect(fromCsv).toEqual(fromJson);
    expect(fromJson.count).toBe(2);
  });

  it('changes when a row is duplicated, lost or altered', () => {
    const base = digestOf([a, b]);
    expect(digestOf([a, b, b]).hash).not.toBe(base.hash);
    expect(digestOf([a, a, b, b]).hash).not.toBe(base.hash);
    expect(digestOf([a]).hash).not.toBe(base.hash);
    expect(digestOf([a, { ...b, Price: 6.76 }]).hash).not.toBe(base.hash);
  });
});

describe('field types', () => {
  it('reads custom field suffixes, singular and plural', () => {
    expect(customFieldType('evt_price_real')).toBe('number');
    expect(customFieldType('user_signup_date')).toBe('timestamp');
    expect(customFieldType('evt_order.order_id_str')).toBe('string');
    expect(customFieldType('evt_count_int')).toBe('int64');
    expect(customFieldType('user_vip_bool')).toBe('bool');
    expect(customFieldType('evt_tags_strs')).toBe('json');
    expect(customFieldType('PageUrl')).toBeUndefined();
  });

  it('knows the documented fields and treats new ones as text', () => {
    expect(fieldType('events', 'SessionId')).toBe('int64');
    expect(fieldType('events', 'EventStart')).toBe('timestamp');
    expect(fieldType('individuals', 'NumSessions')).toBe('number');
    expect(fieldType('events', 'SomeFieldFromTheFuture')).toBe('string');
  });
});
